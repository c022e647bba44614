package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/crds"
	"github.com/terraform-capi/terraform-provider-capi/internal/deploy"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
	"github.com/terraform-capi/terraform-provider-capi/internal/labtest"
)

// installInventory creates what config/default gives clusterctl to read
// in a management cluster: the manager's namespace, clusterctl's Provider
// CRD and the provider inventory. The lab has the other CRDs already.
func installInventory(t *testing.T, lab *labtest.Lab) {
	t.Helper()
	c, err := lab.Client(kube.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := deploy.Render(filepath.Join("..", "..", "config", "default"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var inventory []*unstructured.Unstructured
	for _, o := range objs {
		switch {
		case o.GetKind() == "Namespace",
			o.GetKind() == "CustomResourceDefinition" && o.GetName() == "providers.clusterctl.cluster.x-k8s.io":
			if err := c.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatalf("creating %s %s: %v", o.GetKind(), o.GetName(), err)
			}
		case o.GetKind() == "Provider":
			inventory = append(inventory, o)
		}
	}
	cfg, err := lab.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := crds.WaitEstablished(ctx, dynamic.NewForConfigOrDie(cfg), "providers.clusterctl.cluster.x-k8s.io"); err != nil {
		t.Fatalf("clusterctl's Provider CRD: %v", err)
	}
	if len(inventory) == 0 {
		t.Fatal("config/default has no clusterctl Provider objects")
	}
	for _, o := range inventory {
		// The CRD's REST mapping reaches the client's mapper lazily: retry
		// until it does.
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			err := c.Create(ctx, o.DeepCopy())
			return err == nil || apierrors.IsAlreadyExists(err), nil
		})
		if err != nil {
			t.Fatalf("creating Provider %s: %v", o.GetName(), err)
		}
	}
}

// clusterctl runs Cluster API's CLI with a configuration of its own (no
// provider repositories are needed to move or describe) and without its
// check for a newer release, which would call GitHub.
func clusterctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := labtest.ClusterctlBinary()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("clusterctl not found at %s (run `make clusterctl` or set CAPI_CLUSTERCTL_BIN): %v", bin, err)
	}
	home := t.TempDir()
	config := filepath.Join(home, "clusterctl.yaml")
	if err := os.WriteFile(config, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append(args, "--config", config)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "CLUSTERCTL_DISABLE_VERSIONCHECK=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("clusterctl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// checkNoClusterObjects checks that the management cluster c holds none of
// the cluster's Cluster API objects: clusterctl move deleted them from the
// source once the target had them.
func checkNoClusterObjects(c client.Client, key client.ObjectKey) error {
	ctx := context.Background()
	if err := c.Get(ctx, key, &clusterv1.Cluster{}); !kube.IsNotFound(err) {
		return fmt.Errorf("Cluster %s still in the source management cluster (%v)", key, err)
	}
	for _, list := range []client.ObjectList{&clusterv1.MachineList{}, &clusterv1.MachineDeploymentList{}, &clusterv1.MachineSetList{}} {
		if err := c.List(ctx, list, client.InNamespace(key.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name}); err != nil {
			return err
		}
		if n := len(mustExtract(list)); n != 0 {
			return fmt.Errorf("%d %T still in the source management cluster", n, list)
		}
	}
	return nil
}

// checkCreatedUIDs checks that the Cluster and the MachineDeployment record
// the UID they were created with, which their copies keep.
func checkCreatedUIDs(t *testing.T, key client.ObjectKey) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, obj := range []client.Object{&clusterv1.Cluster{}, &clusterv1.MachineDeployment{}} {
			k := key
			if _, ok := obj.(*clusterv1.MachineDeployment); ok {
				k.Name += "-workers"
			}
			if err := labClient(t).Get(context.Background(), k, obj); err != nil {
				return err
			}
			if got := obj.GetAnnotations()[createdUIDAnnotation]; got != string(obj.GetUID()) {
				return fmt.Errorf("%T %s: %s = %q, its UID %s", obj, k, createdUIDAnnotation, got, obj.GetUID())
			}
		}
		return nil
	}
}

// checkStateUID checks that the state records the UIDs of the objects
// now in testLab.
func checkStateUID(t *testing.T, key client.ObjectKey) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		c := &clusterv1.Cluster{}
		md := &clusterv1.MachineDeployment{}
		if err := labClient(t).Get(context.Background(), key, c); err != nil {
			return err
		}
		if err := labClient(t).Get(context.Background(), client.ObjectKey{Namespace: key.Namespace, Name: key.Name + "-workers"}, md); err != nil {
			return err
		}
		return resource.ComposeTestCheckFunc(
			resource.TestCheckResourceAttr(lifecycleCluster, "uid", string(c.UID)),
			resource.TestCheckResourceAttr(lifecycleWorkers, "uid", string(md.UID)),
		)(s)
	}
}

// A cluster moved with clusterctl from one management cluster to another
// that uses the same cloud account, through the real terraform CLI and
// clusterctl built at the Cluster API release the provider embeds: created
// in embedded mode on the first (a lab of the test's own), moved (clusterctl's own checks pass on
// the inventory config/default installs: provisioning complete, the
// target's providers as new as the source's), the second's in-cluster
// manager rebuilds every status clusterctl does not copy without a cloud
// resource more, the state follows the copies (new UIDs, the same objects:
// the plan is empty), an import into a new state plans no change, and the
// manager converges a scale-up there with one instance per machine.
func TestAccInCluster_clusterctlMove(t *testing.T) {
	// A source of its own: clusterctl moves a whole namespace, and refuses
	// to while any cluster in it is still provisioning.
	source := startTestLab(t)
	useLab(t, source)
	useLabAWS(t)
	sourceClient := labClient(t)
	installInventory(t, source)
	target := startTargetLab(t, source)
	name := testClusterName()
	key := client.ObjectKey{Namespace: "default", Name: name}
	var before map[string]int
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
					checkCreatedUIDs(t, key),
					func(*terraform.State) (err error) { before, err = cloudResourceCounts(); return err },
				),
			},
			{
				PreConfig: func() {
					endApply()
					objectsBefore := clusterObjectCounts(t, sourceClient, key)
					moveCluster(t, source, target, key)
					if err := checkNoClusterObjects(sourceClient, key); err != nil {
						t.Fatal(err)
					}
					useLab(t, target)
					waitSettled(t, key, 3, 2)
					if objectsAfter := clusterObjectCounts(t, labClient(t), key); fmt.Sprint(objectsAfter) != fmt.Sprint(objectsBefore) {
						t.Fatalf("the cluster's objects by kind: %v in the target, %v in the source before the move", objectsAfter, objectsBefore)
					}
					after, err := cloudResourceCounts()
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(after) != fmt.Sprint(before) {
						t.Fatalf("live cloud resources by kind %v after the move, %v before: the manager made or removed some", after, before)
					}
					if err := checkOneInstancePerMachine(t, key)(nil); err != nil {
						t.Fatal(err)
					}
					out, err := clusterctl(t, "describe", "cluster", name, "-n", key.Namespace, "--kubeconfig", target.Kubeconfig)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("clusterctl describe on the target:\n%s", out)
				},
				// The state follows the copies: the plan refreshed against
				// the target is empty, and records their UIDs.
				Config: reconcileMode("in_cluster") + haClusterConfig(name, "v1.36.0", 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					expectEmptyPlanNamingChanges(),
				}},
				Check: checkStateUID(t, key),
			},
			{
				// Imported into a new state, as a user takes over a moved
				// cluster: nothing to change.
				PreConfig:        endApply,
				Config:           reconcileMode("in_cluster") + haClusterConfig(name, "v1.36.0", 2),
				ResourceName:     lifecycleCluster,
				ImportState:      true,
				ImportStateKind:  resource.ImportBlockWithID,
				ImportStateId:    key.String(),
				ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{expectEmptyPlanNamingChanges()}},
			},
			{
				PreConfig:        endApply,
				Config:           reconcileMode("in_cluster") + haClusterConfig(name, "v1.36.0", 2),
				ResourceName:     lifecycleWorkers,
				ImportState:      true,
				ImportStateKind:  resource.ImportBlockWithID,
				ImportStateId:    key.String() + "-workers",
				ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{expectEmptyPlanNamingChanges()}},
			},
			{
				// The target's manager reconciles the moved cluster.
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
		},
	})
}

// startTargetLab starts a second management plane beside source, using
// source's cloud simulators, with the in-cluster manager and clusterctl's
// inventory: what clusterctl init and config/default make of a new
// management cluster.
func startTargetLab(t *testing.T, source *labtest.Lab) *labtest.Lab {
	t.Helper()
	flags, err := labtest.ManagerFlags()
	if err != nil {
		t.Fatal(err)
	}
	target := startTestLab(t, append(flags, source.SharingClouds()...)...)
	c, err := target.Client(kube.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	// The manager installs the Cluster API CRDs once it runs: clusterctl
	// move needs them on the target.
	err = wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		return c.List(ctx, &clusterv1.ClusterList{}) == nil, nil
	})
	if err != nil {
		t.Fatalf("the target's manager installed no Cluster CRD: %v\n%s", err, tailLines(target.ManagerLog(), 40))
	}
	installInventory(t, target)
	return target
}

// moveCluster moves the namespace of key from one lab to the other with
// clusterctl move.
func moveCluster(t *testing.T, from, to *labtest.Lab, key client.ObjectKey) {
	t.Helper()
	began := time.Now()
	out, err := clusterctl(t, "move", "--kubeconfig", from.Kubeconfig, "--to-kubeconfig", to.Kubeconfig, "-n", key.Namespace, "-v", "1")
	if err != nil {
		var clusters clusterv1.ClusterList
		if c, cerr := from.Client(kube.Scheme); cerr == nil && c.List(context.Background(), &clusters, client.InNamespace(key.Namespace)) == nil {
			for _, c := range clusters.Items {
				t.Logf("Cluster %s in the source: infrastructure provisioned %v, deleting %v", c.Name,
					c.Status.Initialization.InfrastructureProvisioned != nil && *c.Status.Initialization.InfrastructureProvisioned, !c.DeletionTimestamp.IsZero())
			}
		}
		t.Fatal(err)
	}
	t.Logf("clusterctl move took %s:\n%s", time.Since(began).Round(100*time.Millisecond), out)
}

// waitSettled waits until the cluster's statuses are settled in testLab.
func waitSettled(t *testing.T, key client.ObjectKey, controlPlanes, workers int32) {
	t.Helper()
	began := time.Now()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, 5*time.Minute, true, func(context.Context) (bool, error) {
		last = checkStatusesSettled(t, key, controlPlanes, workers)(nil)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("statuses not settled: %v (%v)\n%s", last, err, tailLines(testLab.ManagerLog(), 60))
	}
	t.Logf("statuses settled %s after the move", time.Since(began).Round(time.Second))
}

// cloudResourceCounts counts the live simulated AWS resources by kind.
func cloudResourceCounts() (map[string]int, error) {
	live, err := testLab.AWSResources()
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, r := range live {
		if r.Kind == "instance" && (r.State == "terminated" || r.State == "shutting-down") {
			continue
		}
		counts[r.Kind]++
	}
	if len(counts) == 0 {
		return nil, errors.New("no live simulated resources")
	}
	return counts, nil
}

// clusterObjectCounts counts the cluster's objects by kind in a
// management cluster: everything Terraform made and Cluster API derived.
func clusterObjectCounts(t *testing.T, c client.Client, key client.ObjectKey) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, list := range []client.ObjectList{&clusterv1.ClusterList{}, &controlplanev1.KubeadmControlPlaneList{}, &clusterv1.MachineList{},
		&infrav1.AWSClusterList{}, &infrav1.AWSMachineList{}, &infrav1.AWSMachineTemplateList{},
		&clusterv1.MachineDeploymentList{}, &clusterv1.MachineSetList{}, &clusterv1.MachineHealthCheckList{},
		&bootstrapv1.KubeadmConfigTemplateList{}, &bootstrapv1.KubeadmConfigList{},
		&addonsv1.ClusterResourceSetList{}, &corev1.ConfigMapList{}, &corev1.SecretList{}} {
		if err := c.List(context.Background(), list, client.InNamespace(key.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: key.Name}); err != nil {
			t.Fatal(err)
		}
		counts[strings.TrimSuffix(fmt.Sprintf("%T", list), "List")] = len(mustExtract(list))
	}
	return counts
}
