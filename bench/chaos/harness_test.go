//go:build chaos

package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/labtest"
)

// The suite's lab, random source and table.
var (
	lab    *labtest.Lab
	kube   client.Client
	random *rand.Rand
	table  results
	root   string
)

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	root = filepath.Join(filepath.Dir(file), "..", "..")
	seed := envInt("CHAOS_SEED", 1)
	random = rand.New(rand.NewPCG(uint64(seed), 0))
	var err error
	// Boots of a few seconds, health checks at a tenth of real time: the
	// moments a kill lands on spread over every phase of an apply.
	lab, err = labtest.Start("--boot-delay", "3s", "--health-check-time-scale", "0.1")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The lab's endpoints and placeholder credentials, for terraform and
	// for the suite's own AWS calls (cloud.NewClients reads them).
	env, err := lab.Env()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	scheme, err := engine.Scheme(aws.Provider{})
	if err == nil {
		kube, err = lab.Client(scheme)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	fmt.Printf("\nchaos suite, seed %d\n%s", seed, table.String())
	if bad := table.failed(); bad != "" {
		fmt.Println("FAIL:", bad)
		code = 1
	}
	if err := lab.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// workspace is a Terraform working directory on the lab, with the provider
// that `make install` installs.
type workspace struct {
	dir string
	env []string
}

func newWorkspace(t *testing.T, config string) *workspace {
	t.Helper()
	cliConfig := filepath.Join(root, "bin", "terraformrc")
	if _, err := os.Stat(cliConfig); err != nil {
		t.Fatalf("run `make install` first: %v", err)
	}
	w := &workspace{dir: t.TempDir(), env: append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+cliConfig, "KUBE_CONFIG_PATH="+lab.Kubeconfig, "TF_IN_AUTOMATION=1")}
	w.write(t, config)
	if out, err := w.run(context.Background(), "init", "-input=false"); err != nil {
		t.Fatalf("terraform init: %v\n%s", err, out)
	}
	return w
}

func (w *workspace) write(t *testing.T, config string) {
	t.Helper()
	cfg := "terraform {\n  required_providers {\n    capi = { source = \"terraform-capi/capi\" }\n  }\n}\nprovider \"capi\" {}\n" + config
	if err := os.WriteFile(filepath.Join(w.dir, "main.tf"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func terraformBinary() string {
	if tf := os.Getenv("TF_ACC_TERRAFORM_PATH"); tf != "" {
		return tf
	}
	return "terraform"
}

// command is terraform args in the workspace, in a process group of its
// own: a kill takes the provider with it.
func (w *workspace) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, terraformBinary(), append(args, "-no-color")...)
	cmd.Dir, cmd.Env = w.dir, w.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

func (w *workspace) run(ctx context.Context, args ...string) (string, error) {
	out, err := w.command(ctx, args...).CombinedOutput()
	return string(out), err
}

func (w *workspace) apply(ctx context.Context) (string, error) {
	return w.run(ctx, "apply", "-auto-approve", "-input=false")
}

func (w *workspace) destroy(ctx context.Context) (string, error) {
	return w.run(ctx, "destroy", "-auto-approve", "-input=false")
}

// planChanges runs a plan and says whether it has changes.
func (w *workspace) planChanges(ctx context.Context) (bool, string, error) {
	out, err := w.run(ctx, "plan", "-detailed-exitcode", "-input=false")
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 {
		return true, out, nil
	}
	return false, out, err
}

// killedAfter starts terraform args and SIGKILLs it and the provider after
// d, unless it ended before. It says whether the kill landed.
func (w *workspace) killedAfter(d time.Duration, args ...string) (bool, string) {
	cmd := w.command(context.Background(), args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return false, err.Error()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return false, out.String()
	case <-time.After(d):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return true, out.String()
	}
}

// tail is the last n bytes of a command's output, for a failure message.
func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// instanceCount is what the cloud holds for a cluster's machines.
type instanceCount struct {
	// duplicates are live instances beyond the first of a machine.
	duplicates int
	// orphans are live instances of the cluster that no machine owns.
	orphans int
	// missing are machines with no live instance.
	missing int
}

// countInstances compares the cluster's live instances with its Machines:
// an instance is a machine's when the machine's provider ID names it.
// Instances still shutting down are not live.
func countInstances(ctx context.Context, cluster string) (instanceCount, error) {
	var machines clusterv1.MachineList
	if err := kube.List(ctx, &machines, client.InNamespace("default"), client.MatchingLabels{clusterv1.ClusterNameLabel: cluster}); err != nil {
		return instanceCount{}, err
	}
	owner := cloud.Cluster{Namespace: "default", Name: cluster}.OwnerTag()
	resources, err := lab.AWSResources()
	if err != nil {
		return instanceCount{}, err
	}
	byMachine := map[string][]string{}
	var c instanceCount
	for _, r := range resources {
		if r.Kind != "instance" || r.Tags[owner] == "" || r.State == "shutting-down" || r.State == "terminated" {
			continue
		}
		byMachine[r.Tags[cloud.MachineTag]] = append(byMachine[r.Tags[cloud.MachineTag]], r.ID)
	}
	for _, m := range machines.Items {
		ids := byMachine[m.Name]
		delete(byMachine, m.Name)
		switch {
		case len(ids) == 0:
			c.missing++
		case len(ids) > 1:
			c.duplicates += len(ids) - 1
		}
		if len(ids) > 0 && m.Spec.ProviderID != "" && !slices.ContainsFunc(ids, func(id string) bool { return strings.HasSuffix(m.Spec.ProviderID, "/"+id) }) {
			c.orphans += len(ids)
		}
	}
	for _, ids := range byMachine {
		c.orphans += len(ids)
	}
	return c, nil
}

// settledInstances waits up to a minute for the cloud to match the
// machines (a replaced machine's instance may still be terminating) and
// returns the last count.
func settledInstances(ctx context.Context, cluster string) (instanceCount, error) {
	var c instanceCount
	err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		c, err = countInstances(ctx, cluster)
		return err == nil && c == instanceCount{}, err
	})
	if wait.Interrupted(err) {
		err = nil
	}
	return c, err
}

// leaks counts what is left once every cluster is destroyed: simulated
// cloud resources and Cluster API objects of any cluster. It waits for the
// garbage collector up to a minute.
func leaks(ctx context.Context) (int, string, error) {
	var n int
	var what string
	err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		resources, err := lab.AWSResources()
		if err != nil {
			return false, err
		}
		n, what = len(resources), ""
		kinds := map[string]int{}
		for _, r := range resources {
			kinds[r.Kind]++
		}
		for _, list := range []client.ObjectList{&clusterv1.ClusterList{}, &controlplanev1.KubeadmControlPlaneList{}, &clusterv1.MachineList{},
			&clusterv1.MachineDeploymentList{}, &clusterv1.MachineSetList{}, &clusterv1.MachineHealthCheckList{},
			&infrav1.AWSClusterList{}, &infrav1.AWSMachineList{}, &infrav1.AWSMachineTemplateList{},
			&bootstrapv1.KubeadmConfigList{}, &bootstrapv1.KubeadmConfigTemplateList{},
			&addonsv1.ClusterResourceSetList{}, &addonsv1.ClusterResourceSetBindingList{}} {
			if err := kube.List(ctx, list, client.InNamespace("default")); err != nil {
				return false, err
			}
			if items := meta.LenList(list); items > 0 {
				kinds[strings.TrimSuffix(fmt.Sprintf("%T", list)[1:], "List")] += items
				n += items
			}
		}
		var secrets corev1.SecretList
		if err := kube.List(ctx, &secrets, client.InNamespace("default"), client.HasLabels{clusterv1.ClusterNameLabel}); err != nil {
			return false, err
		}
		if len(secrets.Items) > 0 {
			kinds["Secret"] += len(secrets.Items)
			n += len(secrets.Items)
		}
		what = fmt.Sprint(kinds)
		return n == 0, nil
	})
	if wait.Interrupted(err) {
		err = nil
	}
	return n, what, err
}

// row is a scenario's line of the table.
type row struct {
	scenario   string
	runs       int
	converged  int
	duplicates int
	orphans    int
	leaks      int
	// drift is how many drifts were made and how many the next apply
	// repaired; zero for scenarios without drift.
	drift, repaired int
	converge        []time.Duration
	notes           []string
}

func (r *row) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// add records a run's instance count.
func (r *row) add(c instanceCount) {
	r.duplicates += c.duplicates
	r.orphans += c.orphans
}

type results struct {
	mu   sync.Mutex
	rows []*row
}

func (rs *results) add(r *row) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.rows = append(rs.rows, r)
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func (rs *results) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %-22s | %4s | %9s | %10s | %7s | %5s | %14s | %17s |\n", "scenario", "runs", "converged", "duplicates", "orphans",
		"leaks", "drift repaired", "median converge")
	fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", strings.Repeat("-", 22), "----", strings.Repeat("-", 9),
		strings.Repeat("-", 10), strings.Repeat("-", 7), "-----", strings.Repeat("-", 14), strings.Repeat("-", 17))
	for _, r := range rs.rows {
		drift := "-"
		if r.drift > 0 {
			drift = fmt.Sprintf("%d / %d", r.repaired, r.drift)
		}
		fmt.Fprintf(&b, "| %-22s | %4d | %9d | %10d | %7d | %5d | %14s | %17s |\n", r.scenario, r.runs, r.converged, r.duplicates, r.orphans,
			r.leaks, drift, median(r.converge).Round(100*time.Millisecond))
	}
	for _, r := range rs.rows {
		for _, n := range r.notes {
			fmt.Fprintf(&b, "  %s: %s\n", r.scenario, n)
		}
	}
	return b.String()
}

// failed names the rows with a run that did not converge, a duplicate, an
// orphan, a leak or an unrepaired drift.
func (rs *results) failed() string {
	var bad []string
	for _, r := range rs.rows {
		if r.converged < r.runs || r.duplicates+r.orphans+r.leaks > 0 || r.repaired < r.drift {
			bad = append(bad, r.scenario)
		}
	}
	if len(rs.rows) == 0 {
		return "no scenario ran"
	}
	return strings.Join(bad, ", ")
}
