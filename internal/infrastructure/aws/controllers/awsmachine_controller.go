package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	"sigs.k8s.io/cluster-api/util/finalizers"
	"sigs.k8s.io/cluster-api/util/patch"
	"sigs.k8s.io/cluster-api/util/paused"
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
	if r.Owns != nil && !r.Owns(cluster.Namespace, cluster.Name) {
		// Another apply holds the cluster; look again later.
		return ctrl.Result{RequeueAfter: notOwnedRequeue}, nil
	}
	if isPaused, requeue, err := paused.EnsurePausedCondition(ctx, r.Client, cluster, awsMachine); err != nil || isPaused || requeue {
		return ctrl.Result{}, err
	}
	awsCluster := &infrav1.AWSCluster{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: cluster.Spec.InfrastructureRef.Name}, awsCluster); err != nil {
		return ctrl.Result{}, err
	}
	if !awsMachine.DeletionTimestamp.IsZero() {
		return r.patching(ctx, awsMachine, func() (ctrl.Result, error) { return r.reconcileDelete(ctx, machine, awsCluster, awsMachine) })
	}
	if added, err := finalizers.EnsureFinalizer(ctx, r.Client, awsMachine, infrav1.MachineFinalizer); err != nil || added {
		return ctrl.Result{}, err
	}
	return r.patching(ctx, awsMachine, func() (ctrl.Result, error) {
		return r.reconcileNormal(ctx, cluster, machine, awsCluster, awsMachine)
	})
}

func (r *AWSMachineReconciler) patching(ctx context.Context, awsMachine *infrav1.AWSMachine, phase func() (ctrl.Result, error)) (ctrl.Result, error) {
	helper, err := patch.NewHelper(awsMachine, r.Client)
	if err != nil {
		return ctrl.Result{}, err
	}
	result, err := phase()
	if perr := helper.Patch(ctx, awsMachine, patch.WithOwnedConditions{Conditions: []string{
		infrav1.ReadyCondition, infrav1.InstanceReadyCondition, clusterv1.PausedCondition,
	}}); perr != nil && !apierrors.IsNotFound(perr) {
		return ctrl.Result{}, perr
	}
	return result, err
}

func (r *AWSMachineReconciler) reconcileNormal(ctx context.Context, cluster *clusterv1.Cluster, machine *clusterv1.Machine, awsCluster *infrav1.AWSCluster, awsMachine *infrav1.AWSMachine) (ctrl.Result, error) {
	if !ptr.Deref(cluster.Status.Initialization.InfrastructureProvisioned, false) {
		r.waiting(awsMachine, "WaitingForClusterInfrastructure", "Waiting for the cluster's network and load balancer")
		return ctrl.Result{}, nil
	}
	if machine.Spec.Bootstrap.DataSecretName == nil {
		r.waiting(awsMachine, "WaitingForBootstrapData", "Waiting for the bootstrap provider's data secret")
		return ctrl.Result{}, nil
	}
	if wait := r.backoff.wait(awsMachine); wait > 0 {
		// A pass failed moments ago: whatever brought this one (the
		// Machine mirroring the failure, say), the cloud is not asked
		// again before its backoff is over.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	result, err := r.reconcileInstance(ctx, cluster, machine, awsCluster, awsMachine)
	if err != nil {
		return r.retryLater(ctx, awsMachine, err), nil
	}
	r.backoff.succeeded(awsMachine)
	return result, nil
}

// retryLater holds the AWSMachine's next cloud calls back after a failed
// pass, whose error its conditions and events already report, and asks
// for the pass after the backoff.
func (r *AWSMachineReconciler) retryLater(ctx context.Context, awsMachine *infrav1.AWSMachine, err error) ctrl.Result {
	delay := r.backoff.failed(awsMachine, cloud.AsPermanent(err) != nil)
	ctrl.LoggerFrom(ctx).Error(err, "Reconciling the AWSMachine failed", "retryAfter", delay.Round(time.Second), "permanent", cloud.AsPermanent(err) != nil)
	return ctrl.Result{RequeueAfter: delay}
}

// reconcileInstance makes the AWSMachine's instance exist and records it.
// Its errors are reported in the conditions already.
func (r *AWSMachineReconciler) reconcileInstance(ctx context.Context, cluster *clusterv1.Cluster, machine *clusterv1.Machine, awsCluster *infrav1.AWSCluster, awsMachine *infrav1.AWSMachine) (ctrl.Result, error) {
	if last, ok := r.checked.Load(awsMachine.UID); ok {
		c, interval := last.(instanceCheck), pendingRequeue
		if c.running && ptr.Deref(awsMachine.Status.Initialization.Provisioned, false) {
			interval = instanceCheckInterval
		}
		if wait := interval - time.Since(c.at); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	clients, err := r.Clients(ctx, awsCluster.Spec.Region)
	if err != nil {
		return ctrl.Result{}, r.failed(awsMachine, "InstanceLookupFailed", infrav1.InstancePermanentFailureReason, "configuring AWS", err)
	}
	instance, err := r.findInstance(ctx, clients, awsMachine)
	if err != nil {
		return ctrl.Result{}, r.failed(awsMachine, "InstanceLookupFailed", infrav1.InstancePermanentFailureReason, "looking up the instance", err)
	}
	if instance == nil && r.notVisibleYet(awsMachine) {
		// As CAPA does, look again rather than take it for gone.
		r.waiting(awsMachine, "InstanceNotVisible", fmt.Sprintf("Instance %s is not visible in EC2 yet", awsMachine.Spec.InstanceID))
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	}
	if instance == nil && awsMachine.Spec.InstanceID != "" {
		// The instance was there and is gone: report it, do not replace it
		// behind Cluster API's back (a MachineHealthCheck remediates).
		r.waiting(awsMachine, "InstanceNotFound", fmt.Sprintf("Instance %s no longer exists", awsMachine.Spec.InstanceID))
		r.recorder.Eventf(awsMachine, corev1.EventTypeWarning, "InstanceNotFound", "Instance %s no longer exists", awsMachine.Spec.InstanceID)
		return ctrl.Result{}, nil
	}
	if instance == nil {
		spec, err := r.instanceSpec(ctx, cluster, machine, awsCluster, awsMachine)
		if err != nil {
			return ctrl.Result{}, r.failed(awsMachine, "RunInstanceFailed", infrav1.InstancePermanentFailureReason, "", err)
		}
		if spec.Image, err = clients.ResolveImage(ctx, imageRequest(machine, awsMachine)); err != nil {
			return ctrl.Result{}, r.failed(awsMachine, "ImageNotResolved", infrav1.InstancePermanentFailureReason, "resolving the image", err)
		}
		awsMachine.Status.ImageID = spec.Image.ID
		if instance, err = clients.RunInstance(ctx, spec); err != nil {
			return ctrl.Result{}, r.failed(awsMachine, "RunInstanceFailed", infrav1.InstancePermanentFailureReason, "", err)
		}
		r.recorder.Eventf(awsMachine, corev1.EventTypeNormal, "InstanceCreated", "Instance %s (%s, image %s %s) in %s",
			aws.ToString(instance.InstanceId), spec.InstanceType, spec.Image.ID, spec.Image.Name, aws.ToString(instance.Placement.AvailabilityZone))
	}
	r.recordInstance(awsMachine, instance)
	r.checked.Store(awsMachine.UID, instanceCheck{at: time.Now(), running: instance.State.Name == ec2types.InstanceStateNameRunning})

	switch instance.State.Name {
	case ec2types.InstanceStateNameRunning:
	case ec2types.InstanceStateNamePending:
		r.waiting(awsMachine, "InstancePending", "Instance "+awsMachine.Spec.InstanceID+" is pending")
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	default:
		r.waiting(awsMachine, "InstanceNotRunning", fmt.Sprintf("Instance %s is %s", awsMachine.Spec.InstanceID, instance.State.Name))
		return ctrl.Result{}, nil
	}
	if !ptr.Deref(awsMachine.Status.Initialization.Provisioned, false) {
		if util.IsControlPlaneMachine(machine) {
			if err := clients.RegisterTarget(ctx, awsCluster.Status.Network.LoadBalancer.TargetGroupARN, awsMachine.Spec.InstanceID); err != nil {
				return ctrl.Result{}, r.failed(awsMachine, "RegisterTargetFailed", infrav1.InstancePermanentFailureReason,
					"registering "+awsMachine.Spec.InstanceID+" with the API server load balancer", err)
			}
		}
		r.recorder.Eventf(awsMachine, corev1.EventTypeNormal, "InstanceRunning", "Instance %s is running", awsMachine.Spec.InstanceID)
	}
	awsMachine.Status.Initialization.Provisioned = ptr.To(true)
	setCondition(awsMachine, infrav1.InstanceReadyCondition, true, "InstanceRunning", awsMachine.Spec.InstanceID)
	setCondition(awsMachine, infrav1.ReadyCondition, true, "Ready", "")
	return ctrl.Result{RequeueAfter: instanceCheckInterval}, nil
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

// imageRequest is the image an AWSMachine asks for: its AMI, or the lookup
// (CAPA's defaults where unset) for its Machine's Kubernetes version.
func imageRequest(machine *clusterv1.Machine, m *infrav1.AWSMachine) cloud.ImageRequest {
	return cloud.ImageRequest{AMI: m.Spec.AMI, Lookup: m.Spec.ImageLookup, KubernetesVersion: machine.Spec.Version, InstanceType: m.Spec.InstanceType}
}

// findInstance returns the AWSMachine's instance by its recorded ID, or
// else by its client token (which also finds an instance whose ID was
// never recorded), or nil.
func (r *AWSMachineReconciler) findInstance(ctx context.Context, clients cloud.Clients, m *infrav1.AWSMachine) (*ec2types.Instance, error) {
	if m.Spec.InstanceID != "" {
		i, err := clients.FindInstance(ctx, m.Spec.InstanceID)
		if err != nil || i != nil {
			r.unseen.Delete(m.UID)
			return i, err
		}
	}
	return clients.FindInstanceByToken(ctx, clientTokenOf(m))
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

func (r *AWSMachineReconciler) waiting(m *infrav1.AWSMachine, reason, message string) {
	setCondition(m, infrav1.InstanceReadyCondition, false, reason, message)
	setCondition(m, infrav1.ReadyCondition, false, reason, message)
}

// clientTokenOf is the idempotency token of an AWSMachine's instance: its
// UID never repeats, so a retry or a restarted process finds the instance
// an earlier call started.
func clientTokenOf(m *infrav1.AWSMachine) string { return string(m.UID) }

func (r *AWSMachineReconciler) instanceSpec(ctx context.Context, cluster *clusterv1.Cluster, machine *clusterv1.Machine, awsCluster *infrav1.AWSCluster, awsMachine *infrav1.AWSMachine) (cloud.InstanceSpec, error) {
	data := &corev1.Secret{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: machine.Namespace, Name: *machine.Spec.Bootstrap.DataSecretName}, data); err != nil {
		return cloud.InstanceSpec{}, fmt.Errorf("reading bootstrap data: %w", err)
	}
	zone := machine.Spec.FailureDomain
	st := awsCluster.Status.Network
	subnet := ""
	for _, s := range st.Subnets {
		if s.Public == awsMachine.Spec.PublicIP && (zone == "" || s.AvailabilityZone == zone) {
			subnet = s.ID
			break
		}
	}
	if subnet == "" {
		return cloud.InstanceSpec{}, fmt.Errorf("no subnet in failure domain %q", zone)
	}
	role, group := "node", st.SecurityGroups.Node
	if util.IsControlPlaneMachine(machine) {
		role, group = "control-plane", st.SecurityGroups.ControlPlane
	}
	return cloud.InstanceSpec{
		Cluster: ownerCluster(cluster, awsCluster), Machine: machine.Name, Token: clientTokenOf(awsMachine), Role: role,
		InstanceType: awsMachine.Spec.InstanceType, RootVolumeSizeGiB: awsMachine.Spec.RootVolumeSizeGiB,
		SSHKeyName: awsMachine.Spec.SSHKeyName, IAMInstanceProfile: awsMachine.Spec.IAMInstanceProfile,
		SubnetID: subnet, SecurityGroupIDs: []string{group}, UserData: data.Data["value"],
	}, nil
}

func (r *AWSMachineReconciler) recordInstance(m *infrav1.AWSMachine, i *ec2types.Instance) {
	zone := aws.ToString(i.Placement.AvailabilityZone)
	m.Spec.InstanceID = aws.ToString(i.InstanceId)
	m.Spec.ProviderID = fmt.Sprintf("aws:///%s/%s", zone, m.Spec.InstanceID)
	m.Status.InstanceState = string(i.State.Name)
	m.Status.ImageID = aws.ToString(i.ImageId)
	m.Status.FailureDomain = zone
	m.Status.Addresses = nil
	add := func(t clusterv1.MachineAddressType, v *string) {
		if aws.ToString(v) != "" {
			m.Status.Addresses = append(m.Status.Addresses, clusterv1.MachineAddress{Type: t, Address: aws.ToString(v)})
		}
	}
	add(clusterv1.MachineInternalIP, i.PrivateIpAddress)
	add(clusterv1.MachineInternalDNS, i.PrivateDnsName)
	add(clusterv1.MachineExternalIP, i.PublicIpAddress)
}

func (r *AWSMachineReconciler) reconcileDelete(ctx context.Context, machine *clusterv1.Machine, awsCluster *infrav1.AWSCluster, awsMachine *infrav1.AWSMachine) (ctrl.Result, error) {
	if wait := r.backoff.wait(awsMachine); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	result, err := r.deleteInstance(ctx, machine, awsCluster, awsMachine)
	if err != nil {
		return r.retryLater(ctx, awsMachine, err), nil
	}
	r.backoff.succeeded(awsMachine)
	return result, nil
}

func (r *AWSMachineReconciler) deleteInstance(ctx context.Context, machine *clusterv1.Machine, awsCluster *infrav1.AWSCluster, awsMachine *infrav1.AWSMachine) (ctrl.Result, error) {
	failed := func(what string, err error) error {
		return r.failed(awsMachine, "DeleteFailed", infrav1.DeletePermanentFailureReason, what, err)
	}
	clients, err := r.Clients(ctx, awsCluster.Spec.Region)
	if err != nil {
		return ctrl.Result{}, failed("configuring AWS", err)
	}
	// Without a recorded ID (a crash between RunInstances and the status
	// patch), the client token finds the instance.
	instance, err := r.findInstance(ctx, clients, awsMachine)
	if err != nil {
		return ctrl.Result{}, failed("looking up the instance", err)
	}
	if instance == nil && r.notVisibleYet(awsMachine) {
		r.waiting(awsMachine, "Deleting", "Waiting for instance "+awsMachine.Spec.InstanceID+" to be visible in EC2, to terminate it")
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	}
	if instance != nil {
		id := aws.ToString(instance.InstanceId)
		if util.IsControlPlaneMachine(machine) && awsCluster.Status.Network.LoadBalancer.TargetGroupARN != "" {
			if err := clients.DeregisterTarget(ctx, awsCluster.Status.Network.LoadBalancer.TargetGroupARN, id); err != nil {
				return ctrl.Result{}, failed("deregistering "+id+" from the API server load balancer", err)
			}
		}
		gone, err := clients.TerminateInstance(ctx, instance)
		if err != nil {
			return ctrl.Result{}, failed("terminating "+id, err)
		}
		if !gone {
			r.waiting(awsMachine, "Deleting", "Waiting for instance "+id+" to terminate")
			return ctrl.Result{RequeueAfter: pendingRequeue}, nil
		}
		r.recorder.Eventf(awsMachine, corev1.EventTypeNormal, "InstanceTerminated", "Instance %s terminated", id)
	}
	r.checked.Delete(awsMachine.UID)
	r.unseen.Delete(awsMachine.UID)
	controllerutil.RemoveFinalizer(awsMachine, infrav1.MachineFinalizer)
	return ctrl.Result{}, nil
}
