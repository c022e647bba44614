package controllers

import (
	"context"
	"time"

	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
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

// machineKind is what the passes need to know of the DOMachine.
var machineKind = reconcile.Kind{Cloud: doCloud, Finalizer: infrav1.MachineFinalizer, Conditions: []string{infrav1.DropletReadyCondition},
	Infrastructure: "the cluster's VPC, firewall and load balancer"}

// The DOMachine reconciler reads its Machine, Cluster and DOCluster and
// the Machine's bootstrap data Secret, and writes the DOMachine, its
// status and finalizer, and events. Cluster API's MachineSet and
// KubeadmControlPlane reconcilers create DOMachines from
// DOMachineTemplates and the Machine reconciler deletes them.
//
// +kubebuilder:rbac:groups=infrastructure.terraform-capi.io,resources=domachines;domachines/status;domachines/finalizers,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=infrastructure.terraform-capi.io,resources=domachinetemplates,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=machines;machines/status;clusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=core,resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=core,resources=events,verbs=create;patch

// DOMachineReconciler creates and deletes the droplet of a Machine.
type DOMachineReconciler struct {
	Cloud            ClientFactory
	Client           client.Client
	WatchFilterValue string
	// Owns says whether this process may act on a cluster (nil: all).
	Owns   func(namespace, cluster string) bool
	passes *reconcile.Passes[*infrav1.DOMachine, *machineScope]
}

// SetupWithManager registers the reconciler: its passes are
// reconcile.Passes', over the DOMachine's phases.
func (r *DOMachineReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	r.passes = reconcile.New(machineKind, r.Client, r.Owns, r.newScope, r.reconcileNormal, r.reconcileDelete)
	return r.passes.SetupMachine(ctx, mgr, options, &infrav1.DOMachine{}, &infrav1.DOMachineList{}, r.WatchFilterValue)
}

func (r *DOMachineReconciler) reconcileNormal(ctx context.Context, s *machineScope) (ctrl.Result, error) {
	provisioned := ptr.Deref(s.doMachine.Status.Initialization.Provisioned, false)
	// A Machine that got its node has its bootstrap data deleted now, not
	// at the next droplet check.
	joined := s.doMachine.Status.BootstrapData.Key != "" && s.machine.Status.NodeRef.IsDefined()
	if wait := r.passes.Checks.Wait(s.doMachine.UID, provisioned, dropletPendingRequeue, dropletCheckInterval); wait > 0 && !joined {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	return r.passes.Run(ctx, s.doMachine, "Reconciling the DOMachine", s, r.connect("DropletLookupFailed"), r.reconcileDroplet), nil
}

func (r *DOMachineReconciler) reconcileDelete(ctx context.Context, s *machineScope) (ctrl.Result, error) {
	return r.passes.Run(ctx, s.doMachine, "Deleting the DOMachine's droplet", s, r.connect("DeleteFailed"),
		r.deleteBootstrapDataOnDelete, r.deleteDroplet), nil
}

// connect is the phase that gets the DigitalOcean client.
func (r *DOMachineReconciler) connect(reason string) reconcile.Phase[*machineScope] {
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
	reconcile.NotReady(m, infrav1.DropletReadyCondition, reason, message)
}
