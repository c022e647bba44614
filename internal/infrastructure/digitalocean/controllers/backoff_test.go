package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
)

func TestFailureBackoff(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	b := newFailureBackoff(func() time.Time { return now })
	m := &infrav1.DOMachine{ObjectMeta: metav1.ObjectMeta{UID: "m", Generation: 1}}
	within := func(d, want time.Duration) bool {
		return d >= want-want/10 && d <= want+want/10
	}
	if b.wait(m) != 0 {
		t.Fatal("a new object waits")
	}
	for _, want := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second} {
		if d := b.failed(m, false); !within(d, want) || b.wait(m) != d {
			t.Errorf("delay %s, wait %s; want about %s", d, b.wait(m), want)
		}
	}
	for range 10 {
		b.failed(m, false)
	}
	if d := b.wait(m); !within(d, failureBackoffMax) {
		t.Errorf("delay %s after many failures, want about the maximum", d)
	}
	// A new spec ends the hold; a permanent failure starts slower.
	m.Generation = 2
	if b.wait(m) != 0 {
		t.Error("a new generation waits")
	}
	if d := b.failed(m, true); !within(d, permanentFailureBackoffInitial) {
		t.Errorf("permanent failure delay %s", d)
	}
	now = now.Add(time.Minute)
	if b.wait(m) != 0 {
		t.Error("still held after the delay")
	}
	b.failed(m, false)
	b.succeeded(m)
	if b.wait(m) != 0 {
		t.Error("held after success")
	}
	// Deleting ends the hold too.
	b.failed(m, false)
	m.DeletionTimestamp = &metav1.Time{Time: now}
	if b.wait(m) != 0 {
		t.Error("a deleting object is held by its failures before")
	}
}
