package reconcile

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/failure"
)

// ran is the scope of the test passes: the phases that ran.
type ran struct{ phases []string }

// machine is an object with conditions, at generation 1, for the tests.
func machine(uid types.UID) *clusterv1.Machine {
	return &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{UID: uid, Generation: 1}}
}

// step is a phase named name that ends with result and err.
func step(name string, result ctrl.Result, err error) Phase[*ran] {
	return func(_ context.Context, s *ran) (ctrl.Result, error) {
		s.phases = append(s.phases, name)
		return result, err
	}
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	clock := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p := New[*clusterv1.Machine, *ran](Kind{Cloud: Cloud{AsPermanent: failure.As}}, nil, nil, nil, nil, nil)
	p.Backoff = NewBackoff(clock)
	obj := machine("o-1")
	pass := func(phases ...Phase[*ran]) (ctrl.Result, []string) {
		s := &ran{}
		return p.Run(ctx, obj, "Reconciling the Machine", s, phases...), s.phases
	}
	done, pending := ctrl.Result{}, ctrl.Result{RequeueAfter: 2 * time.Second}

	for _, c := range []struct {
		name   string
		phases []Phase[*ran]
		result ctrl.Result
		ran    []string
	}{
		{"all phases, in order", []Phase[*ran]{step("a", done, nil), step("b", done, nil), step("c", done, nil)}, done, []string{"a", "b", "c"}},
		{"a resource on its way ends the pass", []Phase[*ran]{step("a", done, nil), step("b", pending, nil), step("c", done, nil)}, pending, []string{"a", "b"}},
		{"ErrPassDone ends the pass, no failure", []Phase[*ran]{step("a", done, ErrPassDone), step("b", done, nil)}, done, []string{"a"}},
	} {
		result, phases := pass(c.phases...)
		if result != c.result || !reflect.DeepEqual(phases, c.ran) {
			t.Errorf("%s: result %+v, ran %v; want %+v, %v", c.name, result, phases, c.result, c.ran)
		}
	}

	// A failure ends the pass and holds the object's cloud calls back:
	// the next pass runs no phase before the hold is over.
	result, phases := pass(step("a", done, nil), step("b", done, errors.New("throttled")), step("c", done, nil))
	if !within(result.RequeueAfter, failureBackoffInitial) || !reflect.DeepEqual(phases, []string{"a", "b"}) {
		t.Fatalf("a failed pass: result %+v, ran %v", result, phases)
	}
	clock.Step(time.Second)
	if held, phases := pass(step("a", done, nil)); held.RequeueAfter != result.RequeueAfter-time.Second || len(phases) != 0 {
		t.Errorf("a pass during the hold: result %+v, ran %v", held, phases)
	}
	clock.Step(result.RequeueAfter)
	if result, phases := pass(step("a", done, nil)); result != done || len(phases) != 1 {
		t.Errorf("a pass after the hold: result %+v, ran %v", result, phases)
	}
	if w := p.Backoff.Wait(obj); w != 0 {
		t.Errorf("a pass that succeeded leaves a hold of %s", w)
	}

	// An error that no retry can clear is retried later.
	result, _ = pass(step("a", done, failure.Permanent("", "no such image")))
	if !within(result.RequeueAfter, permanentFailureBackoffInitial) {
		t.Errorf("a permanent failure: retry after %s, want %s", result.RequeueAfter, permanentFailureBackoffInitial)
	}
}
