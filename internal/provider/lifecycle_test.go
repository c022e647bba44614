package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/kubeconfig"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

const (
	lifecycleCluster = "capi_cluster.ha"
	lifecycleWorkers = "capi_machine_deployment.workers"
)

func haClusterConfig(name, version string, workers int) string {
	return fmt.Sprintf(`
resource "capi_cluster" "ha" {
  name = %[1]q
  aws = {
    region             = "us-east-1"
    availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
  }
  control_plane = {
    replicas = 3
    version  = %[2]q
    machine = {
      instance_type = "t3.large"
    }
  }
%[4]s
}

resource "capi_machine_deployment" "workers" {
  cluster  = capi_cluster.ha.name
  name     = "%[1]s-workers"
  replicas = %[3]d
  version  = %[2]q
  labels   = { "node-role.kubernetes.io/worker" = "" }
  taints   = [{ key = "dedicated", value = "batch", effect = "NoSchedule" }]
  aws = {
    instance_type = "t3.medium"
  }
  rollout = {
    max_surge       = "1"
    max_unavailable = "0"
  }
  # The lab's nodes turn unreachable 5 s after their instance goes; the
  # default 5 minutes would keep the tests that terminate one waiting.
  health_check = {
    unhealthy_timeout = "30s"
  }
}`, name, version, workers, cniAddon())
}

// The whole lifecycle of an HA cluster on the lab, through the real
// terraform CLI: three control plane machines and three workers reach
// Running with Ready nodes in the simulated workload cluster; the workers
// scale 3 -> 5 -> 2 in place; a version change rolls the control plane one
// machine at a time, then the workers within max_surge and
// max_unavailable, replacing no Terraform resource; a worker instance
// terminated behind the provider's back shows in the plan and the next
// apply replaces its machine; destroy leaves no instance, load balancer or
// object behind.
func TestAccLifecycle_haClusterWithWorkers(t *testing.T) {
	clients := useLabAWS(t)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	monitor := &rolloutMonitor{t: t, key: key}
	var terminated string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(t, key),
		Steps: []resource.TestStep{
			{
				PreConfig: endApply,
				Config:    haClusterConfig(name, "v1.36.0", 3),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(lifecycleWorkers, tfjsonpath.New("ready_replicas"), knownvalue.Int32Exact(3)),
					statecheck.ExpectKnownValue(lifecycleWorkers, tfjsonpath.New("rollout").AtMapKey("max_surge"), knownvalue.StringExact("1")),
				},
				Check: resource.ComposeTestCheckFunc(checkWorkload(t, key, 3, 3, "v1.36.0"), checkStatusesSettled(t, key, 3, 3)),
			},
			{
				PreConfig: endApply,
				Config:    haClusterConfig(name, "v1.36.0", 5),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(lifecycleWorkers, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(lifecycleCluster, plancheck.ResourceActionNoop),
				}},
				Check: resource.ComposeTestCheckFunc(checkWorkload(t, key, 3, 5, "v1.36.0"), checkStatusesSettled(t, key, 3, 5)),
			},
			{
				PreConfig: endApply,
				Config:    haClusterConfig(name, "v1.36.0", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(lifecycleWorkers, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(checkWorkload(t, key, 3, 2, "v1.36.0"), checkStatusesSettled(t, key, 3, 2)),
			},
			{
				// Labels added to the deployment are on every machine when the
				// apply returns, and the one Cluster API syncs to nodes (its
				// node.cluster.x-k8s.io domain) on every node: Cluster API
				// changes them in place.
				PreConfig: endApply,
				Config: strings.Replace(haClusterConfig(name, "v1.36.0", 2), `labels   = { "node-role.kubernetes.io/worker" = "" }`,
					`labels   = { "node-role.kubernetes.io/worker" = "", "example.com/tier" = "batch", "node.cluster.x-k8s.io/tier" = "batch" }`, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(lifecycleWorkers, plancheck.ResourceActionUpdate),
					expectObservedKept(lifecycleWorkers, "ready_replicas"),
				}},
				Check: func(*terraform.State) error {
					endApply()
					var machines clusterv1.MachineList
					if err := labClient(t).List(context.Background(), &machines, client.InNamespace(key.Namespace),
						client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: name + "-workers"}); err != nil {
						return err
					}
					nodes := map[string]corev1.Node{}
					for _, n := range workloadNodes(t, key) {
						nodes[n.Name] = n
					}
					for _, m := range machines.Items {
						if m.Labels["example.com/tier"] != "batch" {
							return fmt.Errorf("machine %s has labels %v after the apply, without the deployment's new label", m.Name, m.Labels)
						}
						if n := nodes[m.Status.NodeRef.Name]; n.Labels["node.cluster.x-k8s.io/tier"] != "batch" {
							return fmt.Errorf("node %q of machine %s has labels %v after the apply, without the synced label", m.Status.NodeRef.Name, m.Name, n.Labels)
						}
					}
					return nil
				},
			},
			{
				PreConfig: func() { endApply(); monitor.start() },
				Config:    haClusterConfig(name, "v1.36.3", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(lifecycleCluster, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(lifecycleWorkers, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(
					checkWorkload(t, key, 3, 2, "v1.36.3"),
					monitor.check(3, 2),
					checkStatusesSettled(t, key, 3, 2),
				),
			},
			{
				// An instance gone behind the provider's back: the plan shows
				// the deployment short of a Ready machine, and the apply lets
				// the health check replace it.
				PreConfig: func() {
					endApply()
					terminated = terminateWorkerInstance(t, clients, key)
				},
				Config: haClusterConfig(name, "v1.36.3", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(lifecycleWorkers, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(lifecycleWorkers, tfjsonpath.New("ready_replicas")),
				}},
				Check: resource.ComposeTestCheckFunc(
					checkWorkload(t, key, 3, 2, "v1.36.3"),
					func(*terraform.State) error {
						for _, n := range workloadNodes(t, key) {
							if strings.HasSuffix(n.Spec.ProviderID, "/"+terminated) {
								return fmt.Errorf("node %s of the terminated instance %s is still there", n.Name, terminated)
							}
						}
						return nil
					},
				),
			},
			{
				PreConfig: endApply,
				Config:    haClusterConfig(name, "v1.36.3", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
			{
				// A control plane machine is KCP's: importing it as a
				// capi_machine is refused, naming what to import instead.
				Config: haClusterConfig(name, "v1.36.3", 2) + `
resource "capi_machine" "stolen" {
  cluster = capi_cluster.ha.name
  name    = "stolen"
  version = "v1.36.3"
  aws     = { instance_type = "t3.large" }
}`,
				ResourceName:      "capi_machine.stolen",
				ImportState:       true,
				ImportStateIdFunc: func(*terraform.State) (string, error) { return "default/" + controlPlaneMachine(t, key), nil },
				ExpectError:       regexp.MustCompile(`(?s)belongs\s+to\s+KubeadmControlPlane\s+` + name + `.*Import\s+Cluster\s+default/` + name + `\s+as\s+capi_cluster`),
			},
			{
				ResourceName:  lifecycleWorkers,
				ImportState:   true,
				ImportStateId: "default/" + name + "-workers",
				// Every attribute, the rollout the configuration spells out
				// (Cluster API's defaults) and the health check it leaves out
				// included.
				ImportStateVerify: true,
			},
			{
				// The deployment destroyed: the Cluster no longer counts it,
				// nor says its deletion is in progress.
				PreConfig: endApply,
				Config:    haClusterConfig(name, "v1.36.3", 2)[:strings.Index(haClusterConfig(name, "v1.36.3", 2), `resource "capi_machine_deployment"`)],
				Check:     checkStatusesSettled(t, key, 3, 0),
			},
		},
	})
}

// controlPlaneMachine names one of the cluster's control plane machines.
func controlPlaneMachine(t *testing.T, key client.ObjectKey) string {
	var machines clusterv1.MachineList
	if err := labClient(t).List(context.Background(), &machines, client.InNamespace(key.Namespace),
		client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name, clusterv1.MachineControlPlaneLabel: ""}); err != nil || len(machines.Items) == 0 {
		t.Fatalf("no control plane machine of %s: %v", key, err)
	}
	return machines.Items[0].Name
}

// endApply ends the previous step's apply as the end of a terraform process
// does: the leases go, and with them the engine's right to write. The next
// apply takes them again.
func endApply() { Shutdown() }

// checkWorkload checks the machines in the management cluster and the
// nodes of the simulated workload cluster: every machine Running on the
// version, each with a Ready node carrying its provider ID.
func checkWorkload(t *testing.T, key client.ObjectKey, controlPlanes, workers int, version string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		var machines clusterv1.MachineList
		if err := labClient(t).List(ctx, &machines, client.InNamespace(key.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name}); err != nil {
			return err
		}
		nodes := map[string]corev1.Node{}
		for _, n := range workloadNodes(t, key) {
			nodes[n.Spec.ProviderID] = n
		}
		cp, w := 0, 0
		for _, m := range machines.Items {
			if _, ok := m.Labels[clusterv1.MachineControlPlaneLabel]; ok {
				cp++
			} else {
				w++
			}
			if m.Status.Phase != string(clusterv1.MachinePhaseRunning) || m.Spec.Version != version {
				return fmt.Errorf("machine %s is %s on %s, want Running on %s", m.Name, m.Status.Phase, m.Spec.Version, version)
			}
			n, ok := nodes[m.Spec.ProviderID]
			if !ok || !nodeReady(n) || n.Status.NodeInfo.KubeletVersion != version {
				return fmt.Errorf("machine %s (%s): no Ready %s node in the workload cluster", m.Name, m.Spec.ProviderID, version)
			}
			if _, worker := m.Labels[clusterv1.MachineDeploymentNameLabel]; worker &&
				(len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "dedicated" || n.Labels["node-role.kubernetes.io/worker"] != "") {
				return fmt.Errorf("worker node %s: taints %v, labels %v", n.Name, n.Spec.Taints, n.Labels)
			}
		}
		if cp != controlPlanes || w != workers || len(nodes) != controlPlanes+workers {
			return fmt.Errorf("%d control plane and %d worker machines, %d nodes; want %d and %d", cp, w, len(nodes), controlPlanes, workers)
		}
		return nil
	}
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// workloadClientset is a client of the simulated workload cluster through
// the kubeconfig Secret Cluster API wrote, as a user would have.
func workloadClientset(t *testing.T, key client.ObjectKey) kubernetes.Interface {
	t.Helper()
	data, err := kubeconfig.FromSecret(context.Background(), labClient(t), key)
	if err != nil {
		t.Fatalf("kubeconfig of %s: %v", key, err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(cfg)
}

// workloadNodes lists the nodes of the simulated workload cluster.
func workloadNodes(t *testing.T, key client.ObjectKey) []corev1.Node {
	t.Helper()
	ctx := context.Background()
	nodes, err := workloadClientset(t, key).CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("nodes of %s: %v", key, err)
	}
	return nodes.Items
}

// terminateWorkerInstance terminates one worker's instance with the EC2
// API and waits until its node is unreachable or gone.
func terminateWorkerInstance(t *testing.T, clients cloud.Clients, key client.ObjectKey) string {
	t.Helper()
	var machines clusterv1.MachineList
	if err := labClient(t).List(context.Background(), &machines, client.InNamespace(key.Namespace),
		client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: key.Name + "-workers"}); err != nil || len(machines.Items) == 0 {
		t.Fatalf("no worker machine (%v)", err)
	}
	return terminateInstance(t, clients, key, machines.Items[0].Spec.ProviderID)
}

// terminateInstance terminates the instance of a provider ID with the EC2
// API, behind the provider's back, and waits until the workload cluster
// has noticed: its node unreachable (Ready=Unknown), as after the node
// monitor grace period, or gone.
func terminateInstance(t *testing.T, clients cloud.Clients, key client.ObjectKey, providerID string) string {
	t.Helper()
	ctx := context.Background()
	id := providerID[strings.LastIndex(providerID, "/")+1:]
	if _, err := clients.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	// Describing advances the simulator's clock: the instance
	// terminates, and its kubelet stops.
	describe := func(ctx context.Context) {
		_, _ = clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	}
	if err := waitNodeUnreachable(ctx, t, key, providerID, describe); err != nil {
		t.Fatalf("node of terminated instance %s neither unreachable nor gone: %v", id, err)
	}
	t.Logf("terminated %s", id)
	return id
}

// waitNodeUnreachable waits until the node of providerID is gone from the
// workload cluster or Ready=Unknown, as the node lifecycle controller
// marks a node whose kubelet stopped; each poll first calls poke (nil:
// nothing).
func waitNodeUnreachable(ctx context.Context, t *testing.T, key client.ObjectKey, providerID string, poke func(context.Context)) error {
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if poke != nil {
			poke(ctx)
		}
		for _, n := range workloadNodes(t, key) {
			if n.Spec.ProviderID == providerID {
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady {
						return c.Status == corev1.ConditionUnknown, nil
					}
				}
				return false, nil
			}
		}
		return true, nil
	})
}

// rolloutMonitor samples the cluster's machines while an upgrade applies,
// to check how Cluster API rolled them.
type rolloutMonitor struct {
	t   *testing.T
	key client.ObjectKey

	mu   sync.Mutex
	stop context.CancelFunc
	// Most machines seen at once, fewest Running machines of the new or
	// old version seen at once, per role.
	maxControlPlanes, maxWorkers int
	minRunningWorkers            int
	// When the last new control plane machine and the first new worker
	// machine were created.
	lastNewControlPlane, firstNewWorker time.Time
	samples                             int
}

func (m *rolloutMonitor) start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.stop, m.minRunningWorkers = cancel, 1<<30
	go func() {
		for ctx.Err() == nil {
			m.sample(ctx)
			time.Sleep(100 * time.Millisecond)
		}
	}()
}

func (m *rolloutMonitor) sample(ctx context.Context) {
	var machines clusterv1.MachineList
	if err := labClient(m.t).List(ctx, &machines, client.InNamespace(m.key.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: m.key.Name}); err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples++
	cp, w, running := 0, 0, 0
	for _, mc := range machines.Items {
		created := mc.CreationTimestamp.Time
		if !mc.DeletionTimestamp.IsZero() {
			// Surge and unavailability count the machines not being deleted.
			continue
		}
		if _, ok := mc.Labels[clusterv1.MachineControlPlaneLabel]; ok {
			cp++
			if mc.Spec.Version == "v1.36.3" && created.After(m.lastNewControlPlane) {
				m.lastNewControlPlane = created
			}
			continue
		}
		w++
		if mc.Status.Phase == string(clusterv1.MachinePhaseRunning) {
			running++
		}
		if mc.Spec.Version == "v1.36.3" && (m.firstNewWorker.IsZero() || created.Before(m.firstNewWorker)) {
			m.firstNewWorker = created
		}
	}
	m.maxControlPlanes, m.maxWorkers = max(m.maxControlPlanes, cp), max(m.maxWorkers, w)
	m.minRunningWorkers = min(m.minRunningWorkers, running)
}

// check asserts the rollout kept within one surge machine and no
// unavailable worker, and did the control plane before the workers.
func (m *rolloutMonitor) check(controlPlanes, workers int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		m.stop()
		m.mu.Lock()
		defer m.mu.Unlock()
		m.t.Logf("upgrade: %d samples, at most %d control plane and %d worker machines, at least %d Running workers",
			m.samples, m.maxControlPlanes, m.maxWorkers, m.minRunningWorkers)
		switch {
		case m.maxControlPlanes > controlPlanes+1:
			return fmt.Errorf("%d control plane machines at once: KCP rolls one at a time", m.maxControlPlanes)
		case m.maxWorkers > workers+1:
			return fmt.Errorf("%d worker machines at once, above max_surge 1", m.maxWorkers)
		case m.minRunningWorkers < workers:
			return fmt.Errorf("%d Running workers at a time, below max_unavailable 0", m.minRunningWorkers)
		case m.firstNewWorker.Before(m.lastNewControlPlane):
			return fmt.Errorf("a worker on the new version (%s) before the control plane finished (%s)", m.firstNewWorker, m.lastNewControlPlane)
		}
		return nil
	}
}
