package controllers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The backoff of failed passes. A failure that a retry may clear (a
// throttled or failed call, a resource not visible yet) is retried after
// 5 s, one that no retry can clear (see cloud.AsPermanent) after 30 s in
// case the account changes; each further failure doubles the delay, up to
// 5 minutes.
const (
	failureBackoffInitial          = 5 * time.Second
	permanentFailureBackoffInitial = 30 * time.Second
	failureBackoffMax              = 5 * time.Minute
	// failureBackoffJitter spreads the retries of objects that failed
	// together, such as the machines of a deployment on a quota.
	failureBackoffJitter = 0.1
)

// failureBackoff holds back the cloud calls of objects whose last pass
// failed. Reconciles come not only when a reconciler asks for them but
// with every change of a watched object, and a failing pass changes
// objects (its conditions, which Cluster API mirrors into the Cluster and
// the Machine): without a hold, each failure would bring the next pass at
// once, past the workqueue's rate limiter. A pass that succeeds, or a
// change of the object's generation (a new spec, or its deletion), ends
// the hold.
type failureBackoff struct {
	clock                clock.Clock
	transient, permanent *flowcontrol.Backoff

	mu   sync.Mutex
	held map[types.UID]hold
}

// hold is when an object may call the cloud again, for the generation
// that failed.
type hold struct {
	generation int64
	deleting   bool
	until      time.Time
}

func newFailureBackoff(c clock.Clock) *failureBackoff {
	return &failureBackoff{
		clock:     c,
		transient: flowcontrol.NewFakeBackOffWithJitter(failureBackoffInitial, failureBackoffMax, c, failureBackoffJitter),
		permanent: flowcontrol.NewFakeBackOffWithJitter(permanentFailureBackoffInitial, failureBackoffMax, c, failureBackoffJitter),
		held:      map[types.UID]hold{},
	}
}

// wait returns how long obj's cloud calls are still held back, 0 when
// they may go ahead.
func (b *failureBackoff) wait(obj client.Object) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	h, ok := b.held[obj.GetUID()]
	if !ok {
		return 0
	}
	if h.generation != obj.GetGeneration() || h.deleting != deleting(obj) {
		b.forgetLocked(obj.GetUID())
		return 0
	}
	return max(h.until.Sub(b.clock.Now()), 0)
}

// failed records a failed pass of obj and returns how long its cloud
// calls are held back.
func (b *failureBackoff) failed(obj client.Object, permanent bool) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	uid := obj.GetUID()
	if h, ok := b.held[uid]; ok && (h.generation != obj.GetGeneration() || h.deleting != deleting(obj)) {
		b.forgetLocked(uid)
	}
	backoff := b.transient
	if permanent {
		backoff = b.permanent
	}
	now := b.clock.Now()
	backoff.Next(string(uid), now)
	delay := backoff.Get(string(uid))
	b.held[uid] = hold{generation: obj.GetGeneration(), deleting: deleting(obj), until: now.Add(delay)}
	b.gcLocked(now)
	return delay
}

// succeeded ends obj's hold and resets its backoff.
func (b *failureBackoff) succeeded(obj client.Object) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forgetLocked(obj.GetUID())
}

func (b *failureBackoff) forgetLocked(uid types.UID) {
	delete(b.held, uid)
	b.transient.DeleteEntry(string(uid))
	b.permanent.DeleteEntry(string(uid))
}

// gcLocked forgets the objects that have not failed for long, such as
// deleted ones: flowcontrol.Backoff restarts from the initial delay after
// twice the maximum anyway.
func (b *failureBackoff) gcLocked(now time.Time) {
	for uid, h := range b.held {
		if now.Sub(h.until) > 2*failureBackoffMax {
			delete(b.held, uid)
		}
	}
	b.transient.GC()
	b.permanent.GC()
}

func deleting(obj client.Object) bool { return !obj.GetDeletionTimestamp().IsZero() }
