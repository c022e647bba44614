package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
)

// The phases of an AWSCluster's pass, after connect, in order: each needs
// what the ones before made (the subnets need the VPC, the load balancer
// the subnets and security groups).

func (r *AWSClusterReconciler) reconcileNetwork(ctx context.Context, s *scope) (ctrl.Result, error) {
	st := &s.awsCluster.Status.Network
	ready, err := s.clients.ReconcileNetwork(ctx, s.id(), s.awsCluster.Spec.Network, st)
	if err != nil {
		return ctrl.Result{}, r.stepFailed(s, infrav1.NetworkReadyCondition, infrav1.NetworkFailedReason, infrav1.NetworkPermanentFailureReason,
			"Reconciling the network", err)
	}
	if !ready {
		reconcile.SetCondition(s.awsCluster, infrav1.NetworkReadyCondition, false, infrav1.NATGatewaysPendingReason, "Waiting for the NAT gateways to become available")
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	}
	reconcile.SetCondition(s.awsCluster, infrav1.NetworkReadyCondition, true, infrav1.NetworkReadyReason,
		fmt.Sprintf("VPC %s with %d subnets", st.VPCID, len(st.Subnets)))
	return ctrl.Result{}, nil
}

func (r *AWSClusterReconciler) reconcileSecurityGroups(ctx context.Context, s *scope) (ctrl.Result, error) {
	if err := s.clients.ReconcileSecurityGroups(ctx, s.id(), apiServerPort(s.awsCluster), &s.awsCluster.Status.Network); err != nil {
		return ctrl.Result{}, r.stepFailed(s, infrav1.SecurityGroupsReadyCondition, infrav1.SecurityGroupsFailedReason, infrav1.SecurityGroupsPermanentFailureReason,
			"Reconciling the security groups", err)
	}
	reconcile.SetCondition(s.awsCluster, infrav1.SecurityGroupsReadyCondition, true, infrav1.SecurityGroupsReadyReason, "")
	return ctrl.Result{}, nil
}

func (r *AWSClusterReconciler) reconcileLoadBalancer(ctx context.Context, s *scope) (ctrl.Result, error) {
	st := &s.awsCluster.Status.Network
	ready, err := s.clients.ReconcileLoadBalancer(ctx, s.id(), apiServerPort(s.awsCluster), st)
	if err != nil {
		return ctrl.Result{}, r.stepFailed(s, infrav1.LoadBalancerReadyCondition, infrav1.LoadBalancerFailedReason, infrav1.LoadBalancerPermanentFailureReason,
			"Reconciling the API server load balancer", err)
	}
	// The endpoint is known as soon as the load balancer exists.
	s.awsCluster.Spec.ControlPlaneEndpoint = clusterv1.APIEndpoint{Host: st.LoadBalancer.DNSName, Port: apiServerPort(s.awsCluster)}
	if !ready {
		reconcile.SetCondition(s.awsCluster, infrav1.LoadBalancerReadyCondition, false, infrav1.LoadBalancerProvisioningReason, "Waiting for the load balancer to become active")
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	}
	reconcile.SetCondition(s.awsCluster, infrav1.LoadBalancerReadyCondition, true, infrav1.LoadBalancerActiveReason, st.LoadBalancer.DNSName)
	return ctrl.Result{}, nil
}

// reconcileProvisioned reports the infrastructure provisioned, with a
// failure domain for each zone of the subnets, and the first time an
// event.
func (r *AWSClusterReconciler) reconcileProvisioned(_ context.Context, s *scope) (ctrl.Result, error) {
	c, st := s.awsCluster, &s.awsCluster.Status.Network
	first := !ptr.Deref(c.Status.Initialization.Provisioned, false)
	c.Status.FailureDomains = nil
	seen := map[string]bool{}
	// Machines go in private subnets: the failure domains are their zones.
	for _, sn := range st.Subnets {
		if !sn.Public && !seen[sn.AvailabilityZone] {
			seen[sn.AvailabilityZone] = true
			c.Status.FailureDomains = append(c.Status.FailureDomains, clusterv1.FailureDomain{Name: sn.AvailabilityZone, ControlPlane: ptr.To(true)})
		}
	}
	c.Status.Initialization.Provisioned = ptr.To(true)
	if first {
		r.passes.Recorder.Eventf(c, corev1.EventTypeNormal, "Provisioned", "VPC %s, %d zones, API server load balancer %s",
			st.VPCID, len(c.Status.FailureDomains), st.LoadBalancer.DNSName)
	}
	return ctrl.Result{}, nil
}

func apiServerPort(awsCluster *infrav1.AWSCluster) int32 {
	if p := awsCluster.Spec.Network.APIServerPort; p != 0 {
		return p
	}
	return 6443
}

// stepFailed reports a failed step of a pass in condType (and so in
// Ready) and a warning event, with the cloud's message; an error that no
// retry can clear gets a reason that says so (infrav1.IsPermanentFailure).
// It returns err.
func (r *AWSClusterReconciler) stepFailed(s *scope, condType, reason, permanentReason, what string, err error) error {
	reason = reconcile.FailureReason(cloud.AsPermanent, err, reason, permanentReason)
	msg := cloud.Message(err)
	reconcile.SetCondition(s.awsCluster, condType, false, reason, msg)
	r.passes.Recorder.Eventf(s.awsCluster, corev1.EventTypeWarning, reason, "%s: %s", what, msg)
	return err
}
