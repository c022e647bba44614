package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

const sessionProviders = `
terraform {
  required_providers {
    capi = {
      source = "terraform-capi/capi"
    }
  }
}
`

// queryClusterConfig is a cluster with a deployment and a standalone
// machine, the three kinds the list resources find.
func queryClusterConfig(name string) string {
	return sessionProviders + awsClusterConfig(name, `{ suite = "query" }`) + fmt.Sprintf(`
resource "capi_machine_deployment" "workers" {
  cluster  = capi_cluster.test.name
  name     = "%[1]s-workers"
  replicas = 1
  version  = "v1.36.0"
  aws = {
    instance_type = "t3.medium"
  }
}

resource "capi_machine" "joiner" {
  name    = "%[1]s-joiner"
  cluster = capi_cluster.test.name
  version = "v1.36.0"
  aws = {
    instance_type = "t3.medium"
  }
}
`, name)
}

// `terraform query` on Terraform 1.14 or later finds a management
// cluster's clusters, deployments and standalone machines (and not the
// machines a MachineSet or KCP owns); the configuration that
// -generate-config-out writes imports them by identity and plans no
// change; a hand-written configuration imported by identity plans none
// either, and a label another manager set, removed from that
// configuration, is removed; the imported resources are destroyed with
// nothing left.
func TestAccQuery_listAndImportByIdentity(t *testing.T) {
	useLabAWS(t)
	bin := queryCapableTerraform(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}

	made := newCLISession(t, bin)
	made.write("main.tf", queryClusterConfig(name)+`
data "capi_cluster" "seen" {
  name = capi_cluster.test.name
}

output "control_plane_replicas" {
  value = data.capi_cluster.seen.control_plane.replicas
}
`)
	made.must("init", "-input=false")
	made.must("apply", "-input=false", "-auto-approve")
	// The data source reports the default as a value.
	if out := strings.TrimSpace(made.must("output", "-raw", "control_plane_replicas")); !strings.HasSuffix(out, "1") {
		t.Fatalf("data.capi_cluster control_plane.replicas = %q, want 1", out)
	}
	// Whatever the test leaves: a destroy of what is left in any state.
	t.Cleanup(func() { made.run("destroy", "-input=false", "-auto-approve") })
	// A label set by someone else, as kubectl label does.
	cl := labClient(t)
	cluster := &clusterv1.Cluster{}
	if err := cl.Get(context.Background(), key, cluster); err != nil {
		t.Fatal(err)
	}
	before := cluster.DeepCopy()
	cluster.Labels["team"] = "a"
	if err := cl.Patch(context.Background(), cluster, client.MergeFrom(before), client.FieldOwner("kubectl-label")); err != nil {
		t.Fatal(err)
	}

	// Found by query; the generated configuration imports and plans empty.
	found := newCLISession(t, bin)
	found.write("main.tf", sessionProviders)
	found.write("all.tfquery.hcl", fmt.Sprintf(`
list "capi_cluster" "suite" {
  provider = capi
  config {
    namespace = "default"
    labels    = { suite = "query" }
  }
}

list "capi_machine_deployment" "of_cluster" {
  provider = capi
  config {
    cluster_name = %[1]q
  }
}

list "capi_machine" "of_cluster" {
  provider = capi
  config {
    namespace    = "default"
    cluster_name = %[1]q
  }
}
`, name))
	found.must("init", "-input=false")
	listed := queryResults(t, found.must("query", "-json"))
	want := map[string][]string{
		"list.capi_cluster.suite":                 {"default/" + name},
		"list.capi_machine_deployment.of_cluster": {"default/" + name + "-workers"},
		"list.capi_machine.of_cluster":            {"default/" + name + "-joiner"},
	}
	if fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Fatalf("terraform query listed %v, want %v", listed, want)
	}
	found.must("query", "-generate-config-out=generated.tf")
	generated := found.read("generated.tf")
	for _, w := range []string{`resource "capi_cluster"`, `resource "capi_machine_deployment"`, `resource "capi_machine"`, "identity = {"} {
		if !strings.Contains(generated, w) {
			t.Fatalf("generated configuration lacks %s:\n%s", w, generated)
		}
	}
	found.must("plan", "-input=false", "-out=import.tfplan")
	expectImportsOnly(t, found.must("show", "-json", "import.tfplan"), 3)
	found.must("apply", "-input=false", "import.tfplan")
	if _, code := found.run("plan", "-input=false", "-detailed-exitcode"); code != 0 {
		t.Fatalf("the plan after importing the generated configuration is not empty (exit %d)", code)
	}

	// A hand-written configuration with the defaults (wait_for lives in
	// the state, not in the objects: an import stores its default),
	// imported by identity with the namespace left to its default, plans
	// no change.
	written := newCLISession(t, bin)
	handWritten := strings.Replace(queryClusterConfig(name), `wait_for = "provisioned"`, "", 1)
	handWritten = strings.Replace(handWritten, `labels = { suite = "query" }`, `labels = { suite = "query", team = "a" }`, 1)
	imports := fmt.Sprintf(`
import {
  to       = capi_cluster.test
  identity = { name = %[1]q }
}

import {
  to       = capi_machine_deployment.workers
  identity = { namespace = "default", name = "%[1]s-workers" }
}

import {
  to       = capi_machine.joiner
  identity = { namespace = "default", name = "%[1]s-joiner" }
}
`, name)
	written.write("main.tf", handWritten+imports)
	written.must("init", "-input=false")
	written.must("plan", "-input=false", "-out=import.tfplan")
	expectImportsOnly(t, written.must("show", "-json", "import.tfplan"), 3)
	written.must("apply", "-input=false", "import.tfplan")

	// The label kubectl set, once imported, is the configuration's: taken
	// out of it, it goes from the Cluster.
	written.write("main.tf", strings.Replace(handWritten, `, team = "a"`, "", 1))
	written.must("apply", "-input=false", "-auto-approve")
	if err := cl.Get(context.Background(), key, cluster); err != nil {
		t.Fatal(err)
	}
	if _, ok := cluster.Labels["team"]; ok || cluster.Labels["suite"] != "query" {
		t.Fatalf("labels after removing team from the configuration: %v", cluster.Labels)
	}
	if _, code := written.run("plan", "-input=false", "-detailed-exitcode"); code != 0 {
		t.Fatalf("the plan after removing the label is not empty (exit %d)", code)
	}

	written.must("destroy", "-input=false", "-auto-approve")
	if err := checkNothingLeft(t, key)(nil); err != nil {
		t.Fatal(err)
	}
}

// queryResults are the display names that `terraform query -json` listed,
// by list block.
func queryResults(t *testing.T, out string) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		var msg struct {
			Type         string `json:"type"`
			ListResource struct {
				Address     string `json:"address"`
				DisplayName string `json:"display_name"`
			} `json:"list_resource_found"`
		}
		if json.Unmarshal([]byte(line), &msg) != nil || msg.Type != "list_resource_found" {
			continue
		}
		got[msg.ListResource.Address] = append(got[msg.ListResource.Address], msg.ListResource.DisplayName)
	}
	for _, names := range got {
		sort.Strings(names)
	}
	return got
}

// expectImportsOnly checks that a saved plan (terraform show -json)
// imports n resources and changes nothing.
func expectImportsOnly(t *testing.T, planJSON string, n int) {
	t.Helper()
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions   []string        `json:"actions"`
				Importing json.RawMessage `json:"importing"`
				Before    json.RawMessage `json:"before"`
				After     json.RawMessage `json:"after"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(planJSON), &plan); err != nil {
		t.Fatalf("terraform show -json: %v", err)
	}
	imports := 0
	for _, rc := range plan.ResourceChanges {
		if len(rc.Change.Importing) > 0 && string(rc.Change.Importing) != "null" {
			imports++
		}
		if fmt.Sprint(rc.Change.Actions) != "[no-op]" {
			t.Errorf("%s: actions %v, want an import with no change\nbefore: %s\nafter:  %s", rc.Address, rc.Change.Actions, rc.Change.Before, rc.Change.After)
		}
	}
	if imports != n {
		t.Errorf("%d resources imported, want %d", imports, n)
	}
	if t.Failed() {
		t.FailNow()
	}
}
