package reconcile

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Checks records when the cloud resource of each infrastructure machine
// (an instance, a droplet) was last read, and whether it was up then.
// Passes come with every change of a watched object (the Machine's status
// as its node joins, say): between two reads they cost no cloud call. A
// resource gone between reads still shows at once where it matters, as
// its node leaving the workload cluster. The zero value is ready.
type Checks struct {
	// read holds a check by machine UID.
	read sync.Map
}

type check struct {
	at time.Time
	up bool
}

// Read records that the resource of the machine uid was read now, and
// whether it was up.
func (c *Checks) Read(uid types.UID, up bool) {
	c.read.Store(uid, check{at: time.Now(), up: up})
}

// LastRead returns when the resource of the machine uid was last read.
func (c *Checks) LastRead(uid types.UID) (time.Time, bool) {
	last, ok := c.read.Load(uid)
	if !ok {
		return time.Time{}, false
	}
	return last.(check).at, true
}

// Wait returns how long the resource of the machine uid is not read
// again: until interval is over after a read that found it up, on a
// machine that is provisioned, else until pending is. It is 0 when the
// resource may be read now.
func (c *Checks) Wait(uid types.UID, provisioned bool, pending, interval time.Duration) time.Duration {
	last, ok := c.read.Load(uid)
	if !ok {
		return 0
	}
	ch := last.(check)
	if !ch.up || !provisioned {
		interval = pending
	}
	return max(interval-time.Since(ch.at), 0)
}

// Forget forgets the machine uid, once it is gone.
func (c *Checks) Forget(uid types.UID) { c.read.Delete(uid) }

// Reconciled records when each object, at its generation, was last
// reconciled against the cloud (or part of it). The zero value is ready.
type Reconciled struct {
	// at holds a time by generationKey.
	at sync.Map
}

type generationKey struct {
	uid        types.UID
	generation int64
}

func keyOf(obj client.Object) generationKey {
	return generationKey{uid: obj.GetUID(), generation: obj.GetGeneration()}
}

// Done records that obj, at its generation, was reconciled now.
func (r *Reconciled) Done(obj client.Object) { r.at.Store(keyOf(obj), time.Now()) }

// Wait returns how much of d is left since obj, at its generation, was
// last reconciled: 0 when it never was, or longer ago.
func (r *Reconciled) Wait(obj client.Object, d time.Duration) time.Duration {
	last, ok := r.at.Load(keyOf(obj))
	if !ok {
		return 0
	}
	return max(d-time.Since(last.(time.Time)), 0)
}

// Forget forgets every generation of the object uid, once it is gone.
func (r *Reconciled) Forget(uid types.UID) {
	r.at.Range(func(k, _ any) bool {
		if k.(generationKey).uid == uid {
			r.at.Delete(k)
		}
		return true
	})
}
