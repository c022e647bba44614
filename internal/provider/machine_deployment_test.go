package provider

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

func onDeleteConfig(name, instanceType string) string {
	return awsClusterConfig(name, `{}`) + fmt.Sprintf(`
resource "capi_machine_deployment" "workers" {
  cluster  = capi_cluster.test.name
  name     = "%[1]s-workers"
  replicas = 2
  version  = "v1.36.0"
  aws = {
    instance_type = %[2]q
  }
  rollout = {
    strategy = "OnDelete"
  }
}`, name, instanceType)
}

// With strategy OnDelete a template change is an update that returns once
// the new template is in place: the machines keep the old one, and the
// plan after the apply is empty (terraform-plugin-testing checks that).
// A machine the user deletes shows in the next plan, and that apply
// replaces it with one of the new template, leaving the other alone.
func TestAccMachineDeployment_onDelete(t *testing.T) {
	useLabAWS(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	workers := "capi_machine_deployment.workers"
	readyReplicas := statecheck.ExpectKnownValue(workers, tfjsonpath.New("ready_replicas"), knownvalue.Int32Exact(2))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{
				Config:            onDeleteConfig(name, "t3.medium"),
				ConfigStateChecks: []statecheck.StateCheck{readyReplicas},
				Check:             checkWorkerInstanceTypes(t, key, "t3.medium", "t3.medium"),
			},
			{
				PreConfig: endApply,
				Config:    onDeleteConfig(name, "t3.large"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(workers, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{readyReplicas},
				Check:             checkWorkerInstanceTypes(t, key, "t3.medium", "t3.medium"),
			},
			{
				PreConfig: func() {
					endApply()
					deleteOneWorker(t, key)
				},
				Config: onDeleteConfig(name, "t3.large"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(workers, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(workers, tfjsonpath.New("ready_replicas")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{readyReplicas},
				Check:             checkWorkerInstanceTypes(t, key, "t3.large", "t3.medium"),
			},
		},
	})
}

// checkWorkerInstanceTypes compares the instance types of the cluster's
// worker machines that are not being deleted, sorted, with want.
func checkWorkerInstanceTypes(t *testing.T, key client.ObjectKey, want ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		cl := labClient(t)
		var machines clusterv1.MachineList
		if err := cl.List(ctx, &machines, client.InNamespace(key.Namespace), client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: key.Name + "-workers"}); err != nil {
			return err
		}
		var got []string
		for _, m := range machines.Items {
			if !m.DeletionTimestamp.IsZero() {
				continue
			}
			infra := &infrav1.AWSMachine{}
			if err := cl.Get(ctx, client.ObjectKey{Namespace: m.Namespace, Name: m.Spec.InfrastructureRef.Name}, infra); err != nil {
				return err
			}
			got = append(got, infra.Spec.InstanceType)
		}
		sort.Strings(got)
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("worker instance types %v, want %v", got, want)
		}
		return nil
	}
}

// deleteOneWorker deletes a worker Machine, as kubectl delete machine does
// (without waiting: no reconciler runs between commands).
func deleteOneWorker(t *testing.T, key client.ObjectKey) {
	t.Helper()
	cl := labClient(t)
	var machines clusterv1.MachineList
	if err := cl.List(context.Background(), &machines, client.InNamespace(key.Namespace), client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: key.Name + "-workers"}); err != nil {
		t.Fatal(err)
	}
	if len(machines.Items) == 0 {
		t.Fatal("no worker machine to delete")
	}
	if err := cl.Delete(context.Background(), &machines.Items[0]); err != nil {
		t.Fatal(err)
	}
}
