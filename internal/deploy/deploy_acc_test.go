package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/terraform-capi/terraform-provider-capi/internal/crds"
	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
	"github.com/terraform-capi/terraform-provider-capi/internal/labtest"
)

var testLab *labtest.Lab

func TestMain(m *testing.M) {
	os.Exit(labtest.Main(m, func(l *labtest.Lab) { testLab = l }))
}

var (
	crdResource      = apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")
	providerResource = clusterctlv1.GroupVersion.WithResource("providers")
	clusterResource  = schema.GroupVersionResource{Group: "cluster.x-k8s.io", Version: "v1beta2", Resource: "clusters"}
)

// installer applies objects server-side as `kubectl apply --server-side`
// does.
type installer struct {
	dyn    dynamic.Interface
	mapper meta.ResettableRESTMapper
}

func (in installer) apply(ctx context.Context, objs []*unstructured.Unstructured, dryRun bool) error {
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		mapping, err := in.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s %s: %w", gvk.Kind, o.GetName(), err)
		}
		var ri dynamic.ResourceInterface = in.dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = in.dyn.Resource(mapping.Resource).Namespace(o.GetNamespace())
		}
		data, err := json.Marshal(o.Object)
		if err != nil {
			return err
		}
		opts := metav1.PatchOptions{FieldManager: "kubectl", Force: ptr.To(true)}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data, opts); err != nil {
			return fmt.Errorf("applying %s %s (dry run %v): %w", gvk.Kind, o.GetName(), dryRun, err)
		}
	}
	return nil
}

// install applies config/default in the order kubectl's users apply it in
// (CRDs, then cluster-scoped objects, then the namespaced ones), each group
// dry-run first.
func (in installer) install(ctx context.Context, objs []*unstructured.Unstructured) error {
	var crdObjs, cluster, namespaced []*unstructured.Unstructured
	for _, o := range objs {
		switch {
		case o.GetKind() == "CustomResourceDefinition":
			crdObjs = append(crdObjs, o)
		case o.GetNamespace() == "":
			cluster = append(cluster, o)
		default:
			namespaced = append(namespaced, o)
		}
	}
	for i, group := range [][]*unstructured.Unstructured{crdObjs, cluster, namespaced} {
		for _, dryRun := range []bool{true, false} {
			if err := in.apply(ctx, group, dryRun); err != nil {
				return err
			}
		}
		if i == 0 {
			for _, o := range crdObjs {
				if err := crds.WaitEstablished(ctx, in.dyn, o.GetName()); err != nil {
					return err
				}
			}
			in.mapper.Reset()
		}
	}
	return nil
}

// serviceAccountKubeconfig writes a copy of the lab's admin kubeconfig
// that impersonates the Deployment's ServiceAccount, so that the
// apiserver authorizes the manager's requests as the pod's.
func serviceAccountKubeconfig(t *testing.T, namespace, name string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(testLab.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cfg.AuthInfos {
		a.Impersonate = "system:serviceaccount:" + namespace + ":" + name
		a.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// managerBinary is $CAPI_MANAGER_BIN, or cmd/capi-manager built now.
func managerBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("CAPI_MANAGER_BIN"); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "capi-manager")
	build := exec.Command("go", "build", "-o", bin, "./cmd/capi-manager")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building capi-manager: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestAccManagerUnderItsRBAC installs config/default in the lab (whose
// apiserver authorizes with RBAC), runs capi-manager with the Deployment's
// arguments as the Deployment's ServiceAccount, and checks that it gets
// ready, leads, reconciles, reinstalls a stale CRD and is refused nothing;
// and that clusterctl finds the CRDs and the inventory it looks for.
func TestAccManagerUnderItsRBAC(t *testing.T) {
	if testLab == nil {
		t.Skip("needs the lab: TF_ACC=1 (make testacc)")
	}
	ctx := context.Background()
	admin, err := testLab.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(admin)
	cs := kubernetes.NewForConfigOrDie(admin)
	dc := discovery.NewDiscoveryClientForConfigOrDie(admin)
	in := installer{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}

	objs, err := Render(configDefault)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.install(ctx, objs); err != nil {
		t.Fatal(err)
	}
	var deployment *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			deployment = o
		}
	}
	namespace := deployment.GetNamespace()
	sa, _, _ := unstructured.NestedString(deployment.Object, "spec", "template", "spec", "serviceAccountName")
	containers, _, _ := unstructured.NestedSlice(deployment.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")

	// One CRD from an older manifest: the manager applies it again, under
	// its RBAC.
	ms, err := crds.Manifests(registry.CRDs()...)
	if err != nil {
		t.Fatal(err)
	}
	stale := ms[len(ms)-1]
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"old"}}}`, crds.DigestAnnotation)
	if _, err := dyn.Resource(crdResource).Patch(ctx, stale.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	// The manager with the Deployment's arguments, its ports on loopback.
	healthAddr := freeAddr(t)
	var managerArgs []string
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "metrics-bind-address":
			a = "--metrics-bind-address=" + freeAddr(t)
		case "health-probe-bind-address", "health-addr":
			a = "--" + name + "=" + healthAddr
		}
		managerArgs = append(managerArgs, a)
	}
	managerArgs = append(managerArgs, "--kubeconfig="+serviceAccountKubeconfig(t, namespace, sa))
	logPath := filepath.Join(t.TempDir(), "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(managerBinary(t), managerArgs...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "KUBECONFIG=") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, "POD_NAMESPACE="+namespace, "POD_NAME="+identity.ManagerName+"-test")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("manager log:\n%s", tail(log, 20000))
		}
	}()

	// Ready: its caches synced with what the ClusterRole lets it list and
	// watch.
	readyz := "http://" + healthAddr + "/readyz"
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-exited:
			stopped = true
			return false, fmt.Errorf("capi-manager exited: %v", err)
		default:
		}
		resp, err := http.Get(readyz)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("%s never answered 200: %v", readyz, err)
	}

	// It leads, on the Lease the provider looks for.
	leaseID := identity.ManagerLeaderElectionID
	var holder string
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := cs.CoordinationV1().Leases(namespace).Get(ctx, leaseID, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		holder = ptr.Deref(l.Spec.HolderIdentity, "")
		return holder != "", nil
	})
	if err != nil {
		t.Fatalf("Lease %s/%s has no holder: %v", namespace, leaseID, err)
	}

	// The stale CRD is current again, with clusterctl's label.
	got, err := dyn.Resource(crdResource).Get(ctx, stale.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := got.GetAnnotations()[crds.DigestAnnotation]; d != stale.Digest {
		t.Errorf("CRD %s digest %q after the manager started, want %q", stale.Name, d, stale.Digest)
	}

	// It reconciles: a Cluster of the provider's gets Cluster API's
	// finalizer, and goes when deleted.
	testNS := "deploy-test"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	cluster := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
		"metadata": map[string]any{"name": "deploy", "namespace": testNS,
			"labels": map[string]any{"cluster.x-k8s.io/watch-filter": identity.WatchFilterValue}},
		"spec": map[string]any{"paused": false},
	}}
	if _, err := dyn.Resource(clusterResource).Namespace(testNS).Create(ctx, cluster, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		c, err := dyn.Resource(clusterResource).Namespace(testNS).Get(ctx, "deploy", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return slices.Contains(c.GetFinalizers(), "cluster.cluster.x-k8s.io"), nil
	})
	if err != nil {
		t.Errorf("the Cluster never got Cluster API's finalizer: %v", err)
	}
	if err := dyn.Resource(clusterResource).Namespace(testNS).Delete(ctx, "deploy", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(clusterResource).Namespace(testNS).Get(ctx, "deploy", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Errorf("the deleted Cluster never went: %v", err)
	}

	// Refused nothing: a few more seconds of running, then no request in
	// its log was forbidden.
	time.Sleep(5 * time.Second)
	if lines := grep(t, logPath, "forbidden"); len(lines) > 0 {
		t.Errorf("the manager was refused requests under its RBAC:\n%s", strings.Join(lines, "\n"))
	}

	// Stopped, it exits within the Deployment's grace period and leaves
	// the Lease to the next leader.
	grace, _, _ := unstructured.NestedInt64(deployment.Object, "spec", "template", "spec", "terminationGracePeriodSeconds")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("capi-manager exited with %v after SIGTERM", err)
		}
	case <-time.After(time.Duration(grace) * time.Second):
		t.Errorf("capi-manager still runs %ds after SIGTERM (terminationGracePeriodSeconds)", grace)
	}
	if l, err := cs.CoordinationV1().Leases(namespace).Get(ctx, leaseID, metav1.GetOptions{}); err != nil {
		t.Error(err)
	} else if h := ptr.Deref(l.Spec.HolderIdentity, ""); h != "" {
		t.Errorf("Lease %s/%s still held by %s after the manager stopped", namespace, leaseID, h)
	}

	checkClusterctlDiscovery(ctx, t, dyn, ms, namespace)
}

// checkClusterctlDiscovery makes the queries clusterctl makes:
// `clusterctl move` takes the kinds to move from the CRDs labelled
// clusterctl.cluster.x-k8s.io (objectgraph.go, getCRDList) and compares
// the providers of the inventory (mover.go, checkTargetProviders); every
// command checks the inventory CRD's version (inventory.go) and the
// Cluster CRD's storage version, the contract (CheckCAPIContract).
func checkClusterctlDiscovery(ctx context.Context, t *testing.T, dyn dynamic.Interface, ms []crds.Manifest, namespace string) {
	t.Helper()
	list, err := dyn.Resource(crdResource).List(ctx, metav1.ListOptions{LabelSelector: clusterctlv1.ClusterctlLabel})
	if err != nil {
		t.Fatal(err)
	}
	labelled := map[string]map[string]string{}
	for _, c := range list.Items {
		labelled[c.GetName()] = c.GetLabels()
	}
	for _, m := range ms {
		labels, ok := labelled[m.Name]
		if !ok {
			t.Errorf("CRD %s has no %s label: clusterctl move would not move its objects", m.Name, clusterctlv1.ClusterctlLabel)
			continue
		}
		if labels["cluster.x-k8s.io/provider"] == "" {
			t.Errorf("CRD %s has no cluster.x-k8s.io/provider label", m.Name)
		}
	}
	if _, ok := labelled["providers.clusterctl.cluster.x-k8s.io"]; ok {
		t.Error("clusterctl's inventory CRD carries the provider CRDs' label")
	}

	inv, err := dyn.Resource(crdResource).Get(ctx, "providers.clusterctl.cluster.x-k8s.io", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("clusterctl's inventory CRD: %v", err)
	}
	versions, _, _ := unstructured.NestedSlice(inv.Object, "spec", "versions")
	if len(versions) == 0 || versions[0].(map[string]any)["name"] != clusterctlv1.GroupVersion.Version {
		t.Errorf("inventory CRD versions %v, clusterctl wants %s", versions, clusterctlv1.GroupVersion.Version)
	}
	clusters, err := dyn.Resource(crdResource).Get(ctx, "clusters.cluster.x-k8s.io", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	versions, _, _ = unstructured.NestedSlice(clusters.Object, "spec", "versions")
	for _, v := range versions {
		v := v.(map[string]any)
		if v["storage"] == true && v["name"] != "v1beta2" {
			t.Errorf("Cluster CRD stores %v, clusterctl %s's contract is v1beta2", v["name"], clusterctlv1.GroupVersion.Version)
		}
	}

	providers, err := dyn.Resource(providerResource).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range providers.Items {
		var p clusterctlv1.Provider
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
			t.Fatal(err)
		}
		if p.Namespace != namespace || p.Name != p.ManifestLabel() {
			t.Errorf("Provider %s/%s, want %s/%s", p.Namespace, p.Name, namespace, p.ManifestLabel())
		}
		if _, err := version.ParseSemantic(p.Version); err != nil {
			t.Errorf("Provider %s: version %q: %v", p.Name, p.Version, err)
		}
		names = append(names, p.InstanceName())
	}
	slices.Sort(names)
	want := []string{namespace + "/bootstrap-kubeadm", namespace + "/cluster-api", namespace + "/control-plane-kubeadm",
		namespace + "/infrastructure-terraform-capi-aws", namespace + "/infrastructure-terraform-capi-digitalocean"}
	if !slices.Equal(names, want) {
		t.Errorf("inventory %v, want %v", names, want)
	}
}

// grep returns the lines of a file that contain s, in any case.
func grep(t *testing.T, path, s string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(strings.ToLower(sc.Text()), strings.ToLower(s)) {
			out = append(out, sc.Text())
		}
	}
	return out
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
