package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
)

func (r *AWSClusterReconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	// What a cloud controller manager made for Services goes before the
	// network it blocks. That is done for every cluster, not only those
	// with the provider's cloud controller manager (the label
	// terraform-capi.io/cloud-controller-manager): a user may run one of
	// their own, and without one the lookups find nothing.
	return r.passes.Run(ctx, s.awsCluster, "Reconciling the AWSCluster", s,
		connect(r.Clients, func(s *scope, err error) error { return r.deleteFailed(s, "Configuring AWS", err) }),
		r.lookUpVPCs,
		r.deleting("load balancer", deleteLoadBalancer),
		r.deleting("load balancers of Services", r.forServices(cloud.Clients.DeleteServiceLoadBalancers)),
		r.deleting("security groups of Services", r.forServices(cloud.Clients.DeleteServiceSecurityGroups)),
		r.deleting("security groups", deleteSecurityGroups),
		r.deleting("network", deleteNetwork),
		r.removeClusterFinalizer,
	), nil
}

// deleteFailed reports a failed delete step in Ready and a warning event,
// with the cloud's message, and returns err.
func (r *AWSClusterReconciler) deleteFailed(s *scope, what string, err error) error {
	reason, msg := reconcile.FailureReason(cloud.AsPermanent, err, infrav1.DeleteFailedReason, infrav1.DeletePermanentFailureReason), what+": "+cloud.Message(err)
	reconcile.SetCondition(s.awsCluster, infrav1.ReadyCondition, false, reason, msg)
	r.passes.Recorder.Eventf(s.awsCluster, corev1.EventTypeWarning, reason, "%s", msg)
	return err
}

// lookUpVPCs finds the cluster's VPCs, where the Services' resources are.
func (r *AWSClusterReconciler) lookUpVPCs(ctx context.Context, s *scope) (ctrl.Result, error) {
	vpcs, err := s.clients.ClusterVPCs(ctx, s.id(), s.awsCluster.Spec.Network)
	if err != nil {
		return ctrl.Result{}, r.deleteFailed(s, "Looking up the VPC", err)
	}
	s.vpcs = vpcs
	return ctrl.Result{}, nil
}

// deleteStep deletes some of a cluster's cloud resources and reports
// whether they are gone, and, when it knows, the resources it waits for.
type deleteStep func(ctx context.Context, s *scope) (done bool, waiting []cloud.ServiceResource, err error)

// deleting is the phase that runs del until what it deletes is gone.
func (r *AWSClusterReconciler) deleting(what string, del deleteStep) phase {
	return func(ctx context.Context, s *scope) (ctrl.Result, error) {
		done, waiting, err := del(ctx, s)
		if err != nil {
			return ctrl.Result{}, r.deleteFailed(s, "Deleting the "+what, err)
		}
		if !done {
			reconcile.SetCondition(s.awsCluster, infrav1.ReadyCondition, false, infrav1.DeletingReason, waitingMessage(what, waiting))
			return ctrl.Result{RequeueAfter: pendingRequeue}, nil
		}
		return ctrl.Result{}, nil
	}
}

func deleteLoadBalancer(ctx context.Context, s *scope) (bool, []cloud.ServiceResource, error) {
	done, err := s.clients.DeleteLoadBalancer(ctx, s.id())
	return done, nil, err
}

func deleteSecurityGroups(ctx context.Context, s *scope) (bool, []cloud.ServiceResource, error) {
	done, err := s.clients.DeleteSecurityGroups(ctx, s.id())
	return done, nil, err
}

func deleteNetwork(ctx context.Context, s *scope) (bool, []cloud.ServiceResource, error) {
	done, err := s.clients.DeleteNetwork(ctx, s.id(), s.awsCluster.Spec.Network)
	return done, nil, err
}

// deleteForServices deletes in a VPC what a cloud controller manager
// made for a cluster's Services, and returns what it deleted and what is
// still there. It is a method of cloud.Clients, such as
// cloud.Clients.DeleteServiceLoadBalancers.
type deleteForServices func(c cloud.Clients, ctx context.Context, cl cloud.Cluster, vpcID string) (deleted, waiting []cloud.ServiceResource, err error)

// forServices is the step that runs del in each of the cluster's VPCs
// and records an event for each resource it deleted; it is done once none
// is left.
func (r *AWSClusterReconciler) forServices(del deleteForServices) deleteStep {
	return func(ctx context.Context, s *scope) (bool, []cloud.ServiceResource, error) {
		var waiting []cloud.ServiceResource
		for _, vpc := range s.vpcs {
			deleted, left, err := del(s.clients, ctx, s.id(), vpc)
			for _, res := range deleted {
				r.passes.Recorder.Eventf(s.awsCluster, corev1.EventTypeNormal, "ServiceResourceDeleted", "Deleted %s, left by a cloud controller manager", res)
			}
			if err != nil {
				return false, nil, err
			}
			waiting = append(waiting, left...)
		}
		return len(waiting) == 0, waiting, nil
	}
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

// removeClusterFinalizer ends the deletion once everything is gone.
func (r *AWSClusterReconciler) removeClusterFinalizer(_ context.Context, s *scope) (ctrl.Result, error) {
	r.passes.Recorder.Eventf(s.awsCluster, corev1.EventTypeNormal, "Deleted", "Deleted the load balancer, security groups and network")
	controllerutil.RemoveFinalizer(s.awsCluster, infrav1.ClusterFinalizer)
	return ctrl.Result{}, nil
}
