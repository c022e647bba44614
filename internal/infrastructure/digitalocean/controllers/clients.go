// Package controllers holds the reconcilers of the DigitalOcean
// infrastructure provider: they follow Cluster API's v1beta2
// infrastructure contract for DOCluster and DOMachine and make the cloud
// calls through package cloud.
package controllers

import (
	"sync"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
)

// ClientFactory returns the DigitalOcean client.
type ClientFactory func() (*cloud.Client, error)

// CachedClient returns a factory that builds the client once it can: a
// missing token fails the passes that need DigitalOcean, not the engine's
// start, which may have no DigitalOcean cluster to reconcile.
func CachedClient(settings cloud.Settings) ClientFactory {
	var mu sync.Mutex
	var c *cloud.Client
	return func() (*cloud.Client, error) {
		mu.Lock()
		defer mu.Unlock()
		if c != nil {
			return c, nil
		}
		built, err := cloud.NewClient(settings)
		if err != nil {
			return nil, err
		}
		c = built
		return c, nil
	}
}
