package controllers

import (
	"context"
	"sync"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
)

// machineKind is what the passes need to know of the AWSMachine.
var machineKind = reconcile.Kind{Cloud: awsCloud, Finalizer: infrav1.MachineFinalizer, Conditions: []string{infrav1.InstanceReadyCondition},
	Infrastructure: "the cluster's network and load balancer"}

// The AWSMachine reconciler reads its Machine, Cluster and AWSCluster and
// the Machine's bootstrap data Secret, and writes the AWSMachine, its
// status and finalizer, and events. Cluster API's MachineSet and
// KubeadmControlPlane reconcilers create AWSMachines from
// AWSMachineTemplates and the Machine reconciler deletes them.
//
// +kubebuilder:rbac:groups=infrastructure.terraform-capi.io,resources=awsmachines;awsmachines/status;awsmachines/finalizers,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=infrastructure.terraform-capi.io,resources=awsmachinetemplates,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machines;machines/status;clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=core,resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=core,resources=events,verbs=create;patch

// AWSMachineReconciler runs and terminates the EC2 instance of a Machine.
type AWSMachineReconciler struct {
	Client           client.Client
	Clients          ClientsFactory
	WatchFilterValue string
	// Owns says whether this process may act on a cluster (nil: all).
	Owns func(namespace, cluster string) bool
	// unseen records, by AWSMachine UID, when EC2 first did not know the
	// instance recorded in its spec.
	unseen sync.Map
	// instances batches the DescribeInstances calls of each cluster.
	instances clusterInstances
	// images keeps the images machines' requests resolved to.
	images resolvedImages
	passes *reconcile.Passes[*infrav1.AWSMachine, *scope]
}

// instanceVisibilityGrace is how long an instance that EC2 does not know
// is taken for one not visible yet (EC2 is eventually consistent right
// after RunInstances) rather than for one gone.
const instanceVisibilityGrace = 2 * time.Minute

// instanceCheckInterval is how often the instance of a provisioned
// AWSMachine is described again; a pending one is described every
// pendingRequeue. Events in between (the Machine's status changing as its
// node joins, say) cost no cloud calls: without this, a deployment of 100
// machines described its instances some 1,700 times in one apply. An
// instance gone between checks still shows at once where it matters, as
// its node leaving the workload cluster.
const instanceCheckInterval = time.Minute

// SetupWithManager registers the reconciler: its passes are
// reconcile.Passes', over the AWSMachine's phases.
func (r *AWSMachineReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	r.passes = reconcile.New(machineKind, r.Client, r.Owns, r.newScope, r.reconcileNormal, r.reconcileDelete)
	return r.passes.SetupMachine(ctx, mgr, options, &infrav1.AWSMachine{}, &infrav1.AWSMachineList{}, r.WatchFilterValue)
}

func (r *AWSMachineReconciler) reconcileNormal(ctx context.Context, s *scope) (ctrl.Result, error) {
	return r.passes.Run(ctx, s.awsMachine, "Reconciling the AWSMachine", s,
		r.waitForNextCheck,
		connect(r.Clients, func(s *scope, err error) error {
			return r.failed(s.awsMachine, infrav1.InstanceLookupFailedReason, infrav1.InstancePermanentFailureReason, "configuring AWS", err)
		}),
		r.reconcileInstanceLookup,
		r.reconcileInstanceRun,
		r.reconcileBootstrapDataCleanup,
		r.reconcileInstanceState,
		r.reconcileProvisioned,
	), nil
}

// failed reports a failed step, what (may be empty when err says it), in
// InstanceReady and Ready and in a warning event (see
// reconcile.Passes.MachineFailed), and returns err. An error that no retry
// can clear (no such image, a root volume below the image's, an instance
// type EC2 does not know) gets a reason that says so
// (infrav1.IsPermanentFailure). An error a retry may clear, on a machine
// whose instance runs, leaves the conditions as they are.
func (r *AWSMachineReconciler) failed(m *infrav1.AWSMachine, reason, permanentReason, what string, err error) error {
	return r.passes.MachineFailed(m, ptr.Deref(m.Status.Initialization.Provisioned, false), reason, permanentReason, what, err)
}

func (r *AWSMachineReconciler) waiting(m *infrav1.AWSMachine, reason, message string) {
	reconcile.NotReady(m, infrav1.InstanceReadyCondition, reason, message)
}

// findInstance returns the AWSMachine's instance by its recorded ID, or
// else by its client token (which also finds an instance whose ID was
// never recorded), or nil. Both come from the cluster's batched list, one
// fetched after the machine's last read; a recorded instance the list
// lacks (EC2 is eventually consistent, or it is gone) is described by its
// ID, so that gone is EC2's word for it. An unrecorded instance the list
// lacks is looked for by its token only when the machine goes (with
// fresh, the delete's): before, the next RunInstances with the token
// returns it if it exists.
func (r *AWSMachineReconciler) findInstance(ctx context.Context, s *scope, fresh bool) (*ec2types.Instance, error) {
	m := s.awsMachine
	since := time.Now().Add(-firstLookWindow)
	if last, ok := r.passes.Checks.LastRead(m.UID); ok {
		since = last
	}
	id := s.id()
	list, err := r.instances.list(ctx, string(s.awsCluster.UID)+"/"+s.awsCluster.Spec.Region, since,
		func(ctx context.Context) ([]ec2types.Instance, error) { return s.clients.ClusterInstances(ctx, id) })
	if err != nil {
		return nil, err
	}
	if m.Spec.InstanceID != "" {
		i := list.instance(m.Spec.InstanceID)
		if i == nil {
			if i, err = s.clients.FindInstance(ctx, m.Spec.InstanceID); err != nil {
				return nil, err
			}
		}
		if i != nil {
			r.unseen.Delete(m.UID)
			return i, nil
		}
	}
	if i := list.live(clientTokenOf(m)); i != nil {
		return i, nil
	}
	if m.Spec.InstanceID == "" && !fresh {
		return nil, nil
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
