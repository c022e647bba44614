package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// plainImage is an OS image without Kubernetes in the lab's catalog: what a
// machine booting a script of its own runs.
func plainImage(t *testing.T) string {
	t.Helper()
	id, err := testLab.RegisterImage("ubuntu-24.04-plain", "")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func machinesConfig(cluster, machineLabel, ami string) string {
	return awsClusterConfig(cluster, `{}`) + fmt.Sprintf(`
resource "capi_machine" "worker" {
  count   = 2
  name    = "${capi_cluster.test.name}-worker-${count.index}"
  cluster = capi_cluster.test.name
  labels  = { role = %q }

  aws = {
    ami           = %q
    instance_type = "t3.medium"
  }

  bootstrap_script = "#!/bin/sh\necho joined by a script of my own\n"
  wait_for         = "provisioned"
}`, machineLabel, ami)
}

// Standalone machines with a user-supplied bootstrap script run their
// instances, change labels in place, import, and go with destroy. The first
// apply runs with 30% of RunInstances calls throttled: it still converges
// with exactly one instance per machine.
func TestAccMachine_bootstrapScript(t *testing.T) {
	useLabAWS(t)
	t.Cleanup(func() { _ = testLab.SetAWSFaults(nil) })
	ami := plainImage(t)
	var runInstancesBefore int
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	worker := "capi_machine.worker[0]"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					calls, err := testLab.AWSCalls()
					if err != nil {
						t.Fatal(err)
					}
					runInstancesBefore = calls["ec2:RunInstances"]
					if err := testLab.SetAWSFaults([]map[string]any{{"action": "RunInstances", "rate": 0.3, "error": "throttling"}}); err != nil {
						t.Fatal(err)
					}
				},
				Config: machinesConfig(name, "worker", ami),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(worker, tfjsonpath.New("provider_id"), knownvalue.StringRegexp(regexp.MustCompile(`^aws:///us-east-1[ab]/i-[0-9a-f]{17}$`))),
					statecheck.ExpectKnownValue(worker, tfjsonpath.New("phase"), knownvalue.StringExact("Provisioned")),
				},
				Check: resource.ComposeTestCheckFunc(
					// The control plane machine and both workers.
					checkSimulatorHas(t, map[string]int{"instance": 3}),
					func(*terraform.State) error {
						calls, err := testLab.AWSCalls()
						if err != nil {
							return err
						}
						if n := calls["ec2:RunInstances"] - runInstancesBefore; n <= 3 {
							return fmt.Errorf("RunInstances was called %d times for 3 instances: the throttling did not bite", n)
						}
						return testLab.SetAWSFaults(nil)
					},
					checkMachine(t, client.ObjectKey{Namespace: "default", Name: name + "-worker-1"}, func(m *clusterv1.Machine) error {
						if m.Spec.Bootstrap.DataSecretName == nil || *m.Spec.Bootstrap.DataSecretName != name+"-worker-1-bootstrap" {
							return fmt.Errorf("dataSecretName = %v", m.Spec.Bootstrap.DataSecretName)
						}
						return nil
					}),
				),
			},
			{
				Config: machinesConfig(name, "ingress", ami),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(worker, plancheck.ResourceActionUpdate),
					expectObservedKept(worker, "phase", "conditions", "provider_id", "node_ready"),
				}},
				Check: checkMachine(t, client.ObjectKey{Namespace: "default", Name: name + "-worker-0"}, func(m *clusterv1.Machine) error {
					if m.Labels["role"] != "ingress" {
						return fmt.Errorf("labels = %v", m.Labels)
					}
					return nil
				}),
			},
			{
				ResourceName:            worker,
				ImportState:             true,
				ImportStateId:           "default/" + name + "-worker-0",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"wait_for", "conditions", "phase"},
			},
		},
	})
}

func checkMachine(t *testing.T, key client.ObjectKey, check func(*clusterv1.Machine) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		m := &clusterv1.Machine{}
		if err := labClient(t).Get(context.Background(), key, m); err != nil {
			return err
		}
		return check(m)
	}
}

// A standalone kubeadm machine waits for its node; when its instance is
// terminated behind the provider's back, the plan replaces the machine and
// the apply brings a new instance whose node is Ready.
func TestAccMachine_replacedWhenItsNodeIsGone(t *testing.T) {
	clients := useLabAWS(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	joiner := "capi_machine.joiner"
	config := awsClusterConfig(name, `{}`) + `
resource "capi_machine" "joiner" {
  name    = "${capi_cluster.test.name}-joiner"
  cluster = capi_cluster.test.name
  version = "v1.36.0"
  aws = {
    instance_type = "t3.medium"
  }
}`
	var firstProviderID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{
				PreConfig: endApply,
				Config:    config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(joiner, tfjsonpath.New("node_ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(joiner, tfjsonpath.New("phase"), knownvalue.StringExact("Running")),
				},
				Check: func(s *terraform.State) error {
					firstProviderID = s.RootModule().Resources[joiner].Primary.Attributes["provider_id"]
					return nil
				},
			},
			{
				PreConfig: func() {
					endApply()
					terminateInstance(t, clients, key, firstProviderID)
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(joiner, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(joiner, tfjsonpath.New("node_ready"), knownvalue.Bool(true)),
				},
				Check: func(s *terraform.State) error {
					if id := s.RootModule().Resources[joiner].Primary.Attributes["provider_id"]; id == "" || id == firstProviderID {
						return fmt.Errorf("provider ID %q after the replacement, was %q", id, firstProviderID)
					}
					return nil
				},
			},
		},
	})
}

// A machine that cannot get an image or a kubeadm join fails at plan.
func TestAccMachine_invalidInput(t *testing.T) {
	useLabAWS(t)
	machine := func(body string) string {
		return "resource \"capi_machine\" \"m\" {\n name = \"m\"\n cluster = \"c\"\n aws = { instance_type = \"t3.medium\" }\n " + body + "\n}"
	}
	var steps []resource.TestStep
	for _, c := range []struct{ config, want string }{
		{machine(``), `Attribute version is required for a machine that joins with kubeadm`},
		{machine(`bootstrap_script = "#!/bin/sh"`), `Attribute aws.ami is required for a machine without a version`},
		{machine(`version = "v1.36.0"` + "\n" + `bootstrap_script = "#!/bin/sh"` + "\n" + `kubeadm = { pre_kubeadm_commands = ["true"] }`),
			`Attribute "bootstrap_script" cannot be specified when "kubeadm" is specified`},
		{machine(`version = "v1.36.0"`), `Attribute cluster names Cluster default/c, which does not exist in the management cluster`},
		{strings.Replace(machine(`version = "v1.36.0"`), `cluster = "c"`, `cluster = capi_cluster.c.name`, 1) + "\n" + `resource "capi_cluster" "c" { name = "c" }`,
			`Attribute cluster names Cluster default/c, which has no aws or digitalocean block`},
	} {
		steps = append(steps, resource.TestStep{Config: c.config, PlanOnly: true, ExpectError: wrapped(c.want)})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProtoV6ProviderFactories, Steps: steps})
}
