package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
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
	"sigs.k8s.io/cluster-api/util/predicates"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

// driftCheckInterval is how often a provisioned AWSCluster whose spec has
// not changed is checked against the cloud again. Events in between (status
// updates of the Cluster, say) cost no cloud calls.
const driftCheckInterval = 10 * time.Minute

// AWSClusterReconciler makes an AWSCluster's network and API server load
// balancer exist, and deletes them.
type AWSClusterReconciler struct {
	Client           client.Client
	Clients          ClientsFactory
	WatchFilterValue string
	// Owns says whether this process may act on a cluster (nil: all).
	Owns     func(namespace, cluster string) bool
	recorder record.EventRecorder
	// checked records when each AWSCluster (by UID and generation) was
	// last reconciled against the cloud.
	checked sync.Map
	backoff *failureBackoff
}

// clusterConditions are the conditions the reconciler owns on an
// AWSCluster.
var clusterConditions = []string{
	infrav1.ReadyCondition, infrav1.NetworkReadyCondition, infrav1.SecurityGroupsReadyCondition, infrav1.LoadBalancerReadyCondition,
	clusterv1.PausedCondition,
}

// SetupWithManager registers the reconciler.
func (r *AWSClusterReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	log := ctrl.LoggerFrom(ctx)
	r.recorder = mgr.GetEventRecorderFor("awscluster-controller")
	r.backoff = newFailureBackoff(clock.RealClock{})
	return ctrl.NewControllerManagedBy(mgr).
		For(&infrav1.AWSCluster{}).
		Named("awscluster").
		WithOptions(options).
		WithEventFilter(predicates.ResourceHasFilterLabel(mgr.GetScheme(), log, r.WatchFilterValue)).
		// Of the Cluster, only pausing and unpausing matter here: the
		// owner reference that brings the first pass is on the
		// AWSCluster. Its status changes, which mirror the AWSCluster's
		// own conditions, would only bring passes back.
		Watches(&clusterv1.Cluster{},
			handler.EnqueueRequestsFromMapFunc(util.ClusterToInfrastructureMapFunc(ctx, infrav1.GroupVersion.WithKind("AWSCluster"), mgr.GetClient(), &infrav1.AWSCluster{})),
			builder.WithPredicates(predicates.ClusterPausedTransitions(mgr.GetScheme(), log))).
		Complete(r)
}

// Reconcile is one pass over an AWSCluster.
func (r *AWSClusterReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	awsCluster := &infrav1.AWSCluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, awsCluster); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	cluster, err := util.GetOwnerCluster(ctx, r.Client, awsCluster.ObjectMeta)
	if err != nil {
		return ctrl.Result{}, err
	}
	if cluster == nil {
		// The Cluster controller sets the owner reference.
		return ctrl.Result{}, nil
	}
	if result, skip, err := skipPass(ctx, r.Client, r.Owns, cluster, awsCluster); skip {
		return result, err
	}
	s := &scope{cluster: cluster, awsCluster: awsCluster, log: ctrl.LoggerFrom(ctx)}
	if !awsCluster.DeletionTimestamp.IsZero() {
		return patching(ctx, r.Client, s, clusterConditions, summarized(r.reconcileDelete))
	}
	if added, err := finalizers.EnsureFinalizer(ctx, r.Client, awsCluster, infrav1.ClusterFinalizer); err != nil || added {
		return ctrl.Result{}, err
	}
	return patching(ctx, r.Client, s, clusterConditions, summarized(r.reconcileNormal))
}

func (r *AWSClusterReconciler) reconcileNormal(ctx context.Context, s *scope) (ctrl.Result, error) {
	if wait := r.backoff.wait(s.awsCluster); wait > 0 {
		// A pass failed moments ago: whatever brought this one, the cloud
		// is not asked again before its backoff is over.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	key := fmt.Sprintf("%s/%d", s.awsCluster.UID, s.awsCluster.Generation)
	if last, ok := r.checked.Load(key); ok && ptr.Deref(s.awsCluster.Status.Initialization.Provisioned, false) {
		if wait := driftCheckInterval - time.Since(last.(time.Time)); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	result := runPhases(ctx, r.backoff, s,
		connect(r.Clients, func(s *scope, err error) error {
			return r.stepFailed(s, infrav1.NetworkReadyCondition, infrav1.NetworkFailedReason, infrav1.NetworkPermanentFailureReason, "Configuring AWS", err)
		}),
		r.reconcileNetwork,
		r.reconcileSecurityGroups,
		r.reconcileLoadBalancer,
		r.reconcileProvisioned,
	)
	if result.IsZero() {
		r.checked.Store(key, time.Now())
		result.RequeueAfter = driftCheckInterval
	}
	return result, nil
}

// stepFailed reports a failed step of a pass in condType (and so in
// Ready) and a warning event, with the cloud's message; an error that no
// retry can clear gets a reason that says so (infrav1.IsPermanentFailure).
// It returns err.
func (r *AWSClusterReconciler) stepFailed(s *scope, condType, reason, permanentReason, what string, err error) error {
	reason = failureReason(err, reason, permanentReason)
	msg := cloud.Message(err)
	setCondition(s.awsCluster, condType, false, reason, msg)
	r.recorder.Eventf(s.awsCluster, corev1.EventTypeWarning, reason, "%s: %s", what, msg)
	return err
}

// summarized runs p, then sets Ready from the other conditions: what the
// pass reached shows in Ready, however it ended.
func summarized(p phase) phase {
	return func(ctx context.Context, s *scope) (ctrl.Result, error) {
		result, err := p(ctx, s)
		summarizeCluster(s.awsCluster)
		return result, err
	}
}

// summarizeCluster sets Ready from the other conditions, unless deletion
// set it.
func summarizeCluster(c *infrav1.AWSCluster) {
	if !c.DeletionTimestamp.IsZero() {
		return
	}
	for _, t := range []string{infrav1.NetworkReadyCondition, infrav1.SecurityGroupsReadyCondition, infrav1.LoadBalancerReadyCondition} {
		cond := conditions.Get(c, t)
		if cond == nil || cond.Status != metav1.ConditionTrue {
			reason, message := infrav1.ProvisioningReason, t+" not reported yet"
			if cond != nil {
				reason, message = cond.Reason, cond.Message
			}
			setCondition(c, infrav1.ReadyCondition, false, reason, message)
			return
		}
	}
	setCondition(c, infrav1.ReadyCondition, true, infrav1.ReadyReason, "")
}
