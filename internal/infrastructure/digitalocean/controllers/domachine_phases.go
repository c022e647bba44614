package controllers

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/digitalocean/godo"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util"
	"sigs.k8s.io/cluster-api/util/conditions"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
)

// reconcileDroplet makes the DOMachine's droplet exist and records it.
// Its errors are reported in the conditions already.
func (r *DOMachineReconciler) reconcileDroplet(ctx context.Context, s *machineScope) (ctrl.Result, error) {
	m := s.doMachine
	d, err := r.findDroplet(ctx, s)
	if err != nil {
		return ctrl.Result{}, r.failed(m, "DropletLookupFailed", infrav1.DropletPermanentFailureReason, "looking up the droplet", err)
	}
	if d == nil && m.Spec.ProviderID != "" {
		// The droplet was there and is gone: report it, do not replace it
		// behind Cluster API's back (a MachineHealthCheck remediates).
		r.dropletGone(m, fmt.Sprintf("Droplet %d no longer exists", s.dropletID()))
		r.passes.Checks.Read(m.UID, false)
		return ctrl.Result{RequeueAfter: dropletCheckInterval}, nil
	}
	if d == nil {
		spec, err := r.dropletSpec(ctx, s)
		if err != nil {
			return ctrl.Result{}, r.failed(m, "DropletCreateFailed", infrav1.DropletPermanentFailureReason, "", err)
		}
		if !m.Spec.InsecureInlineBootstrapData {
			if spec.UserData, err = r.storeBootstrapData(ctx, s, spec.UserData); err != nil {
				return ctrl.Result{}, r.failed(m, "BootstrapDataFailed", infrav1.BootstrapDataPermanentFailureReason, "", err)
			}
		}
		if d, err = s.cloud.CreateDroplet(ctx, spec); err != nil {
			if cloud.AsPermanent(err) != nil {
				// No retry makes this droplet: its bootstrap data goes now.
				if derr := r.deleteBootstrapData(ctx, s); derr != nil {
					err = fmt.Errorf("%w (and %v)", err, derr)
				}
			}
			return ctrl.Result{}, r.failed(m, "DropletCreateFailed", infrav1.DropletPermanentFailureReason, "", err)
		}
		r.passes.Recorder.Eventf(m, corev1.EventTypeNormal, "DropletCreated", "Droplet %d (%s, image %s) in %s", d.ID, spec.Size, spec.Image, spec.Cluster.Region)
	}
	recordDroplet(m, d)
	r.passes.Checks.Read(m.UID, d.Status == cloud.DropletActive)
	if bootstrapDataLeft(s, d, time.Now()) {
		if err := r.deleteBootstrapData(ctx, s); err != nil {
			return ctrl.Result{}, r.failed(m, "BootstrapDataFailed", infrav1.BootstrapDataPermanentFailureReason, "deleting the bootstrap data", err)
		}
	}

	switch d.Status {
	case cloud.DropletActive:
	case cloud.DropletNew:
		r.waiting(m, "DropletNew", fmt.Sprintf("Droplet %d is booting", d.ID))
		return ctrl.Result{RequeueAfter: dropletPendingRequeue}, nil
	default:
		r.waiting(m, "DropletNotActive", fmt.Sprintf("Droplet %d is %s", d.ID, d.Status))
		return ctrl.Result{RequeueAfter: dropletCheckInterval}, nil
	}
	if !ptr.Deref(m.Status.Initialization.Provisioned, false) {
		r.passes.Recorder.Eventf(m, corev1.EventTypeNormal, "DropletActive", "Droplet %d is active", d.ID)
	}
	m.Status.Initialization.Provisioned = ptr.To(true)
	reconcile.SetCondition(m, infrav1.DropletReadyCondition, true, "DropletActive", strconv.Itoa(d.ID))
	reconcile.SetCondition(m, infrav1.ReadyCondition, true, "Ready", "")
	return ctrl.Result{RequeueAfter: dropletCheckInterval}, nil
}

// dropletGone reports a droplet deleted out of band, with a warning event
// the first time.
func (r *DOMachineReconciler) dropletGone(m *infrav1.DOMachine, msg string) {
	if c := conditions.Get(m, infrav1.DropletReadyCondition); c == nil || c.Reason != "DropletNotFound" {
		r.passes.Recorder.Eventf(m, corev1.EventTypeWarning, "DropletNotFound", "%s", msg)
	}
	r.waiting(m, "DropletNotFound", msg)
	m.Status.DropletStatus = ""
}

// findDroplet returns the DOMachine's droplet by its recorded ID, or else
// by its MachineTag (which finds a droplet whose ID was never recorded:
// a create answered with an error, a lost status patch), or nil. Of
// droplets with the tag, which only a create repeated elsewhere makes, the
// oldest is the DOMachine's and the others are deleted.
func (r *DOMachineReconciler) findDroplet(ctx context.Context, s *machineScope) (*godo.Droplet, error) {
	if id := s.dropletID(); id != 0 {
		d, err := s.cloud.FindDroplet(ctx, id)
		if err != nil || d != nil {
			return d, err
		}
	}
	droplets, err := s.cloud.FindDropletsByTag(ctx, s.tag())
	if err != nil || len(droplets) == 0 {
		return nil, err
	}
	for _, extra := range droplets[1:] {
		if err := s.cloud.DeleteDroplet(ctx, extra.ID); err != nil {
			return nil, err
		}
		r.passes.Recorder.Eventf(s.doMachine, corev1.EventTypeWarning, "DuplicateDropletDeleted", "Deleted droplet %d, a second one for this machine (droplet %d)",
			extra.ID, droplets[0].ID)
	}
	return &droplets[0], nil
}

// failed reports a failed step, what (may be empty when err says it), in
// DropletReady and Ready and in a warning event (see
// reconcile.Passes.MachineFailed), and returns err. An error that no retry
// can clear (an unknown size or image, the droplet limit) gets a reason
// that says so (infrav1.IsPermanentFailure). An error a retry may clear,
// on a machine whose droplet is active, leaves the conditions as they are.
func (r *DOMachineReconciler) failed(m *infrav1.DOMachine, reason, permanentReason, what string, err error) error {
	return r.passes.MachineFailed(m, ptr.Deref(m.Status.Initialization.Provisioned, false), reason, permanentReason, what, err)
}

// dropletSpec is the droplet of the DOMachine, with the Machine's
// bootstrap data as its user data.
func (r *DOMachineReconciler) dropletSpec(ctx context.Context, s *machineScope) (cloud.DropletSpec, error) {
	data := &corev1.Secret{}
	key := client.ObjectKey{Namespace: s.machine.Namespace, Name: *s.machine.Spec.Bootstrap.DataSecretName}
	if err := r.Client.Get(ctx, key, data); err != nil {
		return cloud.DropletSpec{}, fmt.Errorf("reading bootstrap data: %w", err)
	}
	spec := s.doMachine.Spec
	return cloud.DropletSpec{
		Cluster: cloudCluster(s.cluster, s.doCluster), Name: s.machine.Name, MachineUID: string(s.doMachine.UID),
		ControlPlane: util.IsControlPlaneMachine(s.machine), Size: spec.Size, Image: spec.Image, SSHKeys: spec.SSHKeys,
		Tags: spec.Tags, Monitoring: ptr.Deref(spec.Monitoring, false), VPCUUID: s.doCluster.Status.Network.VPCUUID, UserData: data.Data["value"],
	}, nil
}

// recordDroplet records the droplet in the DOMachine: its provider ID,
// status and addresses (which a droplet gets once it is active).
func recordDroplet(m *infrav1.DOMachine, d *godo.Droplet) {
	m.Spec.ProviderID = infrav1.ProviderIDPrefix + strconv.Itoa(d.ID)
	m.Status.DropletStatus = d.Status
	m.Status.Addresses = nil
	private, public := cloud.Addresses(d)
	if private != "" {
		m.Status.Addresses = append(m.Status.Addresses, clusterv1.MachineAddress{Type: clusterv1.MachineInternalIP, Address: private})
	}
	if public != "" {
		m.Status.Addresses = append(m.Status.Addresses, clusterv1.MachineAddress{Type: clusterv1.MachineExternalIP, Address: public})
	}
}

// deleteDroplet deletes the DOMachine's droplets (the recorded one and
// any with its tag) and, once they are gone, its tag and its finalizer.
func (r *DOMachineReconciler) deleteDroplet(ctx context.Context, s *machineScope) (ctrl.Result, error) {
	m := s.doMachine
	failed := func(what string, err error) error {
		return r.failed(m, "DeleteFailed", infrav1.DeletePermanentFailureReason, what, err)
	}
	ids := map[int]bool{}
	if id := s.dropletID(); id != 0 {
		d, err := s.cloud.FindDroplet(ctx, id)
		if err != nil {
			return ctrl.Result{}, failed("looking up the droplet", err)
		}
		if d != nil {
			ids[d.ID] = true
		}
	}
	tagged, err := s.cloud.FindDropletsByTag(ctx, s.tag())
	if err != nil {
		return ctrl.Result{}, failed("looking up the droplet", err)
	}
	for _, d := range tagged {
		ids[d.ID] = true
	}
	if len(ids) == 0 {
		if err := s.cloud.DeleteMachineTag(ctx, string(m.UID)); err != nil {
			return ctrl.Result{}, failed("", err)
		}
		controllerutil.RemoveFinalizer(m, infrav1.MachineFinalizer)
		return ctrl.Result{}, nil
	}
	for id := range ids {
		if err := s.cloud.DeleteDroplet(ctx, id); err != nil {
			return ctrl.Result{}, failed("", err)
		}
		r.passes.Recorder.Eventf(m, corev1.EventTypeNormal, "DropletDeleted", "Deleted droplet %d", id)
	}
	r.waiting(m, "Deleting", "Waiting for the droplet to be gone")
	return ctrl.Result{RequeueAfter: pendingRequeue}, nil
}
