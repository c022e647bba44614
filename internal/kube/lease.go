package kube

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Lease timings: short, because a provider process cannot release its
// leases when Terraform ends it; the next apply waits at most
// leaseDuration for them.
const (
	leaseDuration = 15 * time.Second
	leaseRenew    = 10 * time.Second
	leaseRetry    = 2 * time.Second
)

// Locks hands out per-cluster Leases in the management cluster, held for
// the life of the process, so that two applies never work on one cluster
// at once. It uses client-go's leader election on a Lease per cluster.
type Locks struct {
	client   kubernetes.Interface
	identity string

	mu      sync.Mutex
	held    map[string]*leaderelection.LeaderElector
	cancels []context.CancelFunc
	running sync.WaitGroup
}

// NewLocks returns the locks of this process.
func NewLocks(c *Client) (*Locks, error) {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return &Locks{client: cs, identity: fmt.Sprintf("terraform-provider-capi@%s/%d-%s", host, os.Getpid(), rand.String(5)),
		held: map[string]*leaderelection.LeaderElector{}}, nil
}

// LeaseName is the Lease that guards a cluster.
func LeaseName(cluster string) string { return leasePrefix + cluster }

// leasePrefix begins the name of every cluster's Lease.
const leasePrefix = "capi-provider-"

// Lock acquires the Lease of a cluster, waiting while another process holds
// it, until ctx ends.
func (l *Locks) Lock(ctx context.Context, namespace, cluster string) error {
	key := namespace + "/" + cluster
	l.mu.Lock()
	elector, ok := l.held[key]
	if !ok {
		lock := &resourcelock.LeaseLock{
			LeaseMeta:  metaFor(namespace, LeaseName(cluster)),
			Client:     l.client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: l.identity},
		}
		var err error
		elector, err = leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, LeaseDuration: leaseDuration, RenewDeadline: leaseRenew, RetryPeriod: leaseRetry,
			Name: key, ReleaseOnCancel: true,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) {},
				OnStoppedLeading: func() {},
			},
		})
		if err != nil {
			l.mu.Unlock()
			return err
		}
		l.held[key] = elector
		// Runs until Release or the end of the process: the lease is
		// renewed as long as Terraform keeps the provider.
		runCtx, cancel := context.WithCancel(context.Background())
		l.cancels = append(l.cancels, cancel)
		l.running.Add(1)
		go func() {
			defer l.running.Done()
			elector.Run(runCtx)
		}()
	}
	l.mu.Unlock()

	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for !elector.IsLeader() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster %s is being applied by another process (%s holds Lease %s/%s); "+
				"wait for that apply to finish (its lease expires %s after it ends), or raise the timeout",
				key, elector.GetLeader(), namespace, LeaseName(cluster), leaseDuration)
		case <-ticker.C:
		}
	}
	return nil
}

// Held reports whether this process holds the Lease of a cluster now.
func (l *Locks) Held(namespace, cluster string) bool {
	l.mu.Lock()
	elector, ok := l.held[namespace+"/"+cluster]
	l.mu.Unlock()
	return ok && elector.IsLeader()
}

// Release gives up every lease this process holds, so that the next apply
// does not wait for them to expire. It waits a few seconds at most. A later
// Lock takes the lease anew.
func (l *Locks) Release() {
	l.mu.Lock()
	for _, cancel := range l.cancels {
		cancel()
	}
	l.cancels = nil
	clear(l.held)
	l.mu.Unlock()
	done := make(chan struct{})
	go func() { l.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

func metaFor(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}
