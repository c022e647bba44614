package reconcile

import (
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

func TestChecks(t *testing.T) {
	var c Checks
	if w := c.Wait("m-1", true, time.Hour, 2*time.Hour); w != 0 {
		t.Errorf("a machine never read waits %s", w)
	}
	c.Read("m-1", false)
	if w := c.Wait("m-1", true, time.Hour, 2*time.Hour); w <= time.Hour-time.Minute || w > time.Hour {
		t.Errorf("after a read that found the resource on its way: wait %s, want about the pending hour", w)
	}
	c.Read("m-1", true)
	if w := c.Wait("m-1", true, time.Hour, 2*time.Hour); w <= 2*time.Hour-time.Minute || w > 2*time.Hour {
		t.Errorf("after a read that found the resource up: wait %s, want about the interval", w)
	}
	if w := c.Wait("m-1", false, time.Hour, 2*time.Hour); w > time.Hour {
		t.Errorf("a machine not provisioned yet waits %s, more than pending", w)
	}
	if w := c.Wait("m-1", true, 0, 0); w != 0 {
		t.Errorf("wait %s once the interval is over", w)
	}
	c.Forget("m-1")
	if w := c.Wait("m-1", true, time.Hour, 2*time.Hour); w != 0 {
		t.Errorf("a forgotten machine waits %s", w)
	}
}

func TestDriftChecked(t *testing.T) {
	p := New[*clusterv1.Machine, *ran](Kind{}, nil, nil, nil, nil, nil)
	c := machine("c-1")
	yes, no := true, false
	passes := 0
	pass := func(result ctrl.Result) func() ctrl.Result {
		return func() ctrl.Result { passes++; return result }
	}
	if r := p.DriftChecked(c, &no, time.Hour, pass(ctrl.Result{})); r.RequeueAfter != time.Hour || passes != 1 {
		t.Fatalf("a pass with nothing left to do: %+v after %d passes, want a drift check in an hour", r, passes)
	}
	if r := p.DriftChecked(c, &no, time.Hour, pass(ctrl.Result{})); passes != 2 || r.RequeueAfter != time.Hour {
		t.Errorf("a cluster not provisioned yet is not held: %+v after %d passes", r, passes)
	}
	if r := p.DriftChecked(c, &yes, time.Hour, pass(ctrl.Result{})); passes != 2 || r.RequeueAfter <= 0 || r.RequeueAfter > time.Hour {
		t.Errorf("a provisioned cluster reconciled moments ago: %+v after %d passes", r, passes)
	}
	c.Generation = 2
	if r := p.DriftChecked(c, &yes, time.Hour, pass(ctrl.Result{RequeueAfter: time.Second})); passes != 3 || r.RequeueAfter != time.Second {
		t.Errorf("a new generation: %+v after %d passes, want the pass's own result", r, passes)
	}
	if r := p.DriftChecked(c, &yes, time.Hour, pass(ctrl.Result{})); passes != 4 || r.RequeueAfter != time.Hour {
		t.Errorf("a pass of a new generation that left something to do does not count: %+v after %d passes", r, passes)
	}
	p.reconciled.Forget(c.UID)
	if r := p.DriftChecked(c, &yes, time.Hour, pass(ctrl.Result{})); passes != 5 || r.RequeueAfter != time.Hour {
		t.Errorf("a forgotten cluster: %+v after %d passes", r, passes)
	}
}
