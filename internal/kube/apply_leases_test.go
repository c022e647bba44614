package kube

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestLeaseHeld(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	lease := func(holder string, renewedAgo time.Duration, seconds int32) *coordinationv1.Lease {
		return &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To(holder), RenewTime: &metav1.MicroTime{Time: now.Add(-renewedAgo)}, LeaseDurationSeconds: ptr.To(seconds)}}
	}
	for _, tc := range []struct {
		name  string
		lease *coordinationv1.Lease
		want  bool
	}{
		{"renewed within its duration", lease("terraform-provider-capi@host/1", 5*time.Second, 15), true},
		{"expired: its provider was killed", lease("terraform-provider-capi@host/1", 16*time.Second, 15), false},
		{"released: no holder", lease("", time.Second, 1), false},
		{"never renewed", &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("x"), LeaseDurationSeconds: ptr.To(int32(15))}}, false},
	} {
		if got := leaseHeld(tc.lease, now); got != tc.want {
			t.Errorf("%s: held = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A cluster is released when its Lease loses its holder, is deleted, or
// expires unrenewed; renewals, other Leases and Leases never held release
// nothing.
func TestReleaseWatch(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	lease := func(name, holder string) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To(holder), RenewTime: &metav1.MicroTime{Time: now}, LeaseDurationSeconds: ptr.To(int32(15))}}
	}
	var released []string
	var timer func()
	var timerAfter time.Duration
	stillHeld := true
	w := &releaseWatch{
		now:       func() time.Time { return now },
		afterFunc: func(d time.Duration, f func()) *time.Timer { timerAfter, timer = d, f; return time.NewTimer(time.Hour) },
		held:      func(string, string) bool { return stillHeld },
		released:  func(ns, cluster string) { released = append(released, ns+"/"+cluster) },
		timers:    map[string]*time.Timer{},
	}
	held, free := lease(LeaseName("a"), "terraform-provider-capi@host/1"), lease(LeaseName("a"), "")

	w.seen(nil, held)
	w.seen(held, held)
	w.seen(nil, lease("capi-terraform-manager", "manager-1"))
	w.seen(free, free)
	if len(released) != 0 {
		t.Fatalf("released %v with no apply letting go", released)
	}
	if timerAfter != 15*time.Second+100*time.Millisecond {
		t.Errorf("expiry checked after %s, want just past the Lease's 15 s", timerAfter)
	}
	// A renewed Lease's timer finds it held: nothing released.
	timer()
	stillHeld = false
	timer()
	w.seen(held, free)
	w.seen(held, nil)
	want := []string{"ns/a", "ns/a", "ns/a"}
	if len(released) != len(want) {
		t.Fatalf("released %v, want %v (expired, released, deleted)", released, want)
	}
}
