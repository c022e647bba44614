//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

// clusterConfig is a cluster of cp control plane machines in two zones
// and a deployment of workers, with the quickstart's CNI.
func clusterConfig(name string, cp, workers int) string {
	return fmt.Sprintf(`
resource "capi_cluster" "chaos" {
  name = %[1]q
  aws = {
    region             = "us-east-1"
    availability_zones = ["us-east-1a", "us-east-1b"]
  }
  control_plane = {
    version  = "v1.36.0"
    replicas = %[2]d
    machine  = { instance_type = "t3.large" }
  }
  addons = { cni = { manifests = file(%[4]q) } }
}

resource "capi_machine_deployment" "workers" {
  cluster  = capi_cluster.chaos.name
  name     = "%[1]s-workers"
  replicas = %[3]d
  version  = "v1.36.0"
  aws      = { instance_type = "t3.medium" }
  # The lab's nodes turn unreachable 5 s after their instance goes.
  health_check = { unhealthy_timeout = "30s" }
}
`, name, cp, workers, filepath.Join(root, "examples", "quickstart", "cni.yaml"))
}

// converge applies until the apply succeeds, at most three times, and
// records the time of the successful one. It says whether the first did:
// only that counts as converged; the others let the scenario go on.
func converge(t *testing.T, r *row, w *workspace, what string) bool {
	t.Helper()
	for attempt := 1; attempt <= 3; attempt++ {
		start := time.Now()
		out, err := w.apply(context.Background())
		if err == nil {
			r.converge = append(r.converge, time.Since(start))
			if attempt > 1 {
				r.note("%s: converged on apply %d", what, attempt)
			}
			return attempt == 1
		}
		t.Logf("%s: apply %d failed: %v\n%s", what, attempt, err, tail(out, 3000))
		r.note("%s: apply %d failed: %s", what, attempt, lastError(out))
	}
	return false
}

// destroyAll destroys the workspace's resources and counts the leaks.
func destroyAll(t *testing.T, r *row, w *workspace) {
	t.Helper()
	ctx := context.Background()
	var out string
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		if out, err = w.destroy(ctx); err == nil {
			break
		}
		t.Logf("destroy %d failed: %v\n%s", attempt, err, tail(out, 3000))
		r.note("destroy %d failed: %s", attempt, lastError(out))
	}
	countLeaks(t, r, "destroy")
}

// countLeaks records what is left once every cluster is destroyed (see
// leaks), after what.
func countLeaks(t *testing.T, r *row, after string) {
	t.Helper()
	n, what, err := leaks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		r.note("left after %s: %s", after, what)
	}
	r.leaks += n
}

// lastError is the first line of the last "Error:" of terraform's output.
func lastError(out string) string {
	const marker = "Error: "
	i := strings.LastIndex(out, marker)
	if i < 0 {
		return tail(out, 200)
	}
	line, _, _ := strings.Cut(out[i+len(marker):], "\n")
	return line
}

// checkInstances records the cluster's duplicates and orphans.
func checkInstances(t *testing.T, r *row, cluster, when string) {
	t.Helper()
	c, err := settledInstances(context.Background(), cluster)
	if err != nil {
		t.Fatal(err)
	}
	if c != (instanceCount{}) {
		r.note("%s: %d duplicates, %d orphans, %d machines without an instance", when, c.duplicates, c.orphans, c.missing)
	}
	r.add(c)
}

// R1: a fifth of every AWS call fails (throttling and server errors on
// every action, capacity errors on RunInstances) while an HA cluster
// with workers is applied and destroyed.
func TestR1Faults(t *testing.T) {
	r := &row{scenario: "R1 faults (AWS, 20 %)", runs: 1}
	table.add(r)
	name := "chaos-faults"
	w := newWorkspace(t, clusterConfig(name, 3, 2))
	faults := []map[string]any{
		{"action": "*", "rate": 0.1, "error": "throttling"},
		{"action": "*", "rate": 0.1, "error": "server"},
		{"action": "RunInstances", "rate": 0.2, "error": "capacity"},
	}
	if err := lab.SetAWSFaults(faults); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.SetAWSFaults(nil) })
	before, err := lab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	if converge(t, r, w, "apply") {
		r.converged++
	}
	checkInstances(t, r, name, "after the apply")
	destroyAll(t, r, w)
	after, err := lab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for k, v := range after {
		calls += v - before[k]
	}
	r.note("%d AWS calls made under the faults", calls)
}

// R2: terraform and the provider are SIGKILLed at seeded random moments
// of an apply (CHAOS_KILLS times) and of a destroy (CHAOS_DESTROY_KILLS):
// each time the next apply (or destroy) converges, with no duplicate and
// no orphan, and destroy leaves nothing.
func TestR2Kills(t *testing.T) {
	kills, destroyKills := envInt("CHAOS_KILLS", 20), envInt("CHAOS_DESTROY_KILLS", 5)
	r := &row{scenario: "R2 kills", runs: kills + destroyKills}
	table.add(r)
	name := "chaos-kills"
	w := newWorkspace(t, clusterConfig(name, 1, 1))
	ctx := context.Background()

	// An apply and a destroy left alone say how long each takes; the kills
	// land anywhere in them.
	start := time.Now()
	if out, err := w.apply(ctx); err != nil {
		t.Fatalf("the first apply: %v\n%s", err, tail(out, 3000))
	}
	applyTime := time.Since(start)
	start = time.Now()
	if out, err := w.destroy(ctx); err != nil {
		t.Fatalf("the first destroy: %v\n%s", err, tail(out, 3000))
	}
	destroyTime := time.Since(start)
	r.note("an apply takes %s, a destroy %s", applyTime.Round(time.Second), destroyTime.Round(time.Second))

	for i := 1; i <= kills; i++ {
		at := time.Duration(random.Int64N(int64(applyTime)))
		killed, _ := w.killedAfter(at, "apply", "-auto-approve", "-input=false")
		what := fmt.Sprintf("apply killed at %s", at.Round(100*time.Millisecond))
		if !killed {
			what = fmt.Sprintf("apply (ended before its kill at %s)", at.Round(100*time.Millisecond))
		}
		t.Log(what)
		if converge(t, r, w, what) {
			r.converged++
		}
		checkInstances(t, r, name, what)
		if out, err := w.destroy(ctx); err != nil {
			t.Logf("destroy after %s: %v\n%s", what, err, tail(out, 3000))
			r.note("destroy after %s failed: %s", what, lastError(out))
		}
	}
	for i := 1; i <= destroyKills; i++ {
		if out, err := w.apply(ctx); err != nil {
			t.Fatalf("apply before a killed destroy: %v\n%s", err, tail(out, 3000))
		}
		at := time.Duration(random.Int64N(int64(destroyTime)))
		killed, _ := w.killedAfter(at, "destroy", "-auto-approve", "-input=false")
		what := fmt.Sprintf("destroy killed at %s", at.Round(100*time.Millisecond))
		if !killed {
			what = fmt.Sprintf("destroy (ended before its kill at %s)", at.Round(100*time.Millisecond))
		}
		t.Log(what)
		// The apply after a killed destroy converges the cluster again.
		if converge(t, r, w, "apply after "+what) {
			r.converged++
		}
		checkInstances(t, r, name, what)
		if out, err := w.destroy(ctx); err != nil {
			t.Logf("destroy after %s: %v\n%s", what, err, tail(out, 3000))
			r.note("destroy after %s failed: %s", what, lastError(out))
		}
	}
	destroyAll(t, r, w)
}

// R6: two states that declare one cluster, applied at once: one creates
// it, the other waits for the cluster's Lease and is then refused with a
// message that says the cluster belongs to another state. Then five
// clusters applied at once, each by its own state: all converge, each
// with one instance per machine and none of another's.
func TestR6Concurrency(t *testing.T) {
	r := &row{scenario: "R6 concurrent applies", runs: 2 + 5}
	table.add(r)
	ctx := context.Background()

	name := "chaos-twice"
	first, second := newWorkspace(t, clusterConfig(name, 1, 1)), newWorkspace(t, clusterConfig(name, 1, 1))
	type result struct {
		out string
		err error
		at  time.Duration
	}
	results := make([]result, 2)
	var wg sync.WaitGroup
	start := time.Now()
	for i, w := range []*workspace{first, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := w.apply(ctx)
			results[i] = result{out, err, time.Since(start)}
		}()
	}
	wg.Wait()
	var winner, loser *workspace
	for i, res := range results {
		switch {
		case res.err == nil && winner == nil:
			winner = []*workspace{first, second}[i]
			r.converged++
			r.converge = append(r.converge, res.at)
		case res.err != nil && refusedAsAnotherStates(res.out):
			loser = []*workspace{first, second}[i]
			r.converged++ // refused clearly, as it should be
			r.note("the second apply of one cluster ended after %s: %s", res.at.Round(time.Second), lastError(res.out))
		default:
			t.Logf("apply %d: %v\n%s", i, res.err, tail(res.out, 3000))
			r.note("apply %d of one cluster: %s", i, lastError(res.out))
		}
	}
	checkInstances(t, r, name, "two applies of one cluster")
	if loser != nil {
		// Its state holds nothing; its destroy has nothing to do.
		if out, err := loser.destroy(ctx); err != nil {
			r.note("destroy of the refused state failed: %s", lastError(out))
		}
	}
	if winner != nil {
		destroyAll(t, r, winner)
	}

	var ws []*workspace
	for i := range 5 {
		ws = append(ws, newWorkspace(t, clusterConfig(fmt.Sprintf("chaos-five-%d", i), 1, 1)))
	}
	errs := make([]error, len(ws))
	start = time.Now()
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out string
			out, errs[i] = w.apply(ctx)
			if errs[i] != nil {
				t.Logf("cluster %d: %v\n%s", i, errs[i], tail(out, 3000))
				r.note("cluster %d: %s", i, lastError(out))
			}
		}()
	}
	wg.Wait()
	r.converge = append(r.converge, time.Since(start))
	r.note("five clusters applied at once in %s", time.Since(start).Round(time.Second))
	for i, err := range errs {
		if err == nil {
			r.converged++
		}
		checkInstances(t, r, fmt.Sprintf("chaos-five-%d", i), fmt.Sprintf("cluster %d of five", i))
	}
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := w.destroy(ctx); err != nil {
				t.Logf("destroy of cluster %d: %v\n%s", i, err, tail(out, 3000))
				r.note("destroy of cluster %d failed: %s", i, lastError(out))
			}
		}()
	}
	wg.Wait()
	countLeaks(t, r, "the five destroys")
}

// refusedAsAnotherStates says whether terraform's output is the refusal of
// a cluster that another state holds or creates.
func refusedAsAnotherStates(out string) bool {
	return strings.Contains(out, "already exists in another Terraform state") || strings.Contains(out, "is being applied by")
}

// R3: a converged cluster drifts out of band, one change at a time: a
// worker's instance terminated with EC2, the deployment's replicas edited
// in the management cluster, then the MachineDeployment deleted there. Each shows in the next plan, and the
// apply after it repairs it: the replicas the configuration says, each
// machine with one instance.
func TestR3Drift(t *testing.T) {
	r := &row{scenario: "R3 drift", runs: 1}
	table.add(r)
	ctx := context.Background()
	name := "chaos-drift"
	w := newWorkspace(t, clusterConfig(name, 1, 1))
	if converge(t, r, w, "apply") {
		r.converged++
	}
	key := client.ObjectKey{Namespace: "default", Name: name + "-workers"}
	drifts := []struct {
		what  string
		drift func() error
		// within is how long the plan may take to show it: a terminated
		// instance's node turns unreachable after the node monitor's
		// grace period.
		within time.Duration
	}{
		{"a worker's instance terminated", func() error {
			var machines clusterv1.MachineList
			if err := kube.List(ctx, &machines, client.InNamespace(key.Namespace),
				client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: key.Name}); err != nil {
				return err
			}
			if len(machines.Items) == 0 || machines.Items[0].Spec.ProviderID == "" {
				return fmt.Errorf("no worker with an instance")
			}
			id := machines.Items[0].Spec.ProviderID[strings.LastIndex(machines.Items[0].Spec.ProviderID, "/")+1:]
			clients, err := cloud.NewClients(ctx, "us-east-1", cloud.Settings{})
			if err != nil {
				return err
			}
			_, err = clients.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
			return err
		}, time.Minute},
		{"replicas edited from 1 to 3", func() error {
			md := &clusterv1.MachineDeployment{}
			if err := kube.Get(ctx, key, md); err != nil {
				return err
			}
			before := md.DeepCopy()
			md.Spec.Replicas = ptr.To[int32](3)
			return kube.Patch(ctx, md, client.MergeFrom(before))
		}, 0},
		{"MachineDeployment deleted", func() error {
			return kube.Delete(ctx, &clusterv1.MachineDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}})
		}, 0},
	}
	for _, d := range drifts {
		r.drift++
		if err := d.drift(); err != nil {
			t.Fatalf("%s: %v", d.what, err)
		}
		var changes bool
		for deadline := time.Now().Add(d.within); ; {
			var out string
			var err error
			if changes, out, err = w.planChanges(ctx); err != nil {
				t.Fatalf("plan after %s: %v\n%s", d.what, err, tail(out, 3000))
			}
			if changes || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Second)
		}
		if !changes {
			r.note("%s: the plan shows no change", d.what)
			continue
		}
		if !converge(t, r, w, "apply after "+d.what) {
			continue
		}
		if err := repaired(ctx, key, 1); err != nil {
			r.note("%s: not repaired: %v", d.what, err)
			continue
		}
		c, err := settledInstances(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		r.add(c)
		if c != (instanceCount{}) {
			r.note("%s: %d duplicates, %d orphans, %d machines without an instance after the repair", d.what, c.duplicates, c.orphans, c.missing)
			continue
		}
		r.repaired++
	}
	destroyAll(t, r, w)
}

// repaired checks that the deployment wants replicas machines and has
// them, waiting a minute for a scale-down's machines to go.
func repaired(ctx context.Context, key client.ObjectKey, replicas int32) error {
	var why error
	err := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		md := &clusterv1.MachineDeployment{}
		if err := kube.Get(ctx, key, md); err != nil {
			why = err
			return false, nil
		}
		var machines clusterv1.MachineList
		if err := kube.List(ctx, &machines, client.InNamespace(key.Namespace),
			client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: key.Name}); err != nil {
			return false, err
		}
		why = fmt.Errorf("replicas %d, %d machines", ptr.Deref(md.Spec.Replicas, 0), len(machines.Items))
		return ptr.Deref(md.Spec.Replicas, 0) == replicas && len(machines.Items) == int(replicas), nil
	})
	if err != nil {
		return why
	}
	return nil
}
