package reconcile

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
// 5 s, one that no retry can clear (see failure.PermanentError) after
// 30 s in case the account changes; each further failure doubles the
// delay, up to 5 minutes.
const (
	failureBackoffInitial          = 5 * time.Second
	permanentFailureBackoffInitial = 30 * time.Second
	failureBackoffMax              = 5 * time.Minute
	// failureBackoffJitter spreads the retries of objects that failed
	// together, such as the machines of a deployment on a quota: each
	// delay is up to a tenth longer.
	failureBackoffJitter = 0.1
)

// Backoff holds back the cloud calls of objects whose last pass failed.
// Reconciles come not only when a reconciler asks for them but with every
// change of a watched object, and a failing pass changes objects (its
// conditions, which Cluster API mirrors into the Cluster and the
// Machine): without a hold, each failure would bring the next pass at
// once, past the workqueue's rate limiter and into the cloud's own (a
// DigitalOcean token gets 250 requests a minute). A pass that succeeds,
// or a change of the object's generation (a new spec, or its deletion),
// ends the hold.
type Backoff struct {
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

// NewBackoff returns a Backoff that tells time by c.
func NewBackoff(c clock.Clock) *Backoff {
	return &Backoff{
		clock:     c,
		transient: flowcontrol.NewFakeBackOffWithJitter(failureBackoffInitial, failureBackoffMax, c, failureBackoffJitter),
		permanent: flowcontrol.NewFakeBackOffWithJitter(permanentFailureBackoffInitial, failureBackoffMax, c, failureBackoffJitter),
		held:      map[types.UID]hold{},
	}
}

// Wait returns how long obj's cloud calls are still held back, 0 when
// they may go ahead.
func (b *Backoff) Wait(obj client.Object) time.Duration {
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

// Failed records a failed pass of obj, permanent when no retry can clear
// its error, and returns how long its cloud calls are held back.
func (b *Backoff) Failed(obj client.Object, permanent bool) time.Duration {
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

// Succeeded ends obj's hold and resets its backoff.
func (b *Backoff) Succeeded(obj client.Object) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forgetLocked(obj.GetUID())
}

func (b *Backoff) forgetLocked(uid types.UID) {
	delete(b.held, uid)
	b.transient.DeleteEntry(string(uid))
	b.permanent.DeleteEntry(string(uid))
}

// gcLocked forgets the objects that have not failed for long, such as
// deleted ones: flowcontrol.Backoff restarts from the initial delay after
// twice the maximum anyway.
func (b *Backoff) gcLocked(now time.Time) {
	for uid, h := range b.held {
		if now.Sub(h.until) > 2*failureBackoffMax {
			delete(b.held, uid)
		}
	}
	b.transient.GC()
	b.permanent.GC()
}

func deleting(obj client.Object) bool { return !obj.GetDeletionTimestamp().IsZero() }
