package controllers

import (
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The backoff of failed passes: a failure that a retry may clear is
// retried after 5 s, one that no retry can clear (see cloud.AsPermanent)
// after 30 s in case the account changes; each further failure doubles the
// delay, up to 5 minutes, give or take a tenth so that objects that failed
// together (the machines of a deployment on the droplet limit) do not
// retry together.
const (
	failureBackoffInitial          = 5 * time.Second
	permanentFailureBackoffInitial = 30 * time.Second
	failureBackoffMax              = 5 * time.Minute
	failureBackoffJitter           = 0.1
)

// failureBackoff holds back the cloud calls of objects whose last pass
// failed. Passes come with every change of a watched object, and a failed
// pass changes objects (its conditions, which Cluster API mirrors into the
// Cluster and the Machine): without a hold each failure would bring the
// next call at once. DigitalOcean's rate limit (250 requests a minute)
// makes that costly. A pass that succeeds, or a change of the object's
// generation or deletion, ends the hold.
type failureBackoff struct {
	now func() time.Time

	mu   sync.Mutex
	held map[types.UID]hold
}

// hold is how long an object's generation has failed, and until when it
// waits.
type hold struct {
	generation int64
	deleting   bool
	failures   int
	until      time.Time
}

func newFailureBackoff(now func() time.Time) *failureBackoff {
	return &failureBackoff{now: now, held: map[types.UID]hold{}}
}

// current returns obj's hold, forgetting one of another generation.
func (b *failureBackoff) current(obj client.Object) hold {
	h, ok := b.held[obj.GetUID()]
	if ok && (h.generation != obj.GetGeneration() || h.deleting != !obj.GetDeletionTimestamp().IsZero()) {
		delete(b.held, obj.GetUID())
		return hold{}
	}
	return h
}

// wait returns how long obj's cloud calls are still held back.
func (b *failureBackoff) wait(obj client.Object) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.current(obj).until.Sub(b.now()), 0)
}

// failed records a failed pass of obj and returns how long its cloud
// calls are held back.
func (b *failureBackoff) failed(obj client.Object, permanent bool) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.current(obj)
	delay := failureBackoffInitial
	if permanent {
		delay = permanentFailureBackoffInitial
	}
	for i := 0; i < h.failures && delay < failureBackoffMax; i++ {
		delay *= 2
	}
	delay = min(delay, failureBackoffMax)
	delay += time.Duration((rand.Float64()*2 - 1) * failureBackoffJitter * float64(delay))
	now := b.now()
	b.held[obj.GetUID()] = hold{generation: obj.GetGeneration(), deleting: !obj.GetDeletionTimestamp().IsZero(),
		failures: h.failures + 1, until: now.Add(delay)}
	// Forget the objects that have not failed for long, such as deleted ones.
	for uid, other := range b.held {
		if now.Sub(other.until) > 2*failureBackoffMax {
			delete(b.held, uid)
		}
	}
	return delay
}

// succeeded ends obj's hold.
func (b *failureBackoff) succeeded(obj client.Object) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.held, obj.GetUID())
}
