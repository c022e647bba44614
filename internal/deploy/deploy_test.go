package deploy

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/version"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"

	"github.com/terraform-capi/terraform-provider-capi/internal/crds"
	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
)

// Paths from this package's directory.
var (
	configDefault = filepath.Join("..", "..", "config", "default")
	managerMain   = filepath.Join("..", "..", "cmd", "capi-manager", "main.go")
)

// Image is the repository of the Deployment's image, which
// config/default's images entry sets.
const Image = "ghcr.io/terraform-capi/capi-manager"

const inventoryCRD = "providers.clusterctl.cluster.x-k8s.io"

// rendered is config/default, by kind.
type rendered struct {
	all          []*unstructured.Unstructured
	crds         map[string]*unstructured.Unstructured
	providers    []clusterctlv1.Provider
	deployment   appsv1.Deployment
	clusterRoles map[string]rbacv1.ClusterRole
	crbs         []rbacv1.ClusterRoleBinding
	roles        map[string]rbacv1.Role
	roleBindings []rbacv1.RoleBinding
	sas          []corev1.ServiceAccount
	namespaces   []string
}

func render(t *testing.T) rendered {
	t.Helper()
	objs, err := Render(configDefault)
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{all: objs, crds: map[string]*unstructured.Unstructured{}, clusterRoles: map[string]rbacv1.ClusterRole{}, roles: map[string]rbacv1.Role{}}
	deployments := 0
	for _, o := range objs {
		into := func(v any) {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, v); err != nil {
				t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
			}
		}
		switch o.GetKind() {
		case "CustomResourceDefinition":
			r.crds[o.GetName()] = o
		case "Provider":
			var p clusterctlv1.Provider
			into(&p)
			r.providers = append(r.providers, p)
		case "Deployment":
			deployments++
			into(&r.deployment)
		case "ClusterRole":
			var v rbacv1.ClusterRole
			into(&v)
			r.clusterRoles[v.Name] = v
		case "ClusterRoleBinding":
			var v rbacv1.ClusterRoleBinding
			into(&v)
			r.crbs = append(r.crbs, v)
		case "Role":
			var v rbacv1.Role
			into(&v)
			r.roles[v.Name] = v
		case "RoleBinding":
			var v rbacv1.RoleBinding
			into(&v)
			r.roleBindings = append(r.roleBindings, v)
		case "ServiceAccount":
			var v corev1.ServiceAccount
			into(&v)
			r.sas = append(r.sas, v)
		case "Namespace":
			r.namespaces = append(r.namespaces, o.GetName())
		default:
			t.Errorf("unexpected %s %s in config/default", o.GetKind(), o.GetName())
		}
	}
	if deployments != 1 {
		t.Fatalf("config/default has %d Deployments, want 1", deployments)
	}
	return r
}

// flagDefaults reads the defaults of capi-manager's flags from its source:
// the calls fs.XxxVar(&f.field, "name", default, "usage").
func flagDefaults(t *testing.T) map[string]string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), managerMain, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	identityConsts := map[string]string{
		"ManagerLeaderElectionID": identity.ManagerLeaderElectionID,
		"ManagerNamespace":        identity.ManagerNamespace,
		"WatchFilterValue":        identity.WatchFilterValue,
	}
	units := map[string]time.Duration{"Millisecond": time.Millisecond, "Second": time.Second, "Minute": time.Minute}
	var value func(ast.Expr) (string, bool)
	value = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind == token.STRING {
				s, err := strconv.Unquote(e.Value)
				return s, err == nil
			}
			return e.Value, true
		case *ast.Ident:
			return e.Name, true
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok && x.Name == "identity" {
				v, ok := identityConsts[e.Sel.Name]
				return v, ok
			}
			if x, ok := e.X.(*ast.Ident); ok && x.Name == "time" {
				u, ok := units[e.Sel.Name]
				return u.String(), ok
			}
		case *ast.BinaryExpr:
			n, ok1 := value(e.X)
			u, ok2 := value(e.Y)
			count, err1 := strconv.Atoi(n)
			unit, err2 := time.ParseDuration(u)
			if e.Op == token.MUL && ok1 && ok2 && err1 == nil && err2 == nil {
				return (time.Duration(count) * unit).String(), true
			}
		}
		return "", false
	}
	out := map[string]string{}
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 4 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if x, isIdent := sel.X.(*ast.Ident); !ok || !isIdent || x.Name != "fs" || !strings.HasSuffix(sel.Sel.Name, "Var") {
			return true
		}
		name, ok1 := value(call.Args[1])
		def, ok2 := value(call.Args[2])
		if !ok1 || !ok2 {
			t.Fatalf("%s: cannot read the default of flag %s", managerMain, name)
		}
		out[name] = def
		return true
	})
	for _, f := range []string{"leader-elect", "leader-election-id", "metrics-bind-address", "health-probe-bind-address", "drain-timeout"} {
		if _, ok := out[f]; !ok {
			t.Fatalf("%s defines no flag --%s", managerMain, f)
		}
	}
	return out
}

// effectiveFlags are the manager's flags in the Deployment: its args over
// the binary's defaults.
func effectiveFlags(t *testing.T, c corev1.Container, defaults map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range defaults {
		out[k] = v
	}
	for _, a := range c.Args {
		name, val, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if _, ok := defaults[name]; !ok {
			t.Errorf("argument %q: capi-manager has no flag --%s", a, name)
			continue
		}
		if !hasValue {
			val = "true"
		}
		out[name] = val
		if name == "health-addr" || name == "health-probe-bind-address" {
			out["health-addr"], out["health-probe-bind-address"] = val, val
		}
	}
	return out
}

func port(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return int32(n)
}

func TestDeploymentMatchesTheManager(t *testing.T) {
	r := render(t)
	d := r.deployment
	if d.Name != identity.ManagerName || d.Namespace != identity.ManagerNamespace {
		t.Errorf("Deployment %s/%s, want %s/%s", d.Namespace, d.Name, identity.ManagerNamespace, identity.ManagerName)
	}
	if !slices.Contains(r.namespaces, identity.ManagerNamespace) {
		t.Errorf("config/default has no Namespace %s: %v", identity.ManagerNamespace, r.namespaces)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("replicas %v, want 1", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if repo, tag, ok := strings.Cut(c.Image, ":"); repo != Image || !ok || tag == "" {
		t.Errorf("image %q, want %s:TAG (set by config/default's images)", c.Image, Image)
	}

	flags := effectiveFlags(t, c, flagDefaults(t))
	if flags["leader-elect"] != "true" {
		t.Errorf("--leader-elect is %s", flags["leader-elect"])
	}
	if flags["leader-election-id"] != identity.ManagerLeaderElectionID {
		t.Errorf("--leader-election-id %q, want %q (what the provider looks for)", flags["leader-election-id"], identity.ManagerLeaderElectionID)
	}
	if v, ok := flags["leader-election-namespace"]; ok && v != "" {
		t.Errorf("--leader-election-namespace %q: the Lease belongs in the pod's namespace ($POD_NAMESPACE)", v)
	}
	var podNamespace bool
	for _, e := range c.Env {
		if e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace" {
			podNamespace = true
		}
	}
	if !podNamespace {
		t.Error("POD_NAMESPACE does not come from the downward API's metadata.namespace")
	}

	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if want := port(t, flags["metrics-bind-address"]); ports["metrics"] != want {
		t.Errorf("metrics port %d, the manager listens on %d (--metrics-bind-address %s)", ports["metrics"], want, flags["metrics-bind-address"])
	}
	if want := port(t, flags["health-probe-bind-address"]); ports["healthz"] != want {
		t.Errorf("healthz port %d, the manager listens on %d (--health-probe-bind-address %s)", ports["healthz"], want, flags["health-probe-bind-address"])
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe missing", name)
			return
		}
		if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "healthz" {
			t.Errorf("%s probe GET %s on port %s, want %s on healthz", name, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")

	drain, err := time.ParseDuration(flags["drain-timeout"])
	if err != nil {
		t.Fatal(err)
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= drain {
		t.Errorf("terminationGracePeriodSeconds %v is not longer than --drain-timeout %s", g, drain)
	}

	// Hardened as Cluster API's managers are.
	psc, sc := pod.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v: want runAsNonRoot and seccomp RuntimeDefault", psc)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container security context %+v: want a read-only root, no privilege escalation, every capability dropped", sc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("resource requests %v", c.Resources.Requests)
	}
	var credentials bool
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil && e.SecretRef.Name == identity.ManagerName+"-credentials" && e.SecretRef.Optional != nil && *e.SecretRef.Optional {
			credentials = true
		}
	}
	if !credentials {
		t.Errorf("no optional envFrom Secret %s-credentials: %+v", identity.ManagerName, c.EnvFrom)
	}

	// RBAC: the generated ClusterRole and the leader election Role, bound
	// to the pod's ServiceAccount.
	sa := pod.ServiceAccountName
	if !slices.ContainsFunc(r.sas, func(s corev1.ServiceAccount) bool { return s.Name == sa && s.Namespace == d.Namespace }) {
		t.Errorf("ServiceAccount %s/%s is not in config/default", d.Namespace, sa)
	}
	role, ok := r.clusterRoles[identity.ManagerName]
	if !ok || len(r.clusterRoles) != 1 {
		t.Fatalf("ClusterRoles %v, want the generated %s", keys(r.clusterRoles), identity.ManagerName)
	}
	subject := rbacv1.Subject{Kind: "ServiceAccount", Name: sa, Namespace: d.Namespace}
	if !slices.ContainsFunc(r.crbs, func(b rbacv1.ClusterRoleBinding) bool {
		return b.RoleRef.Kind == "ClusterRole" && b.RoleRef.Name == role.Name && slices.Contains(b.Subjects, subject)
	}) {
		t.Errorf("no ClusterRoleBinding of %s to %v", role.Name, subject)
	}
	if !allows(role.Rules, "coordination.k8s.io", "leases", "watch") || !allows(role.Rules, "apiextensions.k8s.io", "customresourcedefinitions", "patch") {
		t.Error("the ClusterRole grants no watch of Leases or patch of CRDs")
	}
	var leader bool
	for _, b := range r.roleBindings {
		rl, ok := r.roles[b.RoleRef.Name]
		if b.Namespace == d.Namespace && b.RoleRef.Kind == "Role" && ok && rl.Namespace == d.Namespace && slices.Contains(b.Subjects, subject) &&
			allows(rl.Rules, "coordination.k8s.io", "leases", "create") && allows(rl.Rules, "coordination.k8s.io", "leases", "update") &&
			allows(rl.Rules, "", "events", "create") {
			leader = true
		}
	}
	if !leader {
		t.Errorf("no Role in %s bound to %v for leader election (Leases, events)", d.Namespace, subject)
	}
}

func allows(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if (slices.Contains(r.APIGroups, group) || slices.Contains(r.APIGroups, "*")) &&
			(slices.Contains(r.Resources, resource) || slices.Contains(r.Resources, "*")) &&
			(slices.Contains(r.Verbs, verb) || slices.Contains(r.Verbs, "*")) {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestCRDsAreWhatTheManagerInstalls: config/crd holds exactly the CRDs that
// crds.Install applies (regenerate with config/generate.sh), and
// clusterctl's inventory CRD.
func TestCRDsAreWhatTheManagerInstalls(t *testing.T) {
	r := render(t)
	ms, err := crds.Manifests(registry.CRDs()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		got, ok := r.crds[m.Name]
		if !ok {
			t.Errorf("CRD %s is not in config/crd: run config/generate.sh", m.Name)
			continue
		}
		if !sameJSON(t, got.Object, m.Object.Object) {
			t.Errorf("CRD %s in config/crd differs from what the manager installs (digest %s there, %s installed): run config/generate.sh",
				m.Name, got.GetAnnotations()[crds.DigestAnnotation], m.Digest)
		}
		delete(r.crds, m.Name)
	}
	inv, ok := r.crds[inventoryCRD]
	if !ok {
		t.Fatalf("clusterctl's inventory CRD %s is not in config/crd", inventoryCRD)
	}
	delete(r.crds, inventoryCRD)
	for name := range r.crds {
		t.Errorf("CRD %s in config/crd is none the manager installs", name)
	}
	// As clusterctl's inventory client creates it: labelled core=inventory,
	// and not one of a provider's CRDs (whose kinds clusterctl move moves).
	labels := inv.GetLabels()
	if labels[clusterctlv1.ClusterctlCoreLabel] != clusterctlv1.ClusterctlCoreLabelInventoryValue {
		t.Errorf("%s labels %v, want %s=%s", inventoryCRD, labels, clusterctlv1.ClusterctlCoreLabel, clusterctlv1.ClusterctlCoreLabelInventoryValue)
	}
	if _, ok := labels[clusterctlv1.ClusterctlLabel]; ok {
		t.Errorf("%s carries %s: clusterctl move would take Providers for objects to move", inventoryCRD, clusterctlv1.ClusterctlLabel)
	}
	versions, _, _ := unstructured.NestedSlice(inv.Object, "spec", "versions")
	if len(versions) != 1 || versions[0].(map[string]any)["name"] != clusterctlv1.GroupVersion.Version {
		t.Errorf("%s versions %v, want %s (what clusterctl checks)", inventoryCRD, versions, clusterctlv1.GroupVersion.Version)
	}
}

// TestClusterctlInventory: every object carries clusterctl's labels, and
// the inventory has one Provider for each cluster.x-k8s.io/provider label
// of the CRDs, named and labelled as clusterctl names and labels the
// entries it creates, at a version clusterctl move can compare.
func TestClusterctlInventory(t *testing.T) {
	r := render(t)
	for _, o := range r.all {
		if o.GetName() == inventoryCRD {
			continue
		}
		labels := o.GetLabels()
		if v, ok := labels[clusterctlv1.ClusterctlLabel]; !ok || v != "" {
			t.Errorf("%s %s: labels %v, want %s empty", o.GetKind(), o.GetName(), labels, clusterctlv1.ClusterctlLabel)
		}
		if labels["cluster.x-k8s.io/provider"] == "" {
			t.Errorf("%s %s: no cluster.x-k8s.io/provider label", o.GetKind(), o.GetName())
		}
	}

	capiVersion := moduleVersion(t, "sigs.k8s.io/cluster-api")
	byLabel := map[string]clusterctlv1.Provider{}
	for _, p := range r.providers {
		label := p.ManifestLabel()
		if p.GetProviderType() == clusterctlv1.ProviderTypeUnknown {
			t.Errorf("Provider %s: type %q is none of clusterctl's", p.Name, p.Type)
		}
		if p.Name != label || p.Namespace != identity.ManagerNamespace {
			t.Errorf("Provider %s/%s, want %s/%s (clusterctl names an entry by its manifest label)", p.Namespace, p.Name, identity.ManagerNamespace, label)
		}
		if p.Labels["cluster.x-k8s.io/provider"] != label || p.Labels[clusterctlv1.ClusterctlCoreLabel] != clusterctlv1.ClusterctlCoreLabelInventoryValue {
			t.Errorf("Provider %s labels %v", p.Name, p.Labels)
		}
		if _, err := version.ParseSemantic(p.Version); err != nil {
			t.Errorf("Provider %s version %q: clusterctl move cannot compare it: %v", p.Name, p.Version, err)
		}
		if p.WatchedNamespace != "" {
			t.Errorf("Provider %s watches %q, the manager watches every namespace", p.Name, p.WatchedNamespace)
		}
		if _, dup := byLabel[label]; dup {
			t.Errorf("two Providers %s: clusterctl refuses several instances of one provider", label)
		}
		byLabel[label] = p
	}
	for _, label := range []string{"cluster-api", "bootstrap-kubeadm", "control-plane-kubeadm"} {
		if p, ok := byLabel[label]; ok && p.Version != capiVersion {
			t.Errorf("Provider %s at %s, the manager embeds Cluster API %s", label, p.Version, capiVersion)
		}
	}
	for name, crd := range r.crds {
		if name == inventoryCRD {
			continue
		}
		if label := crd.GetLabels()["cluster.x-k8s.io/provider"]; label != "" {
			if _, ok := byLabel[label]; !ok {
				t.Errorf("CRD %s is provider %s's, which the inventory lacks", name, label)
			}
		}
	}
	if len(byLabel) != 5 {
		t.Errorf("inventory %v, want core, kubeadm bootstrap and control plane, and the two clouds", keys(byLabel))
	}
}

// moduleVersion is the version of a module that go.mod requires.
func moduleVersion(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == path {
			return f[1]
		}
	}
	t.Fatalf("go.mod does not require %s", path)
	return ""
}

// sameJSON compares two objects as JSON (kustomize and sigs.k8s.io/yaml
// decode numbers to different Go types).
func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}
