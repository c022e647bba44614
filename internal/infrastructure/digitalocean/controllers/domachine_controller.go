package controllers

import (
	"context"
	"sync"
	"time"

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
	"sigs.k8s.io/cluster-api/util/finalizers"
	"sigs.k8s.io/cluster-api/util/patch"
	"sigs.k8s.io/cluster-api/util/paused"
	"sigs.k8s.io/cluster-api/util/predicates"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
)

// Droplet polling. A droplet boots in tens of seconds; DigitalOcean's rate
// limit (250 requests a minute for the account) would not bear a
// deployment of many machines polled every few seconds.
const (
	// dropletPendingRequeue is how soon a new droplet is read again.
	dropletPendingRequeue = 10 * time.Second
	// dropletCheckInterval is how often the droplet of a provisioned
	// DOMachine is read again: one deleted or powered off out of band is
	// reported within it. Events in between (the Machine's status changing
	// as its node joins, say) cost no cloud calls.
	dropletCheckInterval = time.Minute
)

// DOMachineReconciler creates and deletes the droplet of a Machine.
type DOMachineReconciler struct {
	Client           client.Client
	Cloud            ClientFactory
	WatchFilterValue string
	// Owns says whether this process may act on a cluster (nil: all).
	Owns     func(namespace, cluster string) bool
	recorder record.EventRecorder
	// checked records, by DOMachine UID, when its droplet was last read
	// and whether it was active then.
	checked sync.Map
	backoff *failureBackoff
}

type dropletCheck struct {
	at     time.Time
	active bool
}

// machineConditions are the conditions the reconciler owns on a DOMachine.
var machineConditions = []string{infrav1.ReadyCondition, infrav1.DropletReadyCondition, clusterv1.PausedCondition}

// SetupWithManager registers the reconciler.
func (r *DOMachineReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	log := ctrl.LoggerFrom(ctx)
	r.recorder = mgr.GetEventRecorderFor("domachine-controller")
	r.backoff = newFailureBackoff(time.Now)
	clusterToDOMachines, err := util.ClusterToTypedObjectsMapper(mgr.GetClient(), &infrav1.DOMachineList{}, mgr.GetScheme())
	if err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&infrav1.DOMachine{}).
		Named("domachine").
		WithOptions(options).
		WithEventFilter(predicates.ResourceHasFilterLabel(mgr.GetScheme(), log, r.WatchFilterValue)).
		// A Machine gets its bootstrap data after its DOMachine exists.
		Watches(&clusterv1.Machine{},
			handler.EnqueueRequestsFromMapFunc(util.MachineToInfrastructureMapFunc(infrav1.GroupVersion.WithKind("DOMachine")))).
		// A paused pass does not requeue: unpausing the Cluster, or its
		// infrastructure becoming provisioned, has to bring it back.
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(clusterToDOMachines),
			builder.WithPredicates(predicates.ClusterPausedTransitionsOrInfrastructureProvisioned(mgr.GetScheme(), log))).
		Complete(r)
}

// Reconcile is one pass over a DOMachine.
func (r *DOMachineReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	doMachine := &infrav1.DOMachine{}
	if err := r.Client.Get(ctx, req.NamespacedName, doMachine); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	machine, err := util.GetOwnerMachine(ctx, r.Client, doMachine.ObjectMeta)
	if err != nil || machine == nil {
		return ctrl.Result{}, err
	}
	cluster, err := util.GetClusterFromMetadata(ctx, r.Client, machine.ObjectMeta)
	if err != nil {
		return ctrl.Result{}, err
	}
	if r.Owns != nil && !r.Owns(cluster.Namespace, cluster.Name) {
		return ctrl.Result{RequeueAfter: notOwnedRequeue}, nil
	}
	if isPaused, requeue, err := paused.EnsurePausedCondition(ctx, r.Client, cluster, doMachine); err != nil || isPaused || requeue {
		return ctrl.Result{}, err
	}
	doCluster := &infrav1.DOCluster{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: cluster.Spec.InfrastructureRef.Name}, doCluster); err != nil {
		return ctrl.Result{}, err
	}
	s := &machineScope{cluster: cluster, machine: machine, doCluster: doCluster, doMachine: doMachine}
	if !doMachine.DeletionTimestamp.IsZero() {
		return r.patching(ctx, s, r.reconcileDelete)
	}
	if added, err := finalizers.EnsureFinalizer(ctx, r.Client, doMachine, infrav1.MachineFinalizer); err != nil || added {
		return ctrl.Result{}, err
	}
	return r.patching(ctx, s, r.reconcileNormal)
}

func (r *DOMachineReconciler) patching(ctx context.Context, s *machineScope, phase phase[*machineScope]) (ctrl.Result, error) {
	helper, err := patch.NewHelper(s.doMachine, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	result, err := phase(ctx, s)
	if perr := helper.Patch(ctx, s.doMachine, patch.WithOwnedConditions{Conditions: machineConditions}); perr != nil && !apierrors.IsNotFound(perr) {
		return ctrl.Result{}, perr
	}
	return result, err
}

func (r *DOMachineReconciler) reconcileNormal(ctx context.Context, s *machineScope) (ctrl.Result, error) {
	if !ptr.Deref(s.cluster.Status.Initialization.InfrastructureProvisioned, false) {
		r.waiting(s.doMachine, "WaitingForClusterInfrastructure", "Waiting for the cluster's VPC, firewall and load balancer")
		return ctrl.Result{}, nil
	}
	if s.machine.Spec.Bootstrap.DataSecretName == nil {
		r.waiting(s.doMachine, "WaitingForBootstrapData", "Waiting for the bootstrap provider's data secret")
		return ctrl.Result{}, nil
	}
	if wait := r.backoff.wait(s.doMachine); wait > 0 {
		// A pass failed moments ago: whatever brought this one (the
		// Machine mirroring the failure, say), the cloud is not asked
		// again before its backoff is over.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if last, ok := r.checked.Load(s.doMachine.UID); ok {
		c, interval := last.(dropletCheck), dropletPendingRequeue
		if c.active && ptr.Deref(s.doMachine.Status.Initialization.Provisioned, false) {
			interval = dropletCheckInterval
		}
		if wait := interval - time.Since(c.at); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	return runPhases(ctx, r.backoff, s.doMachine, "Reconciling the DOMachine", s, r.connect("DropletLookupFailed"), r.reconcileDroplet), nil
}

func (r *DOMachineReconciler) reconcileDelete(ctx context.Context, s *machineScope) (ctrl.Result, error) {
	if wait := r.backoff.wait(s.doMachine); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	return runPhases(ctx, r.backoff, s.doMachine, "Deleting the DOMachine's droplet", s, r.connect("DeleteFailed"), r.deleteDroplet), nil
}

// connect is the phase that gets the DigitalOcean client.
func (r *DOMachineReconciler) connect(reason string) phase[*machineScope] {
	return func(_ context.Context, s *machineScope) (ctrl.Result, error) {
		c, err := r.Cloud()
		if err != nil {
			return ctrl.Result{}, r.failed(s.doMachine, reason, infrav1.AuthenticationFailedReason, "configuring DigitalOcean", err)
		}
		s.cloud = c
		return ctrl.Result{}, nil
	}
}

func (r *DOMachineReconciler) waiting(m *infrav1.DOMachine, reason, message string) {
	setCondition(m, infrav1.DropletReadyCondition, false, reason, message)
	setCondition(m, infrav1.ReadyCondition, false, reason, message)
}
