package controllers

import (
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
)

// Requeue intervals. DigitalOcean has no watch, and its rate limit (250
// requests a minute for the whole account) makes polling dear: a load
// balancer takes a minute or more to turn active, a droplet some tens of
// seconds to boot.
const (
	// pendingRequeue is how soon resources on their way are looked at
	// again, and deletions waiting for dependents.
	pendingRequeue = 5 * time.Second
	// driftCheckInterval is how often a provisioned DOCluster whose spec
	// has not changed is checked against the cloud again. Events in
	// between (status updates of the Cluster, say) cost no cloud calls.
	driftCheckInterval = 10 * time.Minute
	// networkRecheckInterval is how long the VPC and the firewall are
	// taken to stay as they were reconciled, while the passes wait for the
	// load balancer: each would cost two list calls.
	networkRecheckInterval = time.Minute
)

// clusterKind is what the passes need to know of the DOCluster.
var clusterKind = reconcile.Kind{Cloud: doCloud, Finalizer: infrav1.ClusterFinalizer,
	Conditions: []string{infrav1.VPCReadyCondition, infrav1.FirewallReadyCondition, infrav1.LoadBalancerReadyCondition}}

// The DOCluster reconciler reads its Cluster and the cluster's Machines
// and DOMachines (whose addresses its firewall admits), and writes the
// DOCluster, its status and finalizer, and events. Cluster API's
// reconcilers create, patch and delete the provider's kinds too (their own
// markers grant that on infrastructure.cluster.x-k8s.io only), hence every
// verb here.
//
// +kubebuilder:rbac:groups=infrastructure.terraform-capi.io,resources=doclusters;doclusters/status;doclusters/finalizers,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters;clusters/status;machines,verbs=get;list;watch
// +kubebuilder:rbac:groups=core,resources=events,verbs=create;patch

// DOClusterReconciler makes a DOCluster's VPC, firewall and API server
// load balancer exist, and deletes them.
type DOClusterReconciler struct {
	Cloud            ClientFactory
	Client           client.Client
	WatchFilterValue string
	// Owns says whether this process may act on a cluster (nil: all).
	Owns func(namespace, cluster string) bool
	// networked records when each DOCluster (by UID and generation) last
	// had its VPC and firewall reconciled: while its load balancer comes
	// up, the passes that wait for it skip them.
	networked reconcile.Reconciled
	passes    *reconcile.Passes[*infrav1.DOCluster, *clusterScope]
}

// SetupWithManager registers the reconciler: its passes are
// reconcile.Passes', over the DOCluster's phases.
func (r *DOClusterReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	r.passes = reconcile.New(clusterKind, r.Client, r.Owns, r.newClusterScope, r.reconcileNormal, r.reconcileDelete)
	// The load balancer's firewall admits the droplets' public addresses:
	// a droplet that gets or loses one brings a pass.
	return r.passes.SetupCluster(ctx, mgr, options, &infrav1.DOCluster{}, r.WatchFilterValue, reconcile.Watch{
		Object:     &infrav1.DOMachine{},
		Handler:    handler.EnqueueRequestsFromMapFunc(r.doMachineToDOCluster),
		Predicates: []predicate.Predicate{addressesChanged()},
	})
}

// doMachineToDOCluster maps a DOMachine to its cluster's DOCluster.
func (r *DOClusterReconciler) doMachineToDOCluster(ctx context.Context, o client.Object) []ctrl.Request {
	name := o.GetLabels()[clusterv1.ClusterNameLabel]
	if name == "" {
		return nil
	}
	cluster := &clusterv1.Cluster{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: o.GetNamespace(), Name: name}, cluster); err != nil {
		return nil
	}
	if ref := cluster.Spec.InfrastructureRef; ref.Kind != "DOCluster" || ref.Name == "" {
		return nil
	}
	return []ctrl.Request{{NamespacedName: client.ObjectKey{Namespace: cluster.Namespace, Name: cluster.Spec.InfrastructureRef.Name}}}
}

// addressesChanged lets through the DOMachine events that change the
// public addresses of the cluster's droplets.
func addressesChanged() predicate.Funcs {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool { return hasAddresses(e.Object) },
		DeleteFunc: func(e event.DeleteEvent) bool { return hasAddresses(e.Object) },
		UpdateFunc: func(e event.UpdateEvent) bool {
			before, okBefore := e.ObjectOld.(*infrav1.DOMachine)
			after, okAfter := e.ObjectNew.(*infrav1.DOMachine)
			return okBefore && okAfter && !slices.Equal(externalAddresses(before), externalAddresses(after))
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

func hasAddresses(o client.Object) bool {
	m, ok := o.(*infrav1.DOMachine)
	return ok && len(externalAddresses(m)) > 0
}

// clusterPhase is a step of a pass over a DOCluster.
type clusterPhase = reconcile.Phase[*clusterScope]

func (r *DOClusterReconciler) reconcileNormal(ctx context.Context, s *clusterScope) (ctrl.Result, error) {
	c := s.doCluster
	provisioned := ptr.Deref(c.Status.Initialization.Provisioned, false)
	if !slices.Equal(s.lbAllow, c.Status.Network.LoadBalancer.Allow) {
		// A droplet came or went: its address is for the load balancer's
		// firewall now, not at the next drift check.
		r.passes.Recheck(c)
	}
	return r.passes.DriftChecked(c, c.Status.Initialization.Provisioned, driftCheckInterval, func() ctrl.Result {
		phases := []clusterPhase{r.connect(infrav1.VPCReadyCondition, "VPCFailed")}
		if !r.recentlyNetworked(c) {
			phases = append(phases, r.reconcileVPC, r.reconcileFirewall, r.networkDone)
		}
		phases = append(phases, r.reconcileLoadBalancer, r.reconcileProvisioned)
		result := r.passes.Run(ctx, c, "Reconciling the DOCluster", s, phases...)
		if result.IsZero() && !provisioned {
			r.passes.Recorder.Eventf(c, corev1.EventTypeNormal, "Provisioned", "VPC %s, firewall %s, API server load balancer %s at %s",
				c.Status.Network.VPCUUID, c.Status.Network.FirewallID, c.Status.Network.LoadBalancer.ID, c.Spec.ControlPlaneEndpoint.Host)
		}
		return result
	}), nil
}

// recentlyNetworked says whether the VPC and the firewall of c were
// reconciled moments ago, at its generation, and c shows them: a pass
// that the last one's own status patch brings reads c from a cache that
// may not have that patch yet.
func (r *DOClusterReconciler) recentlyNetworked(c *infrav1.DOCluster) bool {
	st := c.Status.Network
	return r.networked.Wait(c, networkRecheckInterval) > 0 && st.VPCUUID != "" && st.VPCIPRange != "" && st.FirewallID != ""
}

// networkDone is the phase that records that the VPC and the firewall
// of a DOCluster, at its generation, are as the spec says.
func (r *DOClusterReconciler) networkDone(_ context.Context, s *clusterScope) (ctrl.Result, error) {
	r.networked.Done(s.doCluster)
	return ctrl.Result{}, nil
}

// connect is the phase that gets the DigitalOcean client; a failure is
// reported in condType.
func (r *DOClusterReconciler) connect(condType, reason string) clusterPhase {
	return func(_ context.Context, s *clusterScope) (ctrl.Result, error) {
		c, err := r.Cloud()
		if err != nil {
			return ctrl.Result{}, r.stepFailed(s.doCluster, condType, reason, infrav1.AuthenticationFailedReason, "Configuring DigitalOcean", err)
		}
		s.cloud = c
		return ctrl.Result{}, nil
	}
}

// stepFailed reports a failed step in condType (and so in Ready) and a
// warning event, with the cloud's message; an error that no retry can
// clear gets a reason that says so (infrav1.IsPermanentFailure). It
// returns err.
func (r *DOClusterReconciler) stepFailed(c *infrav1.DOCluster, condType, reason, permanentReason, what string, err error) error {
	reason = reconcile.FailureReason(cloud.AsPermanent, err, reason, permanentReason)
	msg := what + ": " + cloud.Message(err)
	reconcile.SetCondition(c, condType, false, reason, msg)
	r.passes.Recorder.Eventf(c, corev1.EventTypeWarning, reason, "%s", msg)
	return err
}
