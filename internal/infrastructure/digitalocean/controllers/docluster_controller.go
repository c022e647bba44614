package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/cluster-api/util/finalizers"
	"sigs.k8s.io/cluster-api/util/patch"
	"sigs.k8s.io/cluster-api/util/paused"
	"sigs.k8s.io/cluster-api/util/predicates"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
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
	// notOwnedRequeue is how soon a cluster another process holds is
	// looked at again.
	notOwnedRequeue = 10 * time.Second
)

// DOClusterReconciler makes a DOCluster's VPC, firewall and API server
// load balancer exist, and deletes them.
type DOClusterReconciler struct {
	Client           client.Client
	Cloud            ClientFactory
	WatchFilterValue string
	// Owns says whether this process may act on a cluster (nil: all).
	Owns     func(namespace, cluster string) bool
	recorder record.EventRecorder
	// checked records when each DOCluster (by UID and generation) was
	// last reconciled against the cloud.
	checked sync.Map
	// networked records when each DOCluster (by UID and generation) last
	// had its VPC and firewall reconciled: while its load balancer comes
	// up, the passes that wait for it skip them.
	networked sync.Map
	backoff   *failureBackoff
}

// clusterConditions are the conditions the reconciler owns on a DOCluster.
var clusterConditions = []string{infrav1.ReadyCondition, infrav1.VPCReadyCondition, infrav1.FirewallReadyCondition,
	infrav1.LoadBalancerReadyCondition, clusterv1.PausedCondition}

// SetupWithManager registers the reconciler.
func (r *DOClusterReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	log := ctrl.LoggerFrom(ctx)
	r.recorder = mgr.GetEventRecorderFor("docluster-controller")
	r.backoff = newFailureBackoff(time.Now)
	return ctrl.NewControllerManagedBy(mgr).
		For(&infrav1.DOCluster{}).
		Named("docluster").
		WithOptions(options).
		WithEventFilter(predicates.ResourceHasFilterLabel(mgr.GetScheme(), log, r.WatchFilterValue)).
		// Of the Cluster only pausing and unpausing matter: the owner
		// reference that brings the first pass is on the DOCluster.
		Watches(&clusterv1.Cluster{},
			handler.EnqueueRequestsFromMapFunc(util.ClusterToInfrastructureMapFunc(ctx, infrav1.GroupVersion.WithKind("DOCluster"), mgr.GetClient(), &infrav1.DOCluster{})),
			builder.WithPredicates(predicates.ClusterPausedTransitions(mgr.GetScheme(), log))).
		Complete(r)
}

// Reconcile is one pass over a DOCluster.
func (r *DOClusterReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	doCluster := &infrav1.DOCluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, doCluster); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	cluster, err := util.GetOwnerCluster(ctx, r.Client, doCluster.ObjectMeta)
	if err != nil || cluster == nil {
		// The Cluster controller sets the owner reference.
		return ctrl.Result{}, err
	}
	if r.Owns != nil && !r.Owns(cluster.Namespace, cluster.Name) {
		return ctrl.Result{RequeueAfter: notOwnedRequeue}, nil
	}
	if isPaused, requeue, err := paused.EnsurePausedCondition(ctx, r.Client, cluster, doCluster); err != nil || isPaused || requeue {
		return ctrl.Result{}, err
	}
	s := &clusterScope{cluster: cluster, doCluster: doCluster}
	if !doCluster.DeletionTimestamp.IsZero() {
		return r.patching(ctx, s, r.reconcileDelete)
	}
	if added, err := finalizers.EnsureFinalizer(ctx, r.Client, doCluster, infrav1.ClusterFinalizer); err != nil || added {
		return ctrl.Result{}, err
	}
	return r.patching(ctx, s, r.reconcileNormal)
}

// patching runs phase and patches what it changed, conditions included.
func (r *DOClusterReconciler) patching(ctx context.Context, s *clusterScope, phase clusterPhase) (ctrl.Result, error) {
	helper, err := patch.NewHelper(s.doCluster, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	result, err := phase(ctx, s)
	summarizeCluster(s.doCluster)
	if perr := helper.Patch(ctx, s.doCluster, patch.WithOwnedConditions{Conditions: clusterConditions}); perr != nil && !apierrors.IsNotFound(perr) {
		return ctrl.Result{}, perr
	}
	return result, err
}

// clusterPhase is a step of a pass over a DOCluster.
type clusterPhase = phase[*clusterScope]

func (r *DOClusterReconciler) reconcileNormal(ctx context.Context, s *clusterScope) (ctrl.Result, error) {
	if wait := r.backoff.wait(s.doCluster); wait > 0 {
		// A pass failed moments ago: whatever brought this one, the cloud
		// is not asked again before its backoff is over.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	key := fmt.Sprintf("%s/%d", s.doCluster.UID, s.doCluster.Generation)
	if last, ok := r.checked.Load(key); ok && ptr.Deref(s.doCluster.Status.Initialization.Provisioned, false) {
		if wait := driftCheckInterval - time.Since(last.(time.Time)); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	provisioned := ptr.Deref(s.doCluster.Status.Initialization.Provisioned, false)
	phases := []clusterPhase{r.connect(infrav1.VPCReadyCondition, "VPCFailed")}
	if !r.recentlyNetworked(key, s.doCluster) {
		phases = append(phases, r.reconcileVPC, r.reconcileFirewall, r.networkDone(key))
	}
	phases = append(phases, r.reconcileLoadBalancer, r.reconcileProvisioned)
	result := runPhases(ctx, r.backoff, s.doCluster, "Reconciling the DOCluster", s, phases...)
	if result.IsZero() {
		r.checked.Store(key, time.Now())
		result.RequeueAfter = driftCheckInterval
		if !provisioned {
			r.recorder.Eventf(s.doCluster, corev1.EventTypeNormal, "Provisioned", "VPC %s, firewall %s, API server load balancer %s at %s",
				s.doCluster.Status.Network.VPCUUID, s.doCluster.Status.Network.FirewallID, s.doCluster.Status.Network.LoadBalancer.ID,
				s.doCluster.Spec.ControlPlaneEndpoint.Host)
		}
	}
	return result, nil
}

// recentlyNetworked says whether the VPC and the firewall of c were
// reconciled moments ago for key, its UID and generation, and c shows
// them: a pass that the last one's own status patch brings reads c from
// a cache that may not have that patch yet.
func (r *DOClusterReconciler) recentlyNetworked(key string, c *infrav1.DOCluster) bool {
	last, ok := r.networked.Load(key)
	st := c.Status.Network
	return ok && time.Since(last.(time.Time)) < networkRecheckInterval && st.VPCUUID != "" && st.VPCIPRange != "" && st.FirewallID != ""
}

// networkDone is the phase that records that the VPC and the firewall
// of key (a DOCluster's UID and generation) are as the spec says.
func (r *DOClusterReconciler) networkDone(key string) clusterPhase {
	return func(context.Context, *clusterScope) (ctrl.Result, error) {
		r.networked.Store(key, time.Now())
		return ctrl.Result{}, nil
	}
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
	reason = failureReason(err, reason, permanentReason)
	msg := what + ": " + cloud.Message(err)
	setCondition(c, condType, false, reason, msg)
	r.recorder.Eventf(c, corev1.EventTypeWarning, reason, "%s", msg)
	return err
}

// summarizeCluster sets Ready from the other conditions, unless deletion
// set it.
func summarizeCluster(c *infrav1.DOCluster) {
	if !c.DeletionTimestamp.IsZero() {
		return
	}
	for _, t := range []string{infrav1.VPCReadyCondition, infrav1.FirewallReadyCondition, infrav1.LoadBalancerReadyCondition} {
		if cond := conditions.Get(c, t); cond == nil || cond.Status != "True" {
			reason, message := "Provisioning", t+" not reported yet"
			if cond != nil {
				reason, message = cond.Reason, cond.Message
			}
			setCondition(c, infrav1.ReadyCondition, false, reason, message)
			return
		}
	}
	setCondition(c, infrav1.ReadyCondition, true, "Ready", "")
}
