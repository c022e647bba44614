package engine

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// drain lets an engine stop between reconciles rather than in the middle of
// one. A manager that stops cancels the context of every reconcile in
// flight, so one that has made a cloud call would fail writing the status
// that records it, and a Cluster's conditions would stay one change
// behind. While the engine drains, its controllers' workers take no new
// item and the reconciles in flight go on with a live context; the engine
// is cancelled once none is left, or when the drain's time is up.
type drain struct {
	inFlight atomic.Int64
	once     sync.Once
	// draining is closed when the drain begins.
	draining chan struct{}

	mu sync.Mutex
	// queues are the engine's controllers' queues, for retry.
	queues []*drainingQueue
}

func newDrain() *drain { return &drain{draining: make(chan struct{})} }

// begin stops the workers from taking new items.
func (d *drain) begin() { d.once.Do(func() { close(d.draining) }) }

func (d *drain) isDraining() bool {
	select {
	case <-d.draining:
		return true
	default:
		return false
	}
}

// wait begins the drain and returns once no reconcile is in flight, or
// after timeout; it reports whether the engine is idle.
func (d *drain) wait(timeout time.Duration) bool {
	d.begin()
	deadline := time.Now().Add(timeout)
	for d.inFlight.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// controllerOptions are a controller's options with a queue that honours
// the drain.
func (d *drain) controllerOptions(o controller.Options, log logr.Logger) controller.Options {
	o.NewQueue = func(name string, rl workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
		// The queue controller-runtime makes by default (UsePriorityQueue).
		q := priorityqueue.New(name, func(po *priorityqueue.Opts[reconcile.Request]) {
			po.Log = log.WithValues("controller", name)
			po.RateLimiter = rl
		})
		dq := &drainingQueue{PriorityQueue: q, drain: d}
		d.mu.Lock()
		d.queues = append(d.queues, dq)
		d.mu.Unlock()
		return dq
	}
	return o
}

// retry makes every item of the namespace that a controller is backing
// off from (its reconcile failed) ready now, and returns how many it made
// ready. The backoff is reset where the rate limiter forgets on Forget;
// Cluster API's own (ReconcilerRateLimiting) forgets only after a
// reconcile that succeeds. Writes refused while an embedded apply
// held a cluster's Lease fail as conflicts, and after a few the
// rate limiter waits minutes (up to 1000 s): once the Lease is released,
// the reconciles they stood for run at once instead.
func (d *drain) retry(namespace string) int {
	d.mu.Lock()
	queues := slices.Clone(d.queues)
	d.mu.Unlock()
	n := 0
	for _, q := range queues {
		q.backingOff.Range(func(k, _ any) bool {
			if item := k.(reconcile.Request); item.Namespace == namespace {
				q.Forget(item)
				q.PriorityQueue.AddWithOpts(priorityqueue.AddOpts{}, item)
				n++
			}
			return true
		})
	}
	return n
}

// drainingQueue counts the items its workers are reconciling and, while
// the engine drains, starts none: a worker that takes an item then waits
// until the queue shuts down and drops it (the next engine lists the
// object again).
type drainingQueue struct {
	priorityqueue.PriorityQueue[reconcile.Request]
	drain *drain
	// backingOff holds the items added rate limited and not forgotten
	// since: those whose last reconcile failed.
	backingOff sync.Map
}

// AddWithOpts is how controller-runtime requeues into a priority queue,
// rate limited after an error.
func (q *drainingQueue) AddWithOpts(o priorityqueue.AddOpts, items ...reconcile.Request) {
	if o.RateLimited {
		for _, item := range items {
			q.backingOff.Store(item, struct{}{})
		}
	}
	q.PriorityQueue.AddWithOpts(o, items...)
}

func (q *drainingQueue) AddRateLimited(item reconcile.Request) {
	q.AddWithOpts(priorityqueue.AddOpts{RateLimited: true}, item)
}

func (q *drainingQueue) Forget(item reconcile.Request) {
	q.backingOff.Delete(item)
	q.PriorityQueue.Forget(item)
}

func (q *drainingQueue) GetWithPriority() (reconcile.Request, int, bool) {
	item, priority, shutdown := q.PriorityQueue.GetWithPriority()
	if shutdown {
		return item, priority, true
	}
	q.drain.inFlight.Add(1)
	if q.drain.isDraining() {
		q.drain.inFlight.Add(-1)
		q.waitForShutDown()
		return item, priority, true
	}
	return item, priority, false
}

func (q *drainingQueue) Get() (reconcile.Request, bool) {
	item, _, shutdown := q.GetWithPriority()
	return item, shutdown
}

func (q *drainingQueue) Done(item reconcile.Request) {
	q.PriorityQueue.Done(item)
	q.drain.inFlight.Add(-1)
}

func (q *drainingQueue) waitForShutDown() {
	for !q.ShuttingDown() {
		time.Sleep(10 * time.Millisecond)
	}
}
