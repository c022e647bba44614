package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
)

func (r *DOClusterReconciler) reconcileVPC(ctx context.Context, s *clusterScope) (ctrl.Result, error) {
	c := s.doCluster
	vpc, created, err := s.cloud.EnsureVPC(ctx, s.id(), c.Spec.VPC)
	if err != nil {
		return ctrl.Result{}, r.stepFailed(c, infrav1.VPCReadyCondition, "VPCFailed", infrav1.VPCPermanentFailureReason, "Reconciling the VPC", err)
	}
	if vpc.IPRange == "" {
		// The firewall opens the VPC's range inside.
		return ctrl.Result{}, r.stepFailed(c, infrav1.VPCReadyCondition, "VPCFailed", infrav1.VPCPermanentFailureReason, "Reconciling the VPC",
			fmt.Errorf("VPC %s has no IP range", vpc.ID))
	}
	if created {
		r.passes.Recorder.Eventf(c, corev1.EventTypeNormal, "VPCCreated", "VPC %s (%s, %s) in %s", vpc.Name, vpc.ID, vpc.IPRange, vpc.RegionSlug)
	}
	c.Status.Network.VPCUUID, c.Status.Network.VPCIPRange = vpc.ID, vpc.IPRange
	reconcile.SetCondition(c, infrav1.VPCReadyCondition, true, "VPCAvailable", fmt.Sprintf("VPC %s (%s)", vpc.ID, vpc.IPRange))
	return ctrl.Result{}, nil
}

func (r *DOClusterReconciler) reconcileFirewall(ctx context.Context, s *clusterScope) (ctrl.Result, error) {
	c := s.doCluster
	fw, done, err := s.cloud.EnsureFirewall(ctx, s.id(), cloud.FirewallRules{APIServerPort: c.APIServerPort(),
		APIServerSources: c.Spec.Firewall.APIServerSources, SSHSources: c.Spec.Firewall.SSHSources, VPCIPRange: c.Status.Network.VPCIPRange})
	if err != nil {
		return ctrl.Result{}, r.stepFailed(c, infrav1.FirewallReadyCondition, "FirewallFailed", infrav1.FirewallPermanentFailureReason,
			"Reconciling the firewall", err)
	}
	switch done {
	case "created":
		r.passes.Recorder.Eventf(c, corev1.EventTypeNormal, "FirewallCreated", "Firewall %s (%s) for the droplets tagged %s", fw.Name, fw.ID, s.id().Tag())
	case "updated":
		r.passes.Recorder.Eventf(c, corev1.EventTypeNormal, "FirewallUpdated", "Firewall %s (%s) has the rules of the spec again", fw.Name, fw.ID)
	}
	c.Status.Network.FirewallID = fw.ID
	reconcile.SetCondition(c, infrav1.FirewallReadyCondition, true, "FirewallAvailable", fw.ID)
	return ctrl.Result{}, nil
}

func (r *DOClusterReconciler) reconcileLoadBalancer(ctx context.Context, s *clusterScope) (ctrl.Result, error) {
	c := s.doCluster
	st := &c.Status.Network.LoadBalancer
	lb, done, err := s.cloud.EnsureLoadBalancer(ctx, s.id(), cloud.LoadBalancerSpec{Port: c.APIServerPort(), VPCUUID: c.Status.Network.VPCUUID,
		Allow: s.lbAllow})
	if err != nil {
		return ctrl.Result{}, r.stepFailed(c, infrav1.LoadBalancerReadyCondition, "LoadBalancerFailed", infrav1.LoadBalancerPermanentFailureReason,
			"Reconciling the API server load balancer", err)
	}
	switch done {
	case "created":
		r.passes.Recorder.Eventf(c, corev1.EventTypeNormal, "LoadBalancerCreated", "Load balancer %s (%s) for port %d of the droplets tagged %s",
			lb.Name, lb.ID, c.APIServerPort(), s.id().ControlPlaneTag())
	case "updated":
		r.passes.Recorder.Eventf(c, corev1.EventTypeNormal, "LoadBalancerUpdated", "Load balancer %s (%s) forwards port %d, admitting %s",
			lb.Name, lb.ID, c.APIServerPort(), admitted(s.lbAllow))
	}
	st.ID, st.IP, st.Status = lb.ID, lb.IP, lb.Status
	st.Allow = nil
	if lb.Firewall != nil && len(lb.Firewall.Allow) > 0 {
		st.Allow = slices.Sorted(slices.Values(lb.Firewall.Allow))
	}
	if lb.IP != "" {
		// The endpoint is known as soon as the address is.
		c.Spec.ControlPlaneEndpoint = clusterv1.APIEndpoint{Host: lb.IP, Port: c.APIServerPort()}
	}
	switch {
	case lb.Status == cloud.LoadBalancerErrored:
		return ctrl.Result{}, r.stepFailed(c, infrav1.LoadBalancerReadyCondition, "LoadBalancerErrored", infrav1.LoadBalancerPermanentFailureReason,
			"Reconciling the API server load balancer", fmt.Errorf("load balancer %s is errored", lb.ID))
	case lb.Status != cloud.LoadBalancerActive || lb.IP == "":
		reconcile.SetCondition(c, infrav1.LoadBalancerReadyCondition, false, "LoadBalancerProvisioning",
			fmt.Sprintf("Waiting for load balancer %s to become active (%s) and get its IP", lb.ID, lb.Status))
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	}
	reconcile.SetCondition(c, infrav1.LoadBalancerReadyCondition, true, "LoadBalancerActive", lb.IP)
	return ctrl.Result{}, nil
}

// admitted says whom firewall rules admit, for an event.
func admitted(rules []string) string {
	if len(rules) == 0 {
		return "everyone"
	}
	return strings.Join(rules, ", ")
}

// reconcileProvisioned reports the infrastructure provisioned, with the
// region as the only failure domain: DigitalOcean places droplets in a
// region and nothing finer.
func (r *DOClusterReconciler) reconcileProvisioned(_ context.Context, s *clusterScope) (ctrl.Result, error) {
	c := s.doCluster
	c.Status.FailureDomains = []clusterv1.FailureDomain{{Name: c.Spec.Region, ControlPlane: ptr.To(true)}}
	c.Status.Initialization.Provisioned = ptr.To(true)
	return ctrl.Result{}, nil
}

func (r *DOClusterReconciler) reconcileDelete(ctx context.Context, s *clusterScope) (ctrl.Result, error) {
	return r.passes.Run(ctx, s.doCluster, "Deleting the DOCluster's cloud resources", s,
		r.connect(infrav1.ReadyCondition, "DeleteFailed"), r.deleteLoadBalancer, r.deleteFirewall, r.deleteVPC, r.deleteBootstrapBucket, r.deleteTags), nil
}

// deleteBootstrapBucket deletes the cluster's bootstrap data bucket and
// what its machines left in it. Without a Spaces key no machine could
// have stored anything: there is nothing to delete.
func (r *DOClusterReconciler) deleteBootstrapBucket(ctx context.Context, s *clusterScope) (ctrl.Result, error) {
	if !s.cloud.HasSpacesKey() {
		return ctrl.Result{}, nil
	}
	spaces, err := s.cloud.Spaces(s.doCluster.SpacesRegion())
	if err == nil {
		err = spaces.DeleteBucket(ctx, cloud.BootstrapBucket(string(s.doCluster.UID)))
	}
	if err != nil {
		return ctrl.Result{}, r.deleteFailed(s.doCluster, "Deleting the bootstrap data bucket", err)
	}
	return ctrl.Result{}, nil
}

// deleteFailed reports a failed delete step in Ready and a warning
// event, and returns err.
func (r *DOClusterReconciler) deleteFailed(c *infrav1.DOCluster, what string, err error) error {
	return r.stepFailed(c, infrav1.ReadyCondition, "DeleteFailed", infrav1.DeletePermanentFailureReason, what, err)
}

func (r *DOClusterReconciler) deleteLoadBalancer(ctx context.Context, s *clusterScope) (ctrl.Result, error) {
	deleted, err := s.cloud.DeleteLoadBalancer(ctx, s.id())
	if err != nil {
		return ctrl.Result{}, r.deleteFailed(s.doCluster, "Deleting the API server load balancer", err)
	}
	if deleted {
		r.passes.Recorder.Eventf(s.doCluster, corev1.EventTypeNormal, "LoadBalancerDeleted", "Deleted the API server load balancer %s", s.id().LoadBalancerName())
	}
	return ctrl.Result{}, nil
}

func (r *DOClusterReconciler) deleteFirewall(ctx context.Context, s *clusterScope) (ctrl.Result, error) {
	deleted, err := s.cloud.DeleteFirewall(ctx, s.id())
	if err != nil {
		return ctrl.Result{}, r.deleteFailed(s.doCluster, "Deleting the firewall", err)
	}
	if deleted {
		r.passes.Recorder.Eventf(s.doCluster, corev1.EventTypeNormal, "FirewallDeleted", "Deleted the firewall %s", s.id().FirewallName())
	}
	return ctrl.Result{}, nil
}

// deleteVPC deletes the VPC made for the cluster once its members (the
// droplets, the load balancer) have left it.
func (r *DOClusterReconciler) deleteVPC(ctx context.Context, s *clusterScope) (ctrl.Result, error) {
	c := s.doCluster
	gone, members, err := s.cloud.DeleteVPC(ctx, s.id(), c.Spec.VPC)
	if err != nil {
		return ctrl.Result{}, r.deleteFailed(c, "Deleting the VPC", err)
	}
	if !gone {
		msg := "Waiting for the VPC's members to leave it"
		if len(members) > 0 {
			msg += ": " + strings.Join(members, ", ")
		}
		reconcile.SetCondition(c, infrav1.ReadyCondition, false, "Deleting", msg)
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	}
	if c.Spec.VPC.VPCUUID == "" && c.Status.Network.VPCUUID != "" {
		r.passes.Recorder.Eventf(c, corev1.EventTypeNormal, "VPCDeleted", "Deleted the VPC %s", c.Status.Network.VPCUUID)
		c.Status.Network.VPCUUID = ""
	}
	return ctrl.Result{}, nil
}

// deleteTags deletes the cluster's tags, which DigitalOcean keeps when
// nothing carries them, and ends the deletion.
func (r *DOClusterReconciler) deleteTags(ctx context.Context, s *clusterScope) (ctrl.Result, error) {
	if err := s.cloud.DeleteClusterTags(ctx, s.id()); err != nil {
		return ctrl.Result{}, r.deleteFailed(s.doCluster, "Deleting the cluster's tags", err)
	}
	r.networked.Forget(s.doCluster.UID)
	r.passes.Recorder.Eventf(s.doCluster, corev1.EventTypeNormal, "Deleted", "Deleted the load balancer, firewall and VPC")
	controllerutil.RemoveFinalizer(s.doCluster, infrav1.ClusterFinalizer)
	return ctrl.Result{}, nil
}
