package controllers

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"sigs.k8s.io/cluster-api/util"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

func (r *AWSMachineReconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	return r.passes.Run(ctx, s.awsMachine, "Reconciling the AWSMachine", s,
		connect(r.Clients, func(s *scope, err error) error { return r.deleteFailed(s, "configuring AWS", err) }),
		r.deleteBootstrapDataOnDelete,
		r.lookUpInstanceToDelete,
		r.deregisterTarget,
		r.terminateInstance,
		r.removeMachineFinalizer,
	), nil
}

// deleteBootstrapDataOnDelete deletes what is left of the stored
// bootstrap data first: a delete that waits on the instance leaves no
// secret meanwhile.
func (r *AWSMachineReconciler) deleteBootstrapDataOnDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	if err := r.deleteBootstrapData(ctx, s); err != nil {
		return ctrl.Result{}, r.deleteFailed(s, "deleting the bootstrap data", err)
	}
	return ctrl.Result{}, nil
}

// deleteFailed reports a failed delete step (see failed) and returns err.
func (r *AWSMachineReconciler) deleteFailed(s *scope, what string, err error) error {
	return r.failed(s.awsMachine, infrav1.DeleteFailedReason, infrav1.DeletePermanentFailureReason, what, err)
}

// lookUpInstanceToDelete finds the AWSMachine's instance, if any. Without
// a recorded ID (a crash between RunInstances and the status patch), the
// client token finds it.
func (r *AWSMachineReconciler) lookUpInstanceToDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	m := s.awsMachine
	instance, err := r.findInstance(ctx, s, true)
	if err != nil {
		return ctrl.Result{}, r.deleteFailed(s, "looking up the instance", err)
	}
	if instance == nil && r.notVisibleYet(m) {
		r.waiting(m, infrav1.DeletingReason, "Waiting for instance "+m.Spec.InstanceID+" to be visible in EC2, to terminate it")
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	}
	s.instance = instance
	return ctrl.Result{}, nil
}

// deregisterTarget takes a control plane instance out of the API server
// load balancer before it goes.
func (r *AWSMachineReconciler) deregisterTarget(ctx context.Context, s *scope) (ctrl.Result, error) {
	tg := s.awsCluster.Status.Network.LoadBalancer.TargetGroupARN
	if s.instance == nil || !util.IsControlPlaneMachine(s.machine) || tg == "" {
		return ctrl.Result{}, nil
	}
	id := aws.ToString(s.instance.InstanceId)
	if err := s.clients.DeregisterTarget(ctx, tg, id); err != nil {
		return ctrl.Result{}, r.deleteFailed(s, "deregistering "+id+" from the API server load balancer", err)
	}
	return ctrl.Result{}, nil
}

// terminateInstance terminates the instance and waits until it is gone.
func (r *AWSMachineReconciler) terminateInstance(ctx context.Context, s *scope) (ctrl.Result, error) {
	if s.instance == nil {
		return ctrl.Result{}, nil
	}
	id := aws.ToString(s.instance.InstanceId)
	gone, err := s.clients.TerminateInstance(ctx, s.instance)
	if err != nil {
		return ctrl.Result{}, r.deleteFailed(s, "terminating "+id, err)
	}
	if !gone {
		// The next look needs a list of the cluster's instances fetched
		// after this one.
		r.passes.Checks.Read(s.awsMachine.UID, false)
		r.waiting(s.awsMachine, infrav1.DeletingReason, "Waiting for instance "+id+" to terminate")
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	}
	r.passes.Recorder.Eventf(s.awsMachine, corev1.EventTypeNormal, "InstanceTerminated", "Instance %s terminated", id)
	return ctrl.Result{}, nil
}

// removeMachineFinalizer forgets the AWSMachine and ends its deletion.
func (r *AWSMachineReconciler) removeMachineFinalizer(_ context.Context, s *scope) (ctrl.Result, error) {
	r.unseen.Delete(s.awsMachine.UID)
	controllerutil.RemoveFinalizer(s.awsMachine, infrav1.MachineFinalizer)
	return ctrl.Result{}, nil
}
