package controllers

import (
	"context"
	"sync"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
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
	"sigs.k8s.io/cluster-api/util/finalizers"
	"sigs.k8s.io/cluster-api/util/predicates"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

// AWSMachineReconciler runs and terminates the EC2 instance of a Machine.
type AWSMachineReconciler struct {
	Client           client.Client
	Clients          ClientsFactory
	WatchFilterValue string
	// Owns says whether this process may act on a cluster (nil: all).
	Owns     func(namespace, cluster string) bool
	recorder record.EventRecorder
	// checked records, by AWSMachine UID, when its instance was last
	// described and whether it was running then.
	checked sync.Map
	// unseen records, by AWSMachine UID, when EC2 first did not know the
	// instance recorded in its spec.
	unseen  sync.Map
	backoff *failureBackoff
}

// instanceVisibilityGrace is how long an instance that EC2 does not know
// is taken for one not visible yet (EC2 is eventually consistent right
// after RunInstances) rather than for one gone.
const instanceVisibilityGrace = 2 * time.Minute

type instanceCheck struct {
	at      time.Time
	running bool
}

// instanceCheckInterval is how often the instance of a provisioned
// AWSMachine is described again; a pending one is described every
// pendingRequeue. Events in between (the Machine's status changing as its
// node joins, say) cost no cloud calls: without this, a deployment of 100
// machines described its instances some 1,700 times in one apply. An
// instance gone between checks still shows at once where it matters, as
// its node leaving the workload cluster.
const instanceCheckInterval = time.Minute

// machineConditions are the conditions the reconciler owns on an
// AWSMachine.
var machineConditions = []string{infrav1.ReadyCondition, infrav1.InstanceReadyCondition, clusterv1.PausedCondition}

// SetupWithManager registers the reconciler.
func (r *AWSMachineReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	log := ctrl.LoggerFrom(ctx)
	r.recorder = mgr.GetEventRecorderFor("awsmachine-controller")
	r.backoff = newFailureBackoff(clock.RealClock{})
	clusterToAWSMachines, err := util.ClusterToTypedObjectsMapper(mgr.GetClient(), &infrav1.AWSMachineList{}, mgr.GetScheme())
	if err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&infrav1.AWSMachine{}).
		Named("awsmachine").
		WithOptions(options).
		WithEventFilter(predicates.ResourceHasFilterLabel(mgr.GetScheme(), log, r.WatchFilterValue)).
		// A Machine gets its bootstrap data after its AWSMachine exists.
		Watches(&clusterv1.Machine{},
			handler.EnqueueRequestsFromMapFunc(util.MachineToInfrastructureMapFunc(infrav1.GroupVersion.WithKind("AWSMachine")))).
		// A paused reconcile does not requeue: unpausing the Cluster, or
		// its infrastructure becoming ready, has to bring it back.
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(clusterToAWSMachines),
			builder.WithPredicates(predicates.ClusterPausedTransitionsOrInfrastructureProvisioned(mgr.GetScheme(), log))).
		Complete(r)
}

// Reconcile is one pass over an AWSMachine.
func (r *AWSMachineReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	awsMachine := &infrav1.AWSMachine{}
	if err := r.Client.Get(ctx, req.NamespacedName, awsMachine); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	machine, err := util.GetOwnerMachine(ctx, r.Client, awsMachine.ObjectMeta)
	if err != nil || machine == nil {
		return ctrl.Result{}, err
	}
	cluster, err := util.GetClusterFromMetadata(ctx, r.Client, machine.ObjectMeta)
	if err != nil {
		return ctrl.Result{}, err
	}
	if result, skip, err := skipPass(ctx, r.Client, r.Owns, cluster, awsMachine); skip {
		return result, err
	}
	awsCluster := &infrav1.AWSCluster{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: cluster.Spec.InfrastructureRef.Name}, awsCluster); err != nil {
		return ctrl.Result{}, err
	}
	s := &scope{cluster: cluster, awsCluster: awsCluster, machine: machine, awsMachine: awsMachine, log: ctrl.LoggerFrom(ctx)}
	if !awsMachine.DeletionTimestamp.IsZero() {
		return patching(ctx, r.Client, s, machineConditions, r.reconcileDelete)
	}
	if added, err := finalizers.EnsureFinalizer(ctx, r.Client, awsMachine, infrav1.MachineFinalizer); err != nil || added {
		return ctrl.Result{}, err
	}
	return patching(ctx, r.Client, s, machineConditions, r.reconcileNormal)
}

func (r *AWSMachineReconciler) reconcileNormal(ctx context.Context, s *scope) (ctrl.Result, error) {
	if !ptr.Deref(s.cluster.Status.Initialization.InfrastructureProvisioned, false) {
		r.waiting(s.awsMachine, infrav1.WaitingForClusterInfrastructureReason, "Waiting for the cluster's network and load balancer")
		return ctrl.Result{}, nil
	}
	if s.machine.Spec.Bootstrap.DataSecretName == nil {
		r.waiting(s.awsMachine, infrav1.WaitingForBootstrapDataReason, "Waiting for the bootstrap provider's data secret")
		return ctrl.Result{}, nil
	}
	if wait := r.backoff.wait(s.awsMachine); wait > 0 {
		// A pass failed moments ago: whatever brought this one (the
		// Machine mirroring the failure, say), the cloud is not asked
		// again before its backoff is over.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	return runPhases(ctx, r.backoff, s,
		r.waitForNextCheck,
		connect(r.Clients, func(s *scope, err error) error {
			return r.failed(s.awsMachine, infrav1.InstanceLookupFailedReason, infrav1.InstancePermanentFailureReason, "configuring AWS", err)
		}),
		r.reconcileInstanceLookup,
		r.reconcileInstanceRun,
		r.reconcileInstanceState,
		r.reconcileProvisioned,
	), nil
}

// failed reports a failed step, what (may be empty when err says it), in
// InstanceReady and Ready and in a warning event, with the cloud's
// message, and returns err. An error that no retry can clear (no such
// image, a root volume below the image's, an instance type EC2 does not
// know) gets a reason that says so (infrav1.IsPermanentFailure): the
// error stays in the conditions and events, and a Terraform apply waiting
// on the machine sees why. An error a retry may clear, on a machine whose
// instance runs, leaves the conditions as they are: the instance is no
// less ready for a throttled look at it.
func (r *AWSMachineReconciler) failed(m *infrav1.AWSMachine, reason, permanentReason, what string, err error) error {
	reason, msg := failureReason(err, reason, permanentReason), cloud.Message(err)
	if what != "" {
		msg = what + ": " + msg
	}
	running := ptr.Deref(m.Status.Initialization.Provisioned, false) && m.DeletionTimestamp.IsZero()
	if !running || cloud.AsPermanent(err) != nil {
		r.waiting(m, reason, msg)
	}
	r.recorder.Eventf(m, corev1.EventTypeWarning, reason, "%s", msg)
	return err
}

func (r *AWSMachineReconciler) waiting(m *infrav1.AWSMachine, reason, message string) {
	setCondition(m, infrav1.InstanceReadyCondition, false, reason, message)
	setCondition(m, infrav1.ReadyCondition, false, reason, message)
}

// findInstance returns the AWSMachine's instance by its recorded ID, or
// else by its client token (which also finds an instance whose ID was
// never recorded), or nil.
func (r *AWSMachineReconciler) findInstance(ctx context.Context, s *scope) (*ec2types.Instance, error) {
	m := s.awsMachine
	if m.Spec.InstanceID != "" {
		i, err := s.clients.FindInstance(ctx, m.Spec.InstanceID)
		if err != nil || i != nil {
			r.unseen.Delete(m.UID)
			return i, err
		}
	}
	return s.clients.FindInstanceByToken(ctx, clientTokenOf(m))
}

// notVisibleYet says whether the recorded instance of an AWSMachine that
// EC2 does not know may only not be visible yet: it never ran as far as
// this AWSMachine knows, and was first missed less than the grace ago.
func (r *AWSMachineReconciler) notVisibleYet(m *infrav1.AWSMachine) bool {
	if m.Spec.InstanceID == "" || ptr.Deref(m.Status.Initialization.Provisioned, false) {
		return false
	}
	first, _ := r.unseen.LoadOrStore(m.UID, time.Now())
	return time.Since(first.(time.Time)) < instanceVisibilityGrace
}

// clientTokenOf is the idempotency token of an AWSMachine's instance: its
// UID never repeats, so a retry or a restarted process finds the instance
// an earlier call started.
func clientTokenOf(m *infrav1.AWSMachine) string { return string(m.UID) }
