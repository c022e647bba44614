package workload

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// watchAddOns has the simulator look at a workload cluster again whenever
// a DaemonSet, Deployment or Node changes in it: that is how the add-ons
// that change what nodes report arrive (Cluster API's ClusterResourceSet
// creates them through the cluster's API server), and how a node comes to
// take pods (Cluster API lifts its own taints).
func (s *Simulator) watchAddOns(ctx context.Context) error {
	for _, obj := range []client.Object{&appsv1.DaemonSet{}, &appsv1.Deployment{}, &corev1.Node{}} {
		informer, err := s.mgr.GetCache().GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		if err := informer.AddEventHandler(addOnEvents{s}); err != nil {
			return err
		}
	}
	return nil
}

// addOnEvents forwards the in-memory cache's events (the resource group
// is the cluster's endpoint).
type addOnEvents struct{ s *Simulator }

func (h addOnEvents) OnCreate(endpoint string, _ client.Object)    { h.s.lookAgain(endpoint) }
func (h addOnEvents) OnUpdate(endpoint string, _, _ client.Object) { h.s.lookAgain(endpoint) }
func (h addOnEvents) OnDelete(endpoint string, _ client.Object)    { h.s.lookAgain(endpoint) }
func (h addOnEvents) OnGeneric(string, client.Object)              {}

// lookAgain queues one reconcile of the cluster behind the events already
// queued. The cache calls it with its own lock held, possibly from the
// event loop itself: it must neither block nor touch the cluster.
func (s *Simulator) lookAgain(endpoint string) {
	s.mu.Lock()
	queued := s.pending[endpoint]
	s.pending[endpoint] = true
	s.mu.Unlock()
	if queued {
		return
	}
	go func() {
		select {
		case s.events <- func() {
			s.mu.Lock()
			delete(s.pending, endpoint)
			s.mu.Unlock()
			s.reconcile(endpoint)
		}:
		case <-s.done:
		}
	}()
}

// reconcile plays, on one cluster, the controllers the lab stands in for.
func (s *Simulator) reconcile(endpoint string) {
	s.mu.Lock()
	c, ok := s.clusters[endpoint]
	s.mu.Unlock()
	if !ok {
		return
	}
	ctx := context.Background()
	if err := s.reconcileNetwork(ctx, c); err != nil {
		s.log.Error(err, "network plugin", "endpoint", endpoint)
	}
	if err := s.cloudControllerManager(ctx, c); err != nil {
		s.log.Error(err, "cloud controller manager", "endpoint", endpoint)
	}
	if err := c.reconcileCoreDNS(ctx); err != nil {
		s.log.Error(err, "CoreDNS", "endpoint", endpoint)
	}
}

// podOwner is a DaemonSet or a Deployment, as much as the lab reads of
// one.
type podOwner struct {
	daemonSet       bool
	namespace, name string
	pods            corev1.PodSpec
}

// podOwners lists the cluster's DaemonSets and Deployments.
func (c *cluster) podOwners(ctx context.Context) ([]podOwner, error) {
	var daemonSets appsv1.DaemonSetList
	if err := list(ctx, c.client, &daemonSets); err != nil {
		return nil, err
	}
	var deployments appsv1.DeploymentList
	if err := list(ctx, c.client, &deployments); err != nil {
		return nil, err
	}
	var owners []podOwner
	for _, d := range daemonSets.Items {
		owners = append(owners, podOwner{daemonSet: true, namespace: d.Namespace, name: d.Name, pods: d.Spec.Template.Spec})
	}
	for _, d := range deployments.Items {
		owners = append(owners, podOwner{namespace: d.Namespace, name: d.Name, pods: d.Spec.Template.Spec})
	}
	return owners, nil
}

// updateNode changes a node as a controller does: read, modify, write,
// again on a conflict with another writer (Cluster API patches nodes too).
func (c *cluster) updateNode(ctx context.Context, name string, modify func(*corev1.Node)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var n corev1.Node
		if err := c.client.Get(ctx, client.ObjectKey{Name: name}, &n); err != nil {
			return err
		}
		modify(&n)
		return c.client.Update(ctx, &n)
	})
}

func hasTaint(taints []corev1.Taint, key string) bool {
	for _, t := range taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

func withoutTaint(taints []corev1.Taint, key string) []corev1.Taint {
	var kept []corev1.Taint
	for _, t := range taints {
		if t.Key != key {
			kept = append(kept, t)
		}
	}
	return kept
}
