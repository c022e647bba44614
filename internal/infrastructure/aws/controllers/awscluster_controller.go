package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/cluster-api/util/finalizers"
	"sigs.k8s.io/cluster-api/util/patch"
	"sigs.k8s.io/cluster-api/util/paused"
	"sigs.k8s.io/cluster-api/util/predicates"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

// pendingRequeue is how soon a reconciler looks again at cloud resources
// that are still on their way (EC2 has no watch).
const pendingRequeue = 2 * time.Second

// driftCheckInterval is how often a provisioned AWSCluster whose spec has
// not changed is checked against the cloud again. Events in between (status
// updates of the Cluster, say) cost no cloud calls.
const driftCheckInterval = 10 * time.Minute

// notOwnedRequeue is how soon a cluster another process holds is looked at
// again.
const notOwnedRequeue = 10 * time.Second

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
func (r *AWSClusterReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
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
	if r.Owns != nil && !r.Owns(cluster.Namespace, cluster.Name) {
		// Another apply holds the cluster; look again later.
		return ctrl.Result{RequeueAfter: notOwnedRequeue}, nil
	}
	if isPaused, requeue, err := paused.EnsurePausedCondition(ctx, r.Client, cluster, awsCluster); err != nil || isPaused || requeue {
		return ctrl.Result{}, err
	}
	if !awsCluster.DeletionTimestamp.IsZero() {
		return r.patching(ctx, awsCluster, func() (ctrl.Result, error) { return r.reconcileDelete(ctx, cluster, awsCluster) })
	}
	if added, err := finalizers.EnsureFinalizer(ctx, r.Client, awsCluster, infrav1.ClusterFinalizer); err != nil || added {
		return ctrl.Result{}, err
	}
	return r.patching(ctx, awsCluster, func() (ctrl.Result, error) { return r.reconcileNormal(ctx, cluster, awsCluster) })
}

// patching runs phase and patches what it changed, conditions included.
func (r *AWSClusterReconciler) patching(ctx context.Context, awsCluster *infrav1.AWSCluster, phase func() (ctrl.Result, error)) (ctrl.Result, error) {
	helper, err := patch.NewHelper(awsCluster, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	result, err := phase()
	summarizeCluster(awsCluster)
	if perr := helper.Patch(ctx, awsCluster, patch.WithOwnedConditions{Conditions: []string{
		infrav1.ReadyCondition, infrav1.NetworkReadyCondition, infrav1.SecurityGroupsReadyCondition, infrav1.LoadBalancerReadyCondition,
		clusterv1.PausedCondition,
	}}); perr != nil && !apierrors.IsNotFound(perr) {
		return ctrl.Result{}, perr
	}
	return result, err
}

func ownerCluster(cluster *clusterv1.Cluster, awsCluster *infrav1.AWSCluster) cloud.Cluster {
	return cloud.Cluster{Namespace: cluster.Namespace, Name: cluster.Name, UID: string(awsCluster.UID)}
}

func apiServerPort(awsCluster *infrav1.AWSCluster) int32 {
	if p := awsCluster.Spec.Network.APIServerPort; p != 0 {
		return p
	}
	return 6443
}

func (r *AWSClusterReconciler) reconcileNormal(ctx context.Context, cluster *clusterv1.Cluster, awsCluster *infrav1.AWSCluster) (ctrl.Result, error) {
	if wait := r.backoff.wait(awsCluster); wait > 0 {
		// A pass failed moments ago: whatever brought this one, the cloud
		// is not asked again before its backoff is over.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	key := fmt.Sprintf("%s/%d", awsCluster.UID, awsCluster.Generation)
	if last, ok := r.checked.Load(key); ok && ptr.Deref(awsCluster.Status.Initialization.Provisioned, false) {
		if wait := driftCheckInterval - time.Since(last.(time.Time)); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	result, err := r.reconcileCloud(ctx, cluster, awsCluster)
	if err != nil {
		return r.retryLater(ctx, awsCluster, err), nil
	}
	r.backoff.succeeded(awsCluster)
	if result.IsZero() {
		r.checked.Store(key, time.Now())
		result.RequeueAfter = driftCheckInterval
	}
	return result, nil
}

// retryLater holds the AWSCluster's next cloud calls back after a failed
// pass, whose error its conditions and events already report, and asks
// for the pass after the backoff.
func (r *AWSClusterReconciler) retryLater(ctx context.Context, awsCluster *infrav1.AWSCluster, err error) ctrl.Result {
	delay := r.backoff.failed(awsCluster, cloud.AsPermanent(err) != nil)
	ctrl.LoggerFrom(ctx).Error(err, "Reconciling the AWSCluster failed", "retryAfter", delay.Round(time.Second), "permanent", cloud.AsPermanent(err) != nil)
	return ctrl.Result{RequeueAfter: delay}
}

// stepFailed reports a failed step of a pass in condType (and so in
// Ready) and a warning event, with the cloud's message; an error that no
// retry can clear gets a reason that says so (infrav1.IsPermanentFailure).
// It returns err.
func (r *AWSClusterReconciler) stepFailed(awsCluster *infrav1.AWSCluster, condType, reason, permanentReason, what string, err error) error {
	reason = failureReason(err, reason, permanentReason)
	msg := cloud.Message(err)
	setCondition(awsCluster, condType, false, reason, msg)
	r.recorder.Eventf(awsCluster, corev1.EventTypeWarning, reason, "%s: %s", what, msg)
	return err
}

func (r *AWSClusterReconciler) reconcileCloud(ctx context.Context, cluster *clusterv1.Cluster, awsCluster *infrav1.AWSCluster) (ctrl.Result, error) {
	clients, err := r.Clients(ctx, awsCluster.Spec.Region)
	if err != nil {
		return ctrl.Result{}, r.stepFailed(awsCluster, infrav1.NetworkReadyCondition, "NetworkFailed", infrav1.NetworkPermanentFailureReason,
			"Configuring AWS", err)
	}
	cl := ownerCluster(cluster, awsCluster)
	st := &awsCluster.Status.Network
	first := !ptr.Deref(awsCluster.Status.Initialization.Provisioned, false)

	networkReady, err := clients.ReconcileNetwork(ctx, cl, awsCluster.Spec.Network, st)
	if err != nil {
		return ctrl.Result{}, r.stepFailed(awsCluster, infrav1.NetworkReadyCondition, "NetworkFailed", infrav1.NetworkPermanentFailureReason,
			"Reconciling the network", err)
	}
	if !networkReady {
		setCondition(awsCluster, infrav1.NetworkReadyCondition, false, "NATGatewaysPending", "Waiting for the NAT gateways to become available")
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	}
	setCondition(awsCluster, infrav1.NetworkReadyCondition, true, "NetworkReady",
		fmt.Sprintf("VPC %s with %d subnets", st.VPCID, len(st.Subnets)))

	if err := clients.ReconcileSecurityGroups(ctx, cl, apiServerPort(awsCluster), st); err != nil {
		return ctrl.Result{}, r.stepFailed(awsCluster, infrav1.SecurityGroupsReadyCondition, "SecurityGroupsFailed", infrav1.SecurityGroupsPermanentFailureReason,
			"Reconciling the security groups", err)
	}
	setCondition(awsCluster, infrav1.SecurityGroupsReadyCondition, true, "SecurityGroupsReady", "")

	lbReady, err := clients.ReconcileLoadBalancer(ctx, cl, apiServerPort(awsCluster), st)
	if err != nil {
		return ctrl.Result{}, r.stepFailed(awsCluster, infrav1.LoadBalancerReadyCondition, "LoadBalancerFailed", infrav1.LoadBalancerPermanentFailureReason,
			"Reconciling the API server load balancer", err)
	}
	// The endpoint is known as soon as the load balancer exists.
	awsCluster.Spec.ControlPlaneEndpoint = clusterv1.APIEndpoint{Host: st.LoadBalancer.DNSName, Port: apiServerPort(awsCluster)}
	if !lbReady {
		setCondition(awsCluster, infrav1.LoadBalancerReadyCondition, false, "LoadBalancerProvisioning", "Waiting for the load balancer to become active")
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	}
	setCondition(awsCluster, infrav1.LoadBalancerReadyCondition, true, "LoadBalancerActive", st.LoadBalancer.DNSName)

	awsCluster.Status.FailureDomains = nil
	seen := map[string]bool{}
	for _, s := range st.Subnets {
		if !seen[s.AvailabilityZone] {
			seen[s.AvailabilityZone] = true
			awsCluster.Status.FailureDomains = append(awsCluster.Status.FailureDomains, clusterv1.FailureDomain{Name: s.AvailabilityZone, ControlPlane: ptr.To(true)})
		}
	}
	awsCluster.Status.Initialization.Provisioned = ptr.To(true)
	if first {
		r.recorder.Eventf(awsCluster, corev1.EventTypeNormal, "Provisioned", "VPC %s, %d zones, API server load balancer %s",
			st.VPCID, len(awsCluster.Status.FailureDomains), st.LoadBalancer.DNSName)
	}
	return ctrl.Result{}, nil
}

func (r *AWSClusterReconciler) reconcileDelete(ctx context.Context, cluster *clusterv1.Cluster, awsCluster *infrav1.AWSCluster) (ctrl.Result, error) {
	if wait := r.backoff.wait(awsCluster); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	result, err := r.deleteCloud(ctx, cluster, awsCluster)
	if err != nil {
		return r.retryLater(ctx, awsCluster, err), nil
	}
	r.backoff.succeeded(awsCluster)
	return result, nil
}

func (r *AWSClusterReconciler) deleteCloud(ctx context.Context, cluster *clusterv1.Cluster, awsCluster *infrav1.AWSCluster) (ctrl.Result, error) {
	failed := func(what string, err error) error {
		reason, msg := failureReason(err, "DeleteFailed", infrav1.DeletePermanentFailureReason), what+": "+cloud.Message(err)
		setCondition(awsCluster, infrav1.ReadyCondition, false, reason, msg)
		r.recorder.Eventf(awsCluster, corev1.EventTypeWarning, reason, "%s", msg)
		return err
	}
	clients, err := r.Clients(ctx, awsCluster.Spec.Region)
	if err != nil {
		return ctrl.Result{}, failed("Configuring AWS", err)
	}
	cl := ownerCluster(cluster, awsCluster)
	vpcs, err := clients.ClusterVPCs(ctx, cl, awsCluster.Spec.Network)
	if err != nil {
		return ctrl.Result{}, failed("Looking up the VPC", err)
	}
	// What a cloud controller manager made for Services goes before the
	// network it blocks. That is done for every cluster, not only those
	// with the provider's cloud controller manager (the label
	// terraform-capi.io/cloud-controller-manager): a user may run one of
	// their own, and without one the lookups find nothing.
	var waiting []cloud.ServiceResource
	forServices := func(del deleteForServices) func() (bool, error) {
		return func() (bool, error) {
			var err error
			waiting, err = r.deleteServiceResources(ctx, awsCluster, cl, vpcs, del)
			return len(waiting) == 0, err
		}
	}
	steps := []struct {
		what string
		del  func() (bool, error)
	}{
		{"load balancer", func() (bool, error) { return clients.DeleteLoadBalancer(ctx, cl) }},
		{"load balancers of Services", forServices(clients.DeleteServiceLoadBalancers)},
		{"security groups of Services", forServices(clients.DeleteServiceSecurityGroups)},
		{"security groups", func() (bool, error) { return clients.DeleteSecurityGroups(ctx, cl) }},
		{"network", func() (bool, error) { return clients.DeleteNetwork(ctx, cl, awsCluster.Spec.Network) }},
	}
	for _, s := range steps {
		done, err := s.del()
		if err != nil {
			return ctrl.Result{}, failed("Deleting the "+s.what, err)
		}
		if !done {
			setCondition(awsCluster, infrav1.ReadyCondition, false, "Deleting", waitingMessage(s.what, waiting))
			return ctrl.Result{RequeueAfter: pendingRequeue}, nil
		}
	}
	r.recorder.Eventf(awsCluster, corev1.EventTypeNormal, "Deleted", "Deleted the load balancer, security groups and network")
	controllerutil.RemoveFinalizer(awsCluster, infrav1.ClusterFinalizer)
	return ctrl.Result{}, nil
}

// deleteForServices deletes in a VPC what a cloud controller manager
// made for a cluster's Services, and returns what it deleted and what is
// still there.
type deleteForServices func(ctx context.Context, cl cloud.Cluster, vpcID string) (deleted, waiting []cloud.ServiceResource, err error)

// deleteServiceResources runs del in each of the cluster's VPCs, records
// an event for each resource it deleted and returns those still there.
func (r *AWSClusterReconciler) deleteServiceResources(ctx context.Context, awsCluster *infrav1.AWSCluster, cl cloud.Cluster, vpcs []string,
	del deleteForServices) ([]cloud.ServiceResource, error) {
	var waiting []cloud.ServiceResource
	for _, vpc := range vpcs {
		deleted, left, err := del(ctx, cl, vpc)
		for _, res := range deleted {
			r.recorder.Eventf(awsCluster, corev1.EventTypeNormal, "ServiceResourceDeleted", "Deleted %s, left by a cloud controller manager", res)
		}
		if err != nil {
			return nil, err
		}
		waiting = append(waiting, left...)
	}
	return waiting, nil
}

// waitingMessage says what a delete waits for, naming the resources when
// it knows them: a person can see what holds a cluster.
func waitingMessage(what string, resources []cloud.ServiceResource) string {
	msg := "Waiting for the " + what + " to be deleted"
	for i, res := range resources {
		if i == 0 {
			msg += ": "
		} else {
			msg += ", "
		}
		msg += res.String()
	}
	return msg
}

func setCondition(obj conditions.Setter, condType string, ok bool, reason, message string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	conditions.Set(obj, metav1.Condition{Type: condType, Status: status, Reason: reason, Message: message})
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
