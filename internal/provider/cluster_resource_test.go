package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
)

const testResource = "capi_cluster.test"

func testClusterName() string { return acctest.RandomWithPrefix("tf-acc") }

func TestAccCluster_lifecycle(t *testing.T) {
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	sameUID := statecheck.CompareValue(compare.ValuesSame())

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkClusterGone(t, key),
		Steps: []resource.TestStep{
			{
				Config: fmt.Sprintf(`
resource "capi_cluster" "test" {
  name   = %q
  labels = { env = "dev", team = "platform" }
  annotations = { "example.com/owner" = "team-a" }
  cluster_network = {
    pod_cidrs      = ["192.168.0.0/16"]
    service_cidrs  = ["10.128.0.0/12"]
    service_domain = "cluster.local"
  }
}`, name),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("id"), knownvalue.StringExact("default/"+name)),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("namespace"), knownvalue.StringExact("default")),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("paused"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("labels"), knownvalue.MapExact(map[string]knownvalue.Check{
						"env": knownvalue.StringExact("dev"), "team": knownvalue.StringExact("platform"),
					})),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("cluster_network").AtMapKey("pod_cidrs"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("192.168.0.0/16")})),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("cluster_network").AtMapKey("api_server_port"), knownvalue.Null()),
					sameUID.AddStateValue(testResource, tfjsonpath.New("uid")),
				},
				Check: checkCluster(t, key, func(c *clusterv1.Cluster) error {
					if got := c.Spec.ClusterNetwork.Pods.CIDRBlocks; len(got) != 1 || got[0] != "192.168.0.0/16" {
						return fmt.Errorf("spec.clusterNetwork.pods.cidrBlocks = %v", got)
					}
					if got := c.Spec.ClusterNetwork.Services.CIDRBlocks; len(got) != 1 || got[0] != "10.128.0.0/12" {
						return fmt.Errorf("spec.clusterNetwork.services.cidrBlocks = %v", got)
					}
					if c.Spec.ClusterNetwork.ServiceDomain != "cluster.local" || c.Spec.ClusterNetwork.APIServerPort != 0 {
						return fmt.Errorf("spec.clusterNetwork = %+v", c.Spec.ClusterNetwork)
					}
					if c.Labels["env"] != "dev" || c.Annotations["example.com/owner"] != "team-a" {
						return fmt.Errorf("labels %v, annotations %v", c.Labels, c.Annotations)
					}
					// Applied explicitly, so a pause made by hand is undone.
					if c.Spec.Paused == nil || *c.Spec.Paused {
						return fmt.Errorf("spec.paused = %v, want an explicit false", c.Spec.Paused)
					}
					return expectManager(c, kube.FieldManager)
				}),
			},
			{
				// Every change in place: the Cluster keeps its UID.
				Config: fmt.Sprintf(`
resource "capi_cluster" "test" {
  name   = %q
  labels = { env = "prod" }
  paused = true
  cluster_network = {
    pod_cidrs       = ["192.168.0.0/16", "fd00:10::/56"]
    service_cidrs   = ["10.128.0.0/12"]
    service_domain  = "cluster.local"
    api_server_port = 6443
  }
  control_plane_endpoint = {
    host = "api.example.com"
    port = 6443
  }
}`, name),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
					expectObservedKept(testResource, "phase", "conditions"),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("paused"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("labels"), knownvalue.MapExact(map[string]knownvalue.Check{
						"env": knownvalue.StringExact("prod"),
					})),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("annotations"), knownvalue.Null()),
					statecheck.ExpectKnownValue(testResource, tfjsonpath.New("control_plane_endpoint").AtMapKey("host"), knownvalue.StringExact("api.example.com")),
					sameUID.AddStateValue(testResource, tfjsonpath.New("uid")),
				},
				Check: checkCluster(t, key, func(c *clusterv1.Cluster) error {
					if !ptr.Deref(c.Spec.Paused, false) {
						return fmt.Errorf("spec.paused = %v, want true", c.Spec.Paused)
					}
					// Keys removed from the configuration are removed from the object.
					if _, ok := c.Labels["team"]; ok {
						return fmt.Errorf("label team still set: %v", c.Labels)
					}
					if _, ok := c.Annotations["example.com/owner"]; ok {
						return fmt.Errorf("annotation still set: %v", c.Annotations)
					}
					if c.Spec.ClusterNetwork.APIServerPort != 6443 || len(c.Spec.ClusterNetwork.Pods.CIDRBlocks) != 2 {
						return fmt.Errorf("spec.clusterNetwork = %+v", c.Spec.ClusterNetwork)
					}
					if c.Spec.ControlPlaneEndpoint.Host != "api.example.com" || c.Spec.ControlPlaneEndpoint.Port != 6443 {
						return fmt.Errorf("spec.controlPlaneEndpoint = %+v", c.Spec.ControlPlaneEndpoint)
					}
					return nil
				}),
			},
			{
				ResourceName:      testResource,
				ImportState:       true,
				ImportStateId:     "default/" + name,
				ImportStateVerify: true,
			},
			{
				// Drift: someone changes a label Terraform owns and adds one of
				// their own. The plan repairs the first and ignores the second.
				PreConfig: func() {
					patchLabels(t, key, map[string]string{"env": "hacked", "owner": "someone-else"})
				},
				Config: fmt.Sprintf(`
resource "capi_cluster" "test" {
  name   = %q
  labels = { env = "prod" }
  paused = true
  cluster_network = {
    pod_cidrs       = ["192.168.0.0/16", "fd00:10::/56"]
    service_cidrs   = ["10.128.0.0/12"]
    service_domain  = "cluster.local"
    api_server_port = 6443
  }
  control_plane_endpoint = {
    host = "api.example.com"
    port = 6443
  }
}`, name),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionUpdate),
					expectObservedKept(testResource, "phase", "conditions", "api_server_endpoint"),
				}},
				Check: checkCluster(t, key, func(c *clusterv1.Cluster) error {
					if c.Labels["env"] != "prod" || c.Labels["owner"] != "someone-else" {
						return fmt.Errorf("labels = %v, want env=prod and owner=someone-else", c.Labels)
					}
					return nil
				}),
			},
			{
				// Deleted out of band: the next plan creates it again.
				PreConfig: func() { deleteCluster(t, key) },
				Config: fmt.Sprintf(`
resource "capi_cluster" "test" {
  name   = %q
  labels = { env = "prod" }
}`, name),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionCreate),
				}},
				Check: checkCluster(t, key, func(c *clusterv1.Cluster) error {
					if c.Labels["env"] != "prod" {
						return fmt.Errorf("labels = %v", c.Labels)
					}
					return nil
				}),
			},
		},
	})
}

func TestAccCluster_replaceOnRename(t *testing.T) {
	first, second := testClusterName(), testClusterName()
	config := func(name string) string {
		return fmt.Sprintf(`
resource "capi_cluster" "test" {
  name = %q
  cluster_network = { service_domain = "cluster.local" }
}`, name)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: resource.ComposeTestCheckFunc(
			checkClusterGone(t, client.ObjectKey{Namespace: "default", Name: first}),
			checkClusterGone(t, client.ObjectKey{Namespace: "default", Name: second}),
		),
		Steps: []resource.TestStep{
			{Config: config(first)},
			{
				Config: config(second),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionReplace),
				}},
				Check: resource.ComposeTestCheckFunc(
					checkClusterGone(t, client.ObjectKey{Namespace: "default", Name: first}),
					checkCluster(t, client.ObjectKey{Namespace: "default", Name: second}, func(*clusterv1.Cluster) error { return nil }),
				),
			},
		},
	})
}

// An existing Cluster (made by clusterctl, say) imports into exactly the
// configuration that describes it: the plan after import is empty.
func TestAccCluster_importExisting(t *testing.T) {
	name := testClusterName()
	namespace := createNamespace(t)
	key := client.ObjectKey{Namespace: namespace, Name: name}
	existing := &clusterv1.Cluster{}
	existing.Namespace, existing.Name = namespace, name
	existing.Labels = map[string]string{"env": "staging", "cluster.x-k8s.io/cluster-name": name}
	existing.Annotations = map[string]string{"example.com/ticket": "OPS-1"}
	existing.Spec.ClusterNetwork = clusterv1.ClusterNetwork{
		Pods:          clusterv1.NetworkRanges{CIDRBlocks: []string{"172.20.0.0/16"}},
		APIServerPort: 8443,
	}
	config := fmt.Sprintf(`
resource "capi_cluster" "test" {
  name        = %q
  namespace   = %q
  labels      = { env = "staging" }
  annotations = { "example.com/ticket" = "OPS-1" }
  cluster_network = {
    pod_cidrs       = ["172.20.0.0/16"]
    api_server_port = 8443
  }
}

data "capi_cluster" "test" {
  name      = capi_cluster.test.name
  namespace = capi_cluster.test.namespace
}`, name, namespace)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		PreCheck: func() {
			ensureCRDs(t)
			if err := labClient(t).Create(context.Background(), existing); err != nil {
				t.Fatal(err)
			}
		},
		CheckDestroy: checkClusterGone(t, key),
		Steps: []resource.TestStep{
			{
				Config:             config,
				ResourceName:       testResource,
				ImportState:        true,
				ImportStateId:      namespace + "/" + name,
				ImportStatePersist: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(testResource, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.capi_cluster.test", tfjsonpath.New("labels"), knownvalue.MapExact(map[string]knownvalue.Check{
						"env": knownvalue.StringExact("staging"),
					})),
					statecheck.ExpectKnownValue("data.capi_cluster.test", tfjsonpath.New("cluster_network").AtMapKey("api_server_port"), knownvalue.Int32Exact(8443)),
				},
				// The UID is known only once PreCheck has created the object.
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttrPtr(testResource, "uid", (*string)(&existing.UID)),
					resource.TestCheckResourceAttrPtr("data.capi_cluster.test", "uid", (*string)(&existing.UID)),
				),
			},
			{
				Config:   config,
				PlanOnly: true,
			},
		},
	})
}

// Creating a Cluster that already exists fails and leaves it untouched.
func TestAccCluster_alreadyExists(t *testing.T) {
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	existing := &clusterv1.Cluster{}
	existing.Namespace, existing.Name = "default", name
	existing.Labels = map[string]string{"owner": "clusterctl"}
	existing.Spec.ClusterNetwork.ServiceDomain = "cluster.local"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		PreCheck: func() {
			ensureCRDs(t)
			if err := labClient(t).Create(context.Background(), existing); err != nil {
				t.Fatal(err)
			}
		},
		CheckDestroy: func(*terraform.State) error {
			got := &clusterv1.Cluster{}
			if err := labClient(t).Get(context.Background(), key, got); err != nil {
				return fmt.Errorf("the existing Cluster is gone: %w", err)
			}
			if got.UID != existing.UID || got.Labels["owner"] != "clusterctl" || len(got.Labels) != 1 {
				return fmt.Errorf("the existing Cluster was changed: uid %s labels %v", got.UID, got.Labels)
			}
			return labClient(t).Delete(context.Background(), got)
		},
		Steps: []resource.TestStep{{
			Config:      fmt.Sprintf(`resource "capi_cluster" "test" { name = %q }`, name),
			ExpectError: wrapped("Cluster default/" + name + " already exists"),
		}},
	})
}

// Bad input fails at plan time with a message naming the attribute, and
// nothing reaches the API server.
func TestAccCluster_invalidInput(t *testing.T) {
	name := testClusterName()
	cases := []struct {
		body string
		want *regexp.Regexp
	}{
		{`name = "Bad_Name"`, wrapped(`Attribute name must be a DNS-1123 subdomain of at most 63 characters`)},
		{`name = "` + strings.Repeat("a", 64) + `"`, wrapped(`Attribute name must be a DNS-1123 subdomain of at most 63 characters`)},
		{`name = "` + name + `"` + "\n namespace = \"Not.A.Label\"", wrapped(`Attribute namespace must be a DNS-1123 label`)},
		{`name = "` + name + `"` + "\n labels = { \"bad key!\" = \"x\" }", wrapped(`Attribute labels["bad key!"] must be a qualified name`)},
		{`name = "` + name + `"` + "\n labels = { env = \"not a value\" }", wrapped(`Attribute labels["env"] must be a valid label value`)},
		{`name = "` + name + `"` + "\n cluster_network = { pod_cidrs = [\"10.0.0.0/33\"] }", wrapped(`Attribute cluster_network.pod_cidrs[0] must be a network in CIDR notation`)},
		{`name = "` + name + `"` + "\n cluster_network = { service_cidrs = [\"not-a-cidr\"] }", wrapped(`Attribute cluster_network.service_cidrs[0] must be a network in CIDR notation`)},
		{`name = "` + name + `"` + "\n cluster_network = { pod_cidrs = [\"10.0.0.0/8\"], service_cidrs = [\"10.96.0.0/12\"] }",
			wrapped(`Attribute cluster_network must not have overlapping pod and service networks: cluster_network.pod_cidrs[0] 10.0.0.0/8 overlaps cluster_network.service_cidrs[0] 10.96.0.0/12`)},
		{`name = "` + name + `"` + "\n cluster_network = { api_server_port = 70000 }", wrapped(`Attribute cluster_network.api_server_port value must be between 1 and 65535`)},
		{`name = "` + name + `"` + "\n cluster_network = {}", wrapped(`Attribute cluster_network must set at least one of: api_server_port, pod_cidrs, service_cidrs, service_domain`)},
		{`name = "` + name + `"` + "\n control_plane_endpoint = { host = \"https://api:6443\", port = 6443 }", wrapped(`Attribute control_plane_endpoint.host must be a DNS name or IP address without scheme or port`)},
		{`name = "` + name + `"` + "\n cluster_network = { pod_cidrs = [\"10.1.0.0/16\", \"10.2.0.0/16\"] }",
			wrapped(`the pod networks 10.1.0.0/16 and 10.2.0.0/16 are both IPv4: two networks are dual-stack, one IPv4 and one IPv6`)},
		{`name = "` + name + `"` + "\n cluster_network = { pod_cidrs = [\"10.1.0.0/16\"], service_cidrs = [\"fd00::/108\"] }",
			wrapped(`the pod networks are IPv4 but the service networks are IPv6`)},
		{`name = "` + name + `"` + "\n cluster_network = { pod_cidrs = [\"192.168.1.1/16\"] }", wrapped(`192.168.1.1/16 has host bits set: the network is 192.168.0.0/16`)},
		{`name = "` + name + `"` + "\n timeouts {\n create = \"0s\"\n }", wrapped(`Attribute timeouts.create must be a positive duration such as "30m", got "0s"`)},
		{`name = "` + name + `"` + "\n timeouts {\n delete = \"soon\"\n }", wrapped(`"soon" must be a string containing a sequence of decimal numbers`)},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config:      "resource \"capi_cluster\" \"test\" {\n " + c.body + "\n}",
			PlanOnly:    true,
			ExpectError: c.want,
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkClusterGone(t, client.ObjectKey{Namespace: "default", Name: name}),
		Steps:                    steps,
	})
}

func checkCluster(t *testing.T, key client.ObjectKey, check func(*clusterv1.Cluster) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := &clusterv1.Cluster{}
		if err := labClient(t).Get(context.Background(), key, c); err != nil {
			return fmt.Errorf("reading Cluster %s: %w", key, err)
		}
		return check(c)
	}
}

func checkClusterGone(t *testing.T, key client.ObjectKey) resource.TestCheckFunc {
	return func(*terraform.State) error {
		err := labClient(t).Get(context.Background(), key, &clusterv1.Cluster{})
		switch {
		case err == nil:
			return fmt.Errorf("Cluster %s still exists", key)
		case kube.IsNotFound(err):
			return nil
		default:
			return err
		}
	}
}

func expectManager(c *clusterv1.Cluster, manager string) error {
	for _, f := range c.ManagedFields {
		if f.Manager == manager {
			return nil
		}
	}
	return fmt.Errorf("no managed fields of %s on Cluster %s", manager, c.Name)
}

func patchLabels(t *testing.T, key client.ObjectKey, labels map[string]string) {
	t.Helper()
	c := &clusterv1.Cluster{}
	cl := labClient(t)
	if err := cl.Get(context.Background(), key, c); err != nil {
		t.Fatal(err)
	}
	base := c.DeepCopy()
	for k, v := range labels {
		c.Labels[k] = v
	}
	if err := cl.Patch(context.Background(), c, client.MergeFrom(base), client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
}

func deleteCluster(t *testing.T, key client.ObjectKey) {
	t.Helper()
	c := &clusterv1.Cluster{}
	c.Namespace, c.Name = key.Namespace, key.Name
	if err := labClient(t).Delete(context.Background(), c); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

// wrapped matches msg in terraform's output, which wraps long lines.
func wrapped(msg string) *regexp.Regexp {
	return regexp.MustCompile(strings.Join(strings.Fields(regexp.QuoteMeta(msg)), `\s+`))
}
