package controllers

import (
	"context"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
)

// clusterKind is what the passes need to know of the AWSCluster.
var clusterKind = reconcile.Kind{Cloud: awsCloud, Finalizer: infrav1.ClusterFinalizer,
	Conditions: []string{infrav1.NetworkReadyCondition, infrav1.SecurityGroupsReadyCondition, infrav1.LoadBalancerReadyCondition}}

// The AWSCluster reconciler reads its Cluster and writes the AWSCluster,
// its status and finalizer, and events. Cluster API's reconcilers create,
// patch and delete the provider's kinds too (their own markers grant that
// on infrastructure.cluster.x-k8s.io only), hence every verb here.
//
// +kubebuilder:rbac:groups=infrastructure.terraform-capi.io,resources=awsclusters;awsclusters/status;awsclusters/finalizers,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=cluster.x-k8s.io,resources=clusters;clusters/status,verbs=get;list;watch
// +kubebuilder:rbac:groups=core,resources=events,verbs=create;patch

// AWSClusterReconciler makes an AWSCluster's network and API server load
// balancer exist, and deletes them.
type AWSClusterReconciler struct {
	Client           client.Client
	Clients          ClientsFactory
	WatchFilterValue string
	// Owns says whether this process may act on a cluster (nil: all).
	Owns   func(namespace, cluster string) bool
	passes *reconcile.Passes[*infrav1.AWSCluster, *scope]
}

// driftCheckInterval is how often a provisioned AWSCluster whose spec has
// not changed is checked against the cloud again. Events in between (status
// updates of the Cluster, say) cost no cloud calls.
const driftCheckInterval = 10 * time.Minute

// SetupWithManager registers the reconciler: its passes are
// reconcile.Passes', over the AWSCluster's phases.
func (r *AWSClusterReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, options controller.Options) error {
	r.passes = reconcile.New(clusterKind, r.Client, r.Owns, newClusterScope, r.reconcileNormal, r.reconcileDelete)
	return r.passes.SetupCluster(ctx, mgr, options, &infrav1.AWSCluster{}, r.WatchFilterValue)
}

func (r *AWSClusterReconciler) reconcileNormal(ctx context.Context, s *scope) (ctrl.Result, error) {
	return r.passes.DriftChecked(s.awsCluster, s.awsCluster.Status.Initialization.Provisioned, driftCheckInterval, func() ctrl.Result {
		return r.passes.Run(ctx, s.awsCluster, "Reconciling the AWSCluster", s,
			connect(r.Clients, func(s *scope, err error) error {
				return r.stepFailed(s, infrav1.NetworkReadyCondition, infrav1.NetworkFailedReason, infrav1.NetworkPermanentFailureReason, "Configuring AWS", err)
			}),
			r.reconcileNetwork,
			r.reconcileSecurityGroups,
			r.reconcileLoadBalancer,
			r.reconcileProvisioned,
		)
	}), nil
}
