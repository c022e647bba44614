package provider

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

const testFinalizer = "test.terraform-capi.io/hold"

// Destroy waits while a finalizer holds the Cluster: it fails at the delete
// timeout with a message saying what to look at, and succeeds as soon as
// the finalizer goes (the wait watches, it does not poll).
func TestAccCluster_deleteWaitsForFinalizers(t *testing.T) {
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	// Destroy takes its timeout from the state, so one value serves both
	// the destroy that times out and the one that succeeds.
	config := fmt.Sprintf(`
resource "capi_cluster" "test" {
  name = %q
  timeouts {
    delete = "8s"
  }
}`, name)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkClusterGone(t, key),
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					return updateFinalizers(t, key, func(c *clusterv1.Cluster) { controllerutil.AddFinalizer(c, testFinalizer) })
				},
			},
			{
				Config:      config,
				Destroy:     true,
				ExpectError: wrapped("Cluster default/" + name + " was not deleted in time"),
			},
			{
				// The finalizer goes away while destroy waits.
				PreConfig: func() {
					go func() {
						time.Sleep(2 * time.Second)
						if err := updateFinalizers(t, key, func(c *clusterv1.Cluster) { controllerutil.RemoveFinalizer(c, testFinalizer) }); err != nil {
							t.Error(err)
						}
					}()
				},
				Config:  config,
				Destroy: true,
			},
		},
	})
}

func updateFinalizers(t *testing.T, key client.ObjectKey, mutate func(*clusterv1.Cluster)) error {
	cl := labClient(t)
	c := &clusterv1.Cluster{}
	if err := cl.Get(context.Background(), key, c); err != nil {
		return err
	}
	base := c.DeepCopy()
	mutate(c)
	return cl.Patch(context.Background(), c, client.MergeFrom(base))
}
