package kube

import (
	"context"
	"fmt"
	"strings"
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
	leases coordinationlisters.LeaseLister
	now    func() time.Time
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
	return &ApplyLeases{leases: lister, now: time.Now}, nil
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
