package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/labtest"
)

// reconcileMode is the provider block that picks who reconciles.
func reconcileMode(mode string) string {
	return fmt.Sprintf("provider \"capi\" {\n  reconcile = %q\n}\n", mode)
}

// useManagerLab starts a lab of its own that runs the in-cluster manager,
// and points this test's helpers (testLab, the provider's KUBE_CONFIG_PATH,
// the AWS SDK's environment) at it until the test ends. The manager then
// never reconciles the clusters of the other tests.
func useManagerLab(t *testing.T) (*labtest.Lab, cloud.Clients) {
	t.Helper()
	flags, err := labtest.ManagerFlags()
	if err != nil {
		t.Fatal(err)
	}
	lab := startTestLab(t, flags...)
	useLab(t, lab)
	return lab, useLabAWS(t)
}

// startTestLab starts a lab of this test's own, with flags of capi-lab up,
// and stops it when the test ends, after the provider let go of it.
func startTestLab(t *testing.T, flags ...string) *labtest.Lab {
	t.Helper()
	labClient(t)
	lab, err := labtest.Start(flags...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The provider's runners and leases are per management cluster:
		// let this one's go before the lab does.
		Shutdown()
		if t.Failed() {
			t.Logf("manager log (tail):\n%s", tailLines(lab.ManagerLog(), 60))
		}
		if err := lab.Stop(); err != nil {
			t.Error(err)
		}
	})
	return lab
}

// useLab points testLab and the provider's KUBE_CONFIG_PATH at lab until
// the test ends.
func useLab(t *testing.T, lab *labtest.Lab) {
	shared := testLab
	testLab = lab
	t.Setenv("KUBE_CONFIG_PATH", lab.Kubeconfig)
	t.Cleanup(func() { testLab = shared })
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// checkNoEmbeddedEngine checks that the apply ran no reconciler in the
// provider and took no cluster Lease: in in_cluster mode the manager does
// all the reconciling.
func checkNoEmbeddedEngine(t *testing.T, key client.ObjectKey) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var running []string
		runners.Range(func(k, v any) bool {
			r := v.(*engineRunner)
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.engine != nil {
				running = append(running, k.(string))
			}
			return true
		})
		if len(running) > 0 {
			return fmt.Errorf("an engine runs in the provider: %v", running)
		}
		var leases coordinationv1.LeaseList
		if err := labClient(t).List(context.Background(), &leases, client.InNamespace(key.Namespace)); err != nil {
			return err
		}
		for _, l := range leases.Items {
			if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
				return fmt.Errorf("Lease %s is held by %s during an in_cluster apply", l.Name, *l.Spec.HolderIdentity)
			}
		}
		return nil
	}
}

// checkOneInstancePerMachine checks that every machine of the cluster has
// exactly one live instance and no instance belongs to no machine: two
// engines reconciling one cluster at once would have launched a duplicate.
func checkOneInstancePerMachine(t *testing.T, key client.ObjectKey) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var machines clusterv1.MachineList
		if err := labClient(t).List(context.Background(), &machines, client.InNamespace(key.Namespace),
			client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name}); err != nil {
			return err
		}
		want := map[string]string{}
		for _, m := range machines.Items {
			want[m.Spec.ProviderID[strings.LastIndex(m.Spec.ProviderID, "/")+1:]] = m.Name
		}
		var live []string
		err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			resources, err := testLab.AWSResources()
			if err != nil {
				return false, err
			}
			live = live[:0]
			for _, r := range resources {
				if r.Kind == "instance" && r.State != "terminated" && r.State != "shutting-down" {
					live = append(live, r.ID)
				}
			}
			if len(live) != len(want) {
				return false, nil
			}
			for _, id := range live {
				if _, ok := want[id]; !ok {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("live instances %v, machines' instances %v", live, want)
		}
		return nil
	}
}

// A cluster handed over between the provider and the in-cluster manager,
// through the real terraform CLI on a lab that runs the manager as a
// Deployment would: created in embedded mode, switched to in_cluster with
// no replacement (the provider then runs no engine and takes no Lease,
// and the manager converges a scale-up), a worker instance terminated
// behind everyone's back is replaced by the manager's health check with
// no Terraform command run, switched back to embedded (while the apply
// holds its Lease the manager stays away: one instance per machine), and
// with the manager stopped an in_cluster apply fails at once naming what
// is missing.
func TestAccInCluster_handOver(t *testing.T) {
	lab, clients := useManagerLab(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	var stoppedAt time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{
				PreConfig: endApply,
				Config:    reconcileMode("embedded") + haClusterConfig(name, "v1.36.0", 2),
				Check: resource.ComposeTestCheckFunc(
					checkWorkload(t, key, 3, 2, "v1.36.0"),
					checkStatusesSettled(t, key, 3, 2),
					checkOneInstancePerMachine(t, key),
				),
			},
			{
				PreConfig: endApply,
				Config:    reconcileMode("in_cluster") + haClusterConfig(name, "v1.36.0", 3),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(lifecycleWorkers, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(lifecycleCluster, plancheck.ResourceActionNoop),
				}},
				Check: resource.ComposeTestCheckFunc(
					checkNoEmbeddedEngine(t, key),
					checkWorkload(t, key, 3, 3, "v1.36.0"),
					checkStatusesSettled(t, key, 3, 3),
					checkOneInstancePerMachine(t, key),
				),
			},
			{
				// No Terraform command between the termination and the
				// replacement: the manager's MachineHealthCheck remediates.
				PreConfig: func() {
					endApply()
					began := time.Now()
					terminated := terminateWorkerInstance(t, clients, key)
					err := wait.PollUntilContextTimeout(context.Background(), time.Second, 10*time.Minute, true, func(context.Context) (bool, error) {
						return checkWorkload(t, key, 3, 3, "v1.36.0")(nil) == nil, nil
					})
					if err != nil {
						t.Fatalf("the manager did not replace the machine of terminated instance %s: %v", terminated, checkWorkload(t, key, 3, 3, "v1.36.0")(nil))
					}
					t.Logf("instance %s terminated: its replacement's node Ready after %s, with no Terraform command", terminated, time.Since(began).Round(time.Second))
				},
				Config: reconcileMode("in_cluster") + haClusterConfig(name, "v1.36.0", 3),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				Check: checkOneInstancePerMachine(t, key),
			},
			{
				// Back to embedded: the switch changes nothing, and the
				// scale-down is the provider's engine's alone while its
				// apply holds the Lease.
				PreConfig: endApply,
				Config:    reconcileMode("embedded") + haClusterConfig(name, "v1.36.0", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(lifecycleWorkers, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(lifecycleCluster, plancheck.ResourceActionNoop),
				}},
				Check: resource.ComposeTestCheckFunc(
					checkWorkload(t, key, 3, 2, "v1.36.0"),
					checkStatusesSettled(t, key, 3, 2),
					checkOneInstancePerMachine(t, key),
					checkManagerRetried(lab, key),
				),
			},
			{
				// An apply that waited for a manager that is not there would
				// end on its timeout (minutes) with another message.
				PreConfig: func() {
					endApply()
					if err := lab.StopManager(); err != nil {
						t.Fatal(err)
					}
					stoppedAt = time.Now()
				},
				Config: reconcileMode("in_cluster") + haClusterConfig(name, "v1.36.0", 3),
				ExpectError: regexp.MustCompile(`(?s)reconcile = "in_cluster", but no ` + identity.ManagerName +
					`\s+is\s+running.*Lease\s+` + identity.ManagerNamespace + `/` + identity.ManagerLeaderElectionID + `.*kubectl\s+apply\s+-k`),
			},
			{
				PreConfig: func() {
					t.Logf("with the manager stopped, the in_cluster apply failed after %s", time.Since(stoppedAt).Round(100*time.Millisecond))
					if err := lab.StartManager(); err != nil {
						t.Fatal(err)
					}
				},
				Config: reconcileMode("in_cluster") + haClusterConfig(name, "v1.36.0", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
		},
	})
}

// checkManagerRetried checks that once the embedded apply let go of the
// cluster (checkStatusesSettled ends it), the manager retried at once the
// reconciles it had been refused meanwhile, rather than after their
// backoff.
func checkManagerRetried(lab *labtest.Lab, key client.ObjectKey) resource.TestCheckFunc {
	return func(*terraform.State) error {
		line := regexp.MustCompile(`let go of a cluster: retrying the reconciles refused meanwhile.*"` + regexp.QuoteMeta(key.String()) + `"`)
		err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
			return line.MatchString(lab.ManagerLog()), nil
		})
		if err != nil {
			return fmt.Errorf("the manager logged no retry of cluster %s after the embedded apply let go of it:\n%s", key, tailLines(lab.ManagerLog(), 30))
		}
		return nil
	}
}
