package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

// resolvedImages keeps the images that machines' requests resolved to for
// a while: the machines of one deployment ask for the same image, and a
// deployment of 100 made 100 DescribeImages calls for it. A failed
// resolution is not kept (a pending image is asked for again), and the
// newest image of a lookup is taken again after imageKept: a rollout
// started later picks a newer one up.
type resolvedImages struct {
	mu    sync.Mutex
	byKey map[string]*resolvedImage
}

type resolvedImage struct {
	// resolving is held while the image is resolved: the other machines
	// asking for it wait for that answer rather than ask EC2 too.
	resolving sync.Mutex
	image     cloud.Image
	at        time.Time
}

// imageKept is how long a resolved image is reused.
const imageKept = time.Minute

// resolve returns the image req resolves to in region, through resolve
// unless a recent answer is kept.
func (c *resolvedImages) resolve(ctx context.Context, region string, req cloud.ImageRequest,
	resolve func(context.Context, cloud.ImageRequest) (cloud.Image, error)) (cloud.Image, error) {
	key := fmt.Sprintf("%s|%s|%s|%s|%+v", region, req.AMI, req.KubernetesVersion, cloud.Architecture(req.InstanceType), req.Lookup)
	c.mu.Lock()
	if c.byKey == nil {
		c.byKey = map[string]*resolvedImage{}
	}
	now := time.Now()
	for k, old := range c.byKey {
		if k != key && now.Sub(old.at) > 10*imageKept {
			delete(c.byKey, k)
		}
	}
	entry, ok := c.byKey[key]
	if !ok {
		entry = &resolvedImage{}
		c.byKey[key] = entry
	}
	c.mu.Unlock()

	entry.resolving.Lock()
	defer entry.resolving.Unlock()
	if !entry.at.IsZero() && time.Since(entry.at) < imageKept {
		return entry.image, nil
	}
	img, err := resolve(ctx, req)
	if err != nil {
		return cloud.Image{}, err
	}
	entry.image, entry.at = img, time.Now()
	return img, nil
}
