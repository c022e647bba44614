package digitalocean

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
)

// With 30% of droplet creates answered 500 after the droplet was made (as
// when the answer is lost), a control plane Machine and three standalone
// Machines still get exactly one droplet each: the create is not re-sent,
// and the next pass finds the droplet by its machine tag.
func TestAccDODropletCreatesAnsweredWithErrorsMakeOneDropletPerMachine(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	setFaults(t, []map[string]any{{"action": "droplets:create", "rate": 0.3, "error": "created-then-server"}})
	before := calls(t)

	name := fmt.Sprintf("lost-%05d", time.Now().UnixNano()%100000)
	doCluster, cluster := testCluster(name)
	template, kcp := withControlPlane(cluster, kubernetesImage(t, "v1.36.0"))
	objects := []client.Object{doCluster, template, kcp, cluster}
	for i := range 3 {
		machine, doMachine, secret := standaloneMachine(cluster, fmt.Sprintf("%s-standalone-%d", name, i),
			infrav1.DOMachineSpec{Size: "s-1vcpu-2gb", Image: "ubuntu-24-04-x64"})
		objects = append(objects, secret, doMachine, machine)
	}
	e.create(t, objects...)
	t.Cleanup(func() {
		if t.Failed() {
			dumpObjects(t, e.c)
		}
	})
	e.machinesProvisioned(t, name, 4, 120*time.Second)

	byMachine := map[string]int{}
	for _, r := range resources(t) {
		for _, tag := range r.Tags {
			if r.Kind == "droplet" && strings.HasPrefix(tag, cloud.MachineTag("")) {
				byMachine[tag]++
			}
		}
	}
	if len(byMachine) != 4 {
		t.Errorf("droplets of %d machines, want 4: %v", len(byMachine), byMachine)
	}
	for tag, n := range byMachine {
		if n != 1 {
			t.Errorf("%d droplets tagged %s", n, tag)
		}
	}
	used := callsSince(t, before)
	if used["droplets:create"] != 4 {
		t.Errorf("droplets:create called %d times for 4 machines: a create was repeated", used["droplets:create"])
	}
	var all infrav1.DOMachineList
	if err := e.c.List(ctx, &all, client.MatchingLabels{clusterv1.ClusterNameLabel: name}); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, m := range all.Items {
		failed += e.warnings(t, m.Name, "DropletCreateFailed")
	}
	if failed == 0 {
		t.Error("no create was answered with an error: the faults did not bite")
	}
	t.Logf("calls per action for a cluster, its control plane machine and three standalone machines (30%% of droplet creates answered 500): %v", used)

	e.deleteCluster(t, cluster)
	if left := resources(t); len(left) != 0 {
		t.Errorf("simulator resources left after delete: %+v", left)
	}
}

// A droplet deleted out of band is noticed by its Ready DOMachine, which
// reports it on DropletReady and Ready and in a warning event and makes no
// droplet in its place (a MachineHealthCheck remediates); the machine is
// still deleted cleanly.
func TestAccDODropletDeletedOutOfBandIsNoticed(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	name := fmt.Sprintf("gone-%05d", time.Now().UnixNano()%100000)
	doCluster, cluster := testCluster(name)
	machine, doMachine, secret := standaloneMachine(cluster, name+"-0", infrav1.DOMachineSpec{Size: "s-1vcpu-2gb", Image: "ubuntu-24-04-x64"})
	e.create(t, doCluster, cluster, secret, doMachine, machine)
	t.Cleanup(func() {
		if t.Failed() {
			dumpObjects(t, e.c)
		}
	})
	eventually(t, "DOMachine ready", 60*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(doMachine), doMachine)
		return err == nil && conditions(doMachine, infrav1.ReadyCondition) == metav1.ConditionTrue, err
	})
	id, err := strconv.Atoi(strings.TrimPrefix(doMachine.Spec.ProviderID, infrav1.ProviderIDPrefix))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.godo.Droplets.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted droplet noticed", 100*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(doMachine), doMachine)
		cond := meta.FindStatusCondition(doMachine.Status.Conditions, infrav1.DropletReadyCondition)
		return err == nil && cond != nil && cond.Reason == "DropletNotFound", err
	})
	ready := meta.FindStatusCondition(doMachine.Status.Conditions, infrav1.ReadyCondition)
	if ready.Status != metav1.ConditionFalse || ready.Reason != "DropletNotFound" || !strings.Contains(ready.Message, strconv.Itoa(id)) {
		t.Errorf("Ready = %+v", ready)
	}
	if e.warnings(t, doMachine.Name, "DropletNotFound") == 0 {
		t.Error("no DropletNotFound warning event")
	}
	if n := countKinds(t)["droplet"]; n != 0 {
		t.Errorf("%d droplets after the machine's was deleted: one was made in its place", n)
	}
	e.deleteCluster(t, cluster)
	if left := resources(t); len(left) != 0 {
		t.Errorf("simulator resources left after delete: %+v", left)
	}
}

// A DOMachine that DigitalOcean refuses as specified (a size it does not
// know) says so on DropletReady and Ready with a reason that says no retry
// helps and DigitalOcean's message, without request IDs, and the create is
// repeated a few times a minute at most.
func TestAccDOMachinePermanentFailureIsReportedAndRetriedSlowly(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	name := fmt.Sprintf("refused-%05d", time.Now().UnixNano()%100000)
	doCluster, cluster := testCluster(name)
	machine, doMachine, secret := standaloneMachine(cluster, name+"-0", infrav1.DOMachineSpec{Size: "s-64vcpu-1tb", Image: "ubuntu-24-04-x64"})
	e.create(t, doCluster, cluster, secret, doMachine, machine)
	t.Cleanup(func() {
		if t.Failed() {
			dumpObjects(t, e.c)
		}
		e.deleteCluster(t, cluster)
		if left := resources(t); len(left) != 0 {
			t.Errorf("simulator resources left after delete: %+v", left)
		}
	})
	eventually(t, "the refusal reported", 60*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(doMachine), doMachine)
		ready := meta.FindStatusCondition(doMachine.Status.Conditions, infrav1.ReadyCondition)
		return err == nil && ready != nil && infrav1.IsPermanentFailure(ready.Reason), err
	})
	cond := meta.FindStatusCondition(doMachine.Status.Conditions, infrav1.DropletReadyCondition)
	if cond.Reason != infrav1.DropletPermanentFailureReason || !strings.Contains(cond.Message, "422 Unprocessable Entity: ") ||
		strings.Contains(cond.Message, "request") || strings.Contains(cond.Message, "attempt") {
		t.Errorf("DropletReady = %+v, want %s with DigitalOcean's message alone", cond, infrav1.DropletPermanentFailureReason)
	}
	if e.warnings(t, doMachine.Name, infrav1.DropletPermanentFailureReason) == 0 {
		t.Errorf("no %s warning event", infrav1.DropletPermanentFailureReason)
	}
	const window = 40 * time.Second
	before := calls(t)
	time.Sleep(window)
	n := callsSince(t, before)["droplets:create"]
	t.Logf("droplets:create: %d calls in %s", n, window)
	if n > 3 {
		t.Errorf("droplets:create called %d times in %s for a machine DigitalOcean refuses", n, window)
	}
	if doMachine.Spec.ProviderID != "" || ptr.Deref(doMachine.Status.Initialization.Provisioned, false) {
		t.Errorf("refused machine has droplet %q", doMachine.Spec.ProviderID)
	}
	if n := countKinds(t)["droplet"]; n != 0 {
		t.Errorf("%d droplets for a refused machine", n)
	}
}

// conditions returns the status of obj's condition t.
func conditions(obj interface{ GetConditions() []metav1.Condition }, t string) metav1.ConditionStatus {
	if c := meta.FindStatusCondition(obj.GetConditions(), t); c != nil {
		return c.Status
	}
	return metav1.ConditionUnknown
}
