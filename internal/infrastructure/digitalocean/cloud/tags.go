package cloud

import (
	"context"
	"fmt"
	"net/http"

	"github.com/digitalocean/godo"
)

// ensureTag makes a tag exist: a firewall or a load balancer may only name
// tags that do (droplet creates make theirs).
func (c *Client) ensureTag(ctx context.Context, name string) error {
	_, _, err := c.godo.Tags.Get(ctx, name)
	if !IsNotFound(err) {
		return err
	}
	_, _, err = c.godo.Tags.Create(ctx, &godo.TagCreateRequest{Name: name})
	if s := statusOf(err); s == http.StatusConflict || s == http.StatusUnprocessableEntity {
		// A tag made meanwhile, by a droplet create say, is as good.
		if _, _, getErr := c.godo.Tags.Get(ctx, name); getErr == nil {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("creating tag %s: %w", name, err)
	}
	return nil
}

// deleteTag deletes a tag, which DigitalOcean keeps when nothing carries
// it any more.
func (c *Client) deleteTag(ctx context.Context, name string) error {
	if _, err := c.godo.Tags.Delete(ctx, name); err != nil && !IsNotFound(err) {
		return fmt.Errorf("deleting tag %s: %w", name, err)
	}
	return nil
}

// DeleteClusterTags deletes the cluster's and its control plane's tags,
// once nothing of the cluster carries them.
func (c *Client) DeleteClusterTags(ctx context.Context, cl Cluster) error {
	for _, tag := range []string{cl.ControlPlaneTag(), cl.Tag()} {
		if err := c.deleteTag(ctx, tag); err != nil {
			return err
		}
	}
	return nil
}
