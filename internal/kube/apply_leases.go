package kube

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ApplyLeases tells a long-running controller manager which clusters an
// apply is working on now: those whose Lease (see Locks) a provider
// process holds. The manager leaves them alone until the apply ends, so
// one cluster never has two engines at once.
type ApplyLeases struct {
	leases   coordinationlisters.LeaseLister
	informer cache.SharedIndexInformer
	now      func() time.Time
}

// WatchApplyLeases starts watching the clusters' Leases in every
// namespace and returns once the watch has synced; it stops with ctx.
func WatchApplyLeases(ctx context.Context, cfg *rest.Config) (*ApplyLeases, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	factory := informers.NewSharedInformerFactory(cs, 0)
	informer := factory.Coordination().V1().Leases()
	lister := informer.Lister()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.Informer().HasSynced) {
		return nil, fmt.Errorf("watching the clusters' Leases: %w", context.Cause(ctx))
	}
	return &ApplyLeases{leases: lister, informer: informer.Informer(), now: time.Now}, nil
}

// OnRelease calls released, from the watch's goroutine or a timer's,
// whenever an apply lets go of a cluster: it releases the cluster's
// Lease, deletes it, or stops renewing it (a killed provider) and it
// expires. A manager then acts on the cluster at once, instead of when its
// reconcilers' backoff after the writes it was refused runs out.
func (a *ApplyLeases) OnRelease(released func(namespace, cluster string)) error {
	w := &releaseWatch{now: a.now, afterFunc: time.AfterFunc, held: a.Held, released: released, timers: map[string]*time.Timer{}}
	_, err := a.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.seen(nil, obj) },
		UpdateFunc: w.seen,
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			w.seen(obj, nil)
		},
	})
	return err
}

// releaseWatch turns the watch's Lease events into releases.
type releaseWatch struct {
	now       func() time.Time
	afterFunc func(time.Duration, func()) *time.Timer
	held      func(namespace, cluster string) bool
	released  func(namespace, cluster string)

	mu sync.Mutex
	// timers fire when a held Lease expires unless renewed meanwhile.
	timers map[string]*time.Timer
}

// seen handles a Lease that was old and is now new (nil: none).
func (w *releaseWatch) seen(oldObj, newObj any) {
	oldLease, _ := oldObj.(*coordinationv1.Lease)
	newLease, _ := newObj.(*coordinationv1.Lease)
	l := newLease
	if l == nil {
		l = oldLease
	}
	if l == nil {
		return
	}
	cluster, ok := strings.CutPrefix(l.Name, leasePrefix)
	if !ok {
		return
	}
	now := w.now()
	wasHeld := oldLease != nil && leaseHeld(oldLease, now)
	isHeld := newLease != nil && leaseHeld(newLease, now)
	key := l.Namespace + "/" + l.Name
	w.mu.Lock()
	if t, ok := w.timers[key]; ok {
		t.Stop()
		delete(w.timers, key)
	}
	if isHeld {
		// Nothing tells when a Lease expires: look again then.
		expiry := newLease.Spec.RenewTime.Add(time.Duration(*newLease.Spec.LeaseDurationSeconds) * time.Second)
		w.timers[key] = w.afterFunc(expiry.Sub(now)+100*time.Millisecond, func() {
			if !w.held(l.Namespace, cluster) {
				w.released(l.Namespace, cluster)
			}
		})
	}
	w.mu.Unlock()
	if wasHeld && !isHeld {
		w.released(l.Namespace, cluster)
	}
}

// Held reports whether an apply holds the Lease of a cluster now.
func (a *ApplyLeases) Held(namespace, cluster string) bool {
	lease, err := a.leases.Leases(namespace).Get(LeaseName(cluster))
	if err != nil {
		return false
	}
	return leaseHeld(lease, a.now())
}

// leaseHeld reports whether a Lease has a holder whose last renewal has not
// expired. A provider that ends releases its Leases (no holder); one that
// is killed leaves them to expire.
func leaseHeld(l *coordinationv1.Lease, now time.Time) bool {
	s := l.Spec
	if s.HolderIdentity == nil || strings.TrimSpace(*s.HolderIdentity) == "" || s.RenewTime == nil || s.LeaseDurationSeconds == nil {
		return false
	}
	return now.Before(s.RenewTime.Add(time.Duration(*s.LeaseDurationSeconds) * time.Second))
}

// LeaseLeader is the holder of a leader election Lease, or an error that
// says why there is none: the Lease is missing, or no holder renewed it
// within its duration.
func LeaseLeader(ctx context.Context, c *Client, namespace, name string) (string, error) {
	reader, err := c.Reader()
	if err != nil {
		return "", err
	}
	lease := &coordinationv1.Lease{}
	err = reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, lease)
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("its leader election Lease %s/%s does not exist", namespace, name)
	}
	if err != nil {
		return "", fmt.Errorf("reading Lease %s/%s: %w", namespace, name, err)
	}
	if !leaseHeld(lease, time.Now()) {
		holder, renewed := "nobody", "never"
		if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
			holder = *h
		}
		if r := lease.Spec.RenewTime; r != nil {
			renewed = time.Since(r.Time).Round(time.Second).String() + " ago"
		}
		return "", fmt.Errorf("its leader election Lease %s/%s has no live leader (held by %s, last renewed %s)", namespace, name, holder, renewed)
	}
	return *lease.Spec.HolderIdentity, nil
}
