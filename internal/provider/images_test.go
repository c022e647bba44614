package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func imageClusterConfig(name, machine, timeout string) string {
	return fmt.Sprintf(`
resource "capi_cluster" "test" {
  name = %q
  aws = {
    region             = "us-east-1"
    availability_zones = ["us-east-1a"]
  }
  control_plane = {
    version = "v1.36.0"
    machine = %s
  }
  wait_for = "api_server"
  timeouts {
    create = %q
  }
}`, name, machine, timeout)
}

// An AMI that does not exist fails the apply with a message naming it,
// and no instance is started; the lookup (no ami) then converges.
func TestAccCluster_unknownImage(t *testing.T) {
	useLabAWS(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	const missing = "ami-00000000000000bad"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{
				PreConfig:   endApply,
				Config:      imageClusterConfig(name, `{ ami = "`+missing+`", instance_type = "t3.large" }`, "45s"),
				ExpectError: regexp.MustCompile(`(?s)Cluster default/` + name + ` failed.*` + missing),
			},
			{
				PreConfig: func() {
					endApply()
					if n := liveInstances(t); n != 0 {
						t.Fatalf("%d instances run with an image that does not exist", n)
					}
				},
				Config: imageClusterConfig(name, `{ instance_type = "t3.large" }`, "5m"),
				Check:  checkSimulatorHas(t, map[string]int{"instance": 1}),
			},
		},
	})
}

// liveInstances counts the simulator's instances that are not terminated.
func liveInstances(t *testing.T) int {
	t.Helper()
	live, err := testLab.AWSResources()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range live {
		if r.Kind == "instance" && r.State != "terminated" {
			n++
		}
	}
	return n
}
