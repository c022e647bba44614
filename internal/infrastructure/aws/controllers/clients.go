// Package controllers holds the reconcilers of the AWS infrastructure
// provider: they follow Cluster API's v1beta2 infrastructure contract for
// AWSCluster and AWSMachine and make the cloud calls through package cloud.
package controllers

import (
	"context"
	"sync"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

// ClientsFactory returns the AWS clients of a region.
type ClientsFactory func(ctx context.Context, region string) (cloud.Clients, error)

// CachedClients returns a factory that builds each region's clients once.
func CachedClients(settings cloud.Settings) ClientsFactory {
	var mu sync.Mutex
	byRegion := map[string]cloud.Clients{}
	return func(ctx context.Context, region string) (cloud.Clients, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := byRegion[region]; ok {
			return c, nil
		}
		c, err := cloud.NewClients(ctx, region, settings)
		if err != nil {
			return cloud.Clients{}, err
		}
		byRegion[region] = c
		return c, nil
	}
}
