package reconcile

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

// within says whether d is base up to the backoff's jitter above it.
func within(d, base time.Duration) bool {
	return d >= base && d <= base+time.Duration(failureBackoffJitter*float64(base))
}

// object is an object at generation 1 for the tests.
func object(uid types.UID) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{UID: uid, Generation: 1}}
}

func TestBackoff(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := NewBackoff(clock)
	m, other := object("m-1"), object("m-2")
	if w := b.Wait(m); w != 0 {
		t.Fatalf("an object that never failed waits %s", w)
	}

	// Transient failures: 5 s, doubling, capped at 5 minutes.
	// The jitter compounds: each delay is twice the last, plus up to a
	// tenth of it.
	want, most := failureBackoffInitial, failureBackoffInitial
	for i := 0; i < 10; i++ {
		most = time.Duration(float64(most) * (1 + failureBackoffJitter))
		d := b.Failed(m, false)
		if d < min(want, failureBackoffMax) || d > min(most, failureBackoffMax) {
			t.Fatalf("failure %d: backoff %s, want %s to %s", i+1, d, min(want, failureBackoffMax), min(most, failureBackoffMax))
		}
		if w := b.Wait(m); w != d {
			t.Fatalf("failure %d: wait %s right after, want %s", i+1, w, d)
		}
		clock.Step(d / 2)
		if w := b.Wait(m); w != d-d/2 {
			t.Fatalf("failure %d: wait %s half way, want %s", i+1, w, d-d/2)
		}
		clock.Step(d - d/2)
		if w := b.Wait(m); w != 0 {
			t.Fatalf("failure %d: wait %s after the backoff", i+1, w)
		}
		want, most = 2*want, 2*most
	}
	if d := b.Failed(m, false); d != failureBackoffMax {
		t.Errorf("backoff %s after many failures, want the maximum", d)
	}
	if b.Wait(other) != 0 {
		t.Error("another object is held back")
	}

	// Success ends the hold and resets.
	b.Succeeded(m)
	if w := b.Wait(m); w != 0 {
		t.Errorf("wait %s after a success", w)
	}
	if d := b.Failed(m, false); !within(d, failureBackoffInitial) {
		t.Errorf("first failure after a success: %s", d)
	}

	// A new generation ends the hold and starts over.
	clock.Step(time.Second)
	m.Generation = 2
	if w := b.Wait(m); w != 0 {
		t.Errorf("a new generation waits %s", w)
	}
	if d := b.Failed(m, false); !within(d, failureBackoffInitial) {
		t.Errorf("first failure of a new generation: %s", d)
	}

	// Deletion too, even at the same generation.
	now := metav1.NewTime(clock.Now())
	m.DeletionTimestamp = &now
	if w := b.Wait(m); w != 0 {
		t.Errorf("a deleted object waits %s for its last failure before deletion", w)
	}

	// Permanent failures start at 30 s and double.
	p := object("c-1")
	first := b.Failed(p, true)
	if !within(first, permanentFailureBackoffInitial) {
		t.Errorf("first permanent failure: %s, want %s", first, permanentFailureBackoffInitial)
	}
	clock.Step(first)
	if second := b.Failed(p, true); second < 2*permanentFailureBackoffInitial || second > failureBackoffMax {
		t.Errorf("second permanent failure: %s", second)
	}

	// An object not seen for long is forgotten.
	clock.Step(3 * failureBackoffMax)
	b.Failed(other, false)
	if _, ok := b.held[p.UID]; ok {
		t.Error("an object that stopped failing long ago is still held")
	}
}
