package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// A second configuration (another working directory and state) that
// declares a cluster the first one created is refused at plan, and the
// cluster is left exactly as the first one made it: nothing of it is taken
// over, stripped or destroyed. For a cluster without infrastructure and
// for one with an aws block.
func TestAccSafety_anotherConfigurationsClusterIsRefused(t *testing.T) {
	t.Run("objects only", func(t *testing.T) {
		name := testClusterName()
		first := fmt.Sprintf(`resource "capi_cluster" "test" {
  name   = %q
  labels = { owner = "first" }
  control_plane_endpoint = { host = "api.first.example", port = 6443 }
}`, name)
		second := fmt.Sprintf(`resource "capi_cluster" "other" {
  name   = %q
  labels = { owner = "second" }
}`, name)
		refusedAndUntouched(t, name, first, second, func(c *clusterv1.Cluster) error {
			if c.Spec.ControlPlaneEndpoint.Host != "api.first.example" {
				return fmt.Errorf("endpoint changed to %q", c.Spec.ControlPlaneEndpoint.Host)
			}
			return nil
		})
	})
	t.Run("aws", func(t *testing.T) {
		useLabAWS(t)
		name := testClusterName()
		first := awsClusterConfig(name, `{ owner = "first" }`)
		second := fmt.Sprintf(`resource "capi_cluster" "other" {
  name   = %q
  labels = { owner = "second" }
  aws    = { region = "us-east-1" }
  wait_for = "provisioned"
}`, name)
		refusedAndUntouched(t, name, first, second, func(c *clusterv1.Cluster) error {
			if !c.Spec.InfrastructureRef.IsDefined() || !c.Spec.ControlPlaneRef.IsDefined() {
				return fmt.Errorf("references stripped: infrastructure %+v, control plane %+v", c.Spec.InfrastructureRef, c.Spec.ControlPlaneRef)
			}
			return nil
		})
	})
}

// refusedAndUntouched applies first, then plans and applies second in a
// state of its own while first's cluster exists, expecting a refusal, and
// checks that the cluster kept its UID, its label and what check checks.
func refusedAndUntouched(t *testing.T, name, first, second string, check func(*clusterv1.Cluster) error) {
	key := client.ObjectKey{Namespace: "default", Name: name}
	var uid string
	untouched := func() error {
		c := &clusterv1.Cluster{}
		if err := labClient(t).Get(context.Background(), key, c); err != nil {
			return err
		}
		if string(c.UID) != uid || c.Labels["owner"] != "first" {
			return fmt.Errorf("cluster changed by the other configuration: uid %s (was %s), labels %v", c.UID, uid, c.Labels)
		}
		return check(c)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{{
			PreConfig: endApply,
			Config:    first,
			Check: resource.ComposeTestCheckFunc(
				func(s *terraform.State) error {
					for _, r := range s.RootModule().Resources {
						uid = r.Primary.Attributes["uid"]
					}
					return nil
				},
				func(*terraform.State) error {
					// The other configuration, with a state of its own.
					resource.Test(t, resource.TestCase{
						ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
						Steps: []resource.TestStep{
							{Config: second, ExpectError: wrapped("Cluster default/" + name + " already exists in another Terraform state")},
						},
					})
					return untouched()
				},
			),
		}},
	})
}

// Creates that outlast their timeouts leave their resources in the state,
// untainted: a cluster's network plugin is missing, so its deployment's and
// its machine's nodes stay NotReady past their create timeouts. The apply
// warns and succeeds, the next plan shows updates (not replacements), and
// once the plugin is added the next apply waits for the same objects (same
// UIDs) to become Ready.
func TestAccSafety_timedOutCreateIsNotReplaced(t *testing.T) {
	useLabAWS(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	config := func(addons, timeout string) string {
		return addonClusterConfig(name, "provisioned", addons) + fmt.Sprintf(`
resource "capi_machine_deployment" "workers" {
  cluster  = capi_cluster.test.name
  name     = "%[1]s-workers"
  replicas = 1
  version  = "v1.36.0"
  aws      = { instance_type = "t3.medium" }
  timeouts { create = %[2]q }
}

resource "capi_machine" "single" {
  cluster = capi_cluster.test.name
  name    = "%[1]s-single"
  version = "v1.36.0"
  aws     = { instance_type = "t3.medium" }
  timeouts { create = %[2]q }
}`, name, timeout)
	}
	uids := map[string]string{}
	recordUIDs := func(s *terraform.State) error {
		for addr, r := range s.RootModule().Resources {
			uids[addr] = r.Primary.Attributes["uid"]
		}
		return nil
	}
	sameUIDs := func(s *terraform.State) error {
		for addr, r := range s.RootModule().Resources {
			if got := r.Primary.Attributes["uid"]; got != uids[addr] {
				return fmt.Errorf("%s was replaced: uid %s, was %s", addr, got, uids[addr])
			}
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{
				PreConfig:          endApply,
				Config:             config("", "45s"),
				Check:              recordUIDs,
				ExpectNonEmptyPlan: true,
			},
			{
				PreConfig: endApply,
				Config:    config(cniAddon(), "45s"),
				Check: resource.ComposeTestCheckFunc(sameUIDs,
					resource.TestCheckResourceAttr("capi_machine_deployment.workers", "ready_replicas", "1"),
					resource.TestCheckResourceAttr("capi_machine.single", "node_ready", "true")),
			},
		},
	})
}

// A cluster that the cloud refuses for good (a zone the region does not
// have) fails its apply at once with the cloud's message, long before its
// timeout, and the reconciler backs off instead of retrying in a loop.
func TestAccSafety_permanentFailureFailsFast(t *testing.T) {
	useLabAWS(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	config := fmt.Sprintf(`
resource "capi_cluster" "test" {
  name = %q
  aws = {
    region             = "us-east-1"
    availability_zones = ["us-east-1z"]
  }
  control_plane = {
    version = "v1.36.0"
    machine = { instance_type = "t3.large" }
  }
  wait_for = "provisioned"
  timeouts { create = "10m" }
}`, name)
	var before map[string]int
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					endApply()
					var err error
					if before, err = testLab.AWSCalls(); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				// "failed", not "not provisioned in time": the wait ended on
				// the reconciler's permanent error.
				ExpectError: regexp.MustCompile(`(?s)Cluster default/` + name + ` failed.*us-east-1z`),
			},
			{
				PreConfig: func() {
					after, err := testLab.AWSCalls()
					if err != nil {
						t.Fatal(err)
					}
					if n := after["ec2:CreateSubnet"] - before["ec2:CreateSubnet"]; n > 5 {
						t.Errorf("%d CreateSubnet calls for one permanently refused subnet: the reconciler retries without backoff", n)
					}
					endApply()
				},
				// The tainted cluster is destroyed by the test's destroy.
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// What Cluster API or the cloud would refuse once the apply has started is
// refused at plan, naming the attribute: the deployment's cluster, its
// zone, its version against the control plane, rollout settings that its
// strategy has no use for, and a second resource declaring it.
func TestAccMachineDeployment_invalidInput(t *testing.T) {
	useLabAWS(t)
	cluster := `
resource "capi_cluster" "c" {
  name = "planned"
  aws  = { region = "us-east-1", availability_zones = ["us-east-1a"] }
  control_plane = {
    version = "v1.36.0"
    machine = { instance_type = "t3.large" }
  }
}
`
	deployment := func(label, cluster, body string) string {
		return fmt.Sprintf("resource \"capi_machine_deployment\" %q {\n name = \"md\"\n cluster = %s\n replicas = 1\n version = \"v1.36.0\"\n"+
			" aws = { instance_type = \"t3.medium\" }\n %s\n}\n", label, cluster, body)
	}
	var steps []resource.TestStep
	for _, c := range []struct{ config, want string }{
		{deployment("md", `"nowhere"`, ``), `Attribute cluster names Cluster default/nowhere, which does not exist in the management cluster`},
		{`resource "capi_cluster" "bare" { name = "bare" }` + "\n" + deployment("md", `capi_cluster.bare.name`, ``),
			`Attribute cluster names Cluster default/bare, which has no aws or digitalocean block`},
		{cluster + deployment("md", `capi_cluster.c.name`, `availability_zone = "us-east-1b"`),
			`Attribute availability_zone is us-east-1b, which is not one of Cluster default/planned's zones (us-east-1a)`},
		{cluster + strings.Replace(deployment("md", `capi_cluster.c.name`, ``), `"v1.36.0"`, `"v1.37.0"`, 1),
			`machine version v1.37.0 is newer than the control plane's v1.36.0`},
		{cluster + strings.Replace(deployment("md", `capi_cluster.c.name`, ``), `"v1.36.0"`, `"v1.35.0"`, 1),
			`is not of the control plane's minor version v1.36`},
		{cluster + deployment("md", `capi_cluster.c.name`, `rollout = { strategy = "OnDelete", max_surge = "1" }`),
			`Attribute rollout.max_surge is for strategy RollingUpdate`},
		{cluster + deployment("one", `capi_cluster.c.name`, ``) + deployment("two", `capi_cluster.c.name`, ``),
			`Another resource of this configuration declares MachineDeployment default/md too`},
		{cluster + strings.Replace(deployment("md", `capi_cluster.c.name`, ``), `"v1.36.0"`, `"v1.36"`, 1), `Attribute version must be a Kubernetes version such as v1.36.0`},
	} {
		steps = append(steps, resource.TestStep{Config: c.config, PlanOnly: true, ExpectError: wrapped(c.want)})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProtoV6ProviderFactories, Steps: steps})
}

// A machine whose cluster is gone (deleted under it, so Cluster API never
// owned its objects) leaves nothing behind when it is destroyed: its
// AWSMachine and KubeadmConfig go with it.
func TestAccSafety_machineWithoutClusterLeavesNothing(t *testing.T) {
	useLabAWS(t)
	name := testClusterName()
	ctx := context.Background()
	key := func(n string) client.ObjectKey { return client.ObjectKey{Namespace: "default", Name: n} }
	config := &bootstrapv1.KubeadmConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
	awsMachine := &infrav1.AWSMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
	awsMachine.Spec.InstanceType = "t3.medium"
	machine := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
	machine.Spec.ClusterName = name + "-gone"
	machine.Spec.Version = "v1.36.0"
	machine.Spec.Bootstrap.ConfigRef = clusterv1.ContractVersionedObjectReference{APIGroup: bootstrapv1.GroupVersion.Group, Kind: "KubeadmConfig", Name: name}
	machine.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "AWSMachine", Name: name}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		PreCheck: func() {
			ensureCRDs(t)
			for _, obj := range []client.Object{config, awsMachine, machine} {
				if err := labClient(t).Create(ctx, obj); err != nil {
					t.Fatal(err)
				}
			}
		},
		CheckDestroy: func(*terraform.State) error {
			for _, obj := range []client.Object{&clusterv1.Machine{}, &infrav1.AWSMachine{}, &bootstrapv1.KubeadmConfig{}} {
				if err := labClient(t).Get(ctx, key(name), obj); err == nil {
					return fmt.Errorf("%T %s left behind by the destroy", obj, name)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`resource "capi_machine" "orphan" {
  name    = %q
  cluster = "%s-gone"
  version = "v1.36.0"
  aws     = { instance_type = "t3.medium" }
}`, name, name),
			ResourceName:       "capi_machine.orphan",
			ImportState:        true,
			ImportStateId:      "default/" + name,
			ImportStatePersist: true,
		}},
	})
}
