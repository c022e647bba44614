package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
)

var (
	cniManifestOnce sync.Once
	cniManifest     string
)

// cniAddon is the quickstart's network plugin as an addons attribute: the
// lab's nodes, like a real kubelet's, are Ready only once a CNI runs.
func cniAddon() string {
	cniManifestOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "examples", "quickstart", "cni.yaml"))
		if err != nil {
			panic(err)
		}
		cniManifest = string(data)
	})
	return "  addons = {\n    cni = {\n      manifests = <<-EOT\n" + cniManifest + "EOT\n    }\n  }\n"
}

func addonClusterConfig(name, waitFor, addons string) string {
	return fmt.Sprintf(`
resource "capi_cluster" "test" {
  name = %q
  aws = {
    region             = "us-east-1"
    availability_zones = ["us-east-1a"]
  }
  control_plane = {
    version = "v1.36.0"
    machine = { instance_type = "t3.large" }
  }
  wait_for = %q
%s
}`, name, waitFor, addons)
}

// kubeletNoCNI is what kubelet reports on a node with no network plugin.
var kubeletNoCNI = regexp.MustCompile(`container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized`)

// A cluster without a network plugin reaches wait_for = "api_server": its
// node has the provider ID kubelet was given and stays NotReady with
// kubelet's message. The CNI as an add-on (a ClusterResourceSet, applied by
// Cluster API's reconciler) makes it Ready and the cluster Available.
func TestAccCluster_addonBringsTheNetwork(t *testing.T) {
	useLabAWS(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{
				PreConfig: endApply,
				Config:    addonClusterConfig(name, "api_server", ""),
				Check: func(*terraform.State) error {
					nodes := workloadNodes(t, key)
					if len(nodes) != 1 {
						return fmt.Errorf("%d nodes, want the control plane's", len(nodes))
					}
					n := nodes[0]
					if !regexp.MustCompile(`^aws:///us-east-1a/i-[0-9a-f]{17}$`).MatchString(n.Spec.ProviderID) {
						return fmt.Errorf("node %s has provider ID %q, want kubelet's aws:///<zone>/<instance>", n.Name, n.Spec.ProviderID)
					}
					if !strings.HasPrefix(n.Name, "ip-") || !strings.HasSuffix(n.Name, ".ec2.internal") && !strings.HasSuffix(n.Name, ".compute.internal") {
						return fmt.Errorf("node name %q is not the instance's private DNS name", n.Name)
					}
					ready := readyCondition(n)
					if ready == nil || ready.Status != corev1.ConditionFalse || !kubeletNoCNI.MatchString(ready.Message) {
						return fmt.Errorf("node %s Ready condition %+v, want False with kubelet's CNI message", n.Name, ready)
					}
					return nil
				},
			},
			{
				PreConfig: endApply,
				Config:    addonClusterConfig(name, "available", cniAddon()),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("addons").AtMapKey("cni").AtMapKey("strategy"), knownvalue.Null()),
				},
				Check: resource.ComposeTestCheckFunc(
					checkCluster(t, key, func(c *clusterv1.Cluster) error {
						for _, cond := range c.Status.Conditions {
							if cond.Type == clusterv1.AvailableCondition && cond.Status == "True" {
								return nil
							}
						}
						return fmt.Errorf("cluster not Available: %+v", c.Status.Conditions)
					}),
					checkAddonApplied(t, key, "cni"),
					func(*terraform.State) error {
						for _, n := range workloadNodes(t, key) {
							if !nodeReady(n) {
								return fmt.Errorf("node %s not Ready after the CNI add-on: %+v", n.Name, readyCondition(n))
							}
						}
						return nil
					},
				),
			},
			{
				ResourceName:            testResource,
				ImportState:             true,
				ImportStateId:           "default/" + name,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"wait_for", "conditions", "phase"},
			},
			{
				// Removing the add-on removes its ClusterResourceSet and
				// ConfigMap; what it applied stays, as with Cluster API.
				PreConfig: endApply,
				Config:    addonClusterConfig(name, "available", ""),
				Check: func(*terraform.State) error {
					var sets addonsv1.ClusterResourceSetList
					if err := labClient(t).List(context.Background(), &sets, client.InNamespace(key.Namespace),
						client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name}); err != nil {
						return err
					}
					if len(sets.Items) != 0 {
						return fmt.Errorf("%d ClusterResourceSets left after the add-on was removed", len(sets.Items))
					}
					return nil
				},
			},
		},
	})
}

// checkAddonApplied checks what kubectl shows of an add-on: its
// ClusterResourceSet, and the cluster's binding recording it applied.
func checkAddonApplied(t *testing.T, key client.ObjectKey, addon string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		cl := labClient(t)
		crs := &addonsv1.ClusterResourceSet{}
		if err := cl.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: capiobj.AddonResourceSetName(key.Name, addon)}, crs); err != nil {
			return err
		}
		binding := &addonsv1.ClusterResourceSetBinding{}
		if err := cl.Get(ctx, key, binding); err != nil {
			return fmt.Errorf("binding of %s: %w", key, err)
		}
		for _, b := range binding.Spec.Bindings {
			if b.ClusterResourceSetName != crs.Name {
				continue
			}
			for _, r := range b.Resources {
				if r.Applied == nil || !*r.Applied {
					return fmt.Errorf("resource %s/%s of %s not applied", r.Kind, r.Name, crs.Name)
				}
			}
			if len(b.Resources) > 0 {
				return nil
			}
		}
		return fmt.Errorf("binding %s records no applied resources of %s: %+v", key, crs.Name, binding.Spec.Bindings)
	}
}

func readyCondition(n corev1.Node) *corev1.NodeCondition {
	for i, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}
