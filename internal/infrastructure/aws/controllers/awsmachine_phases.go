package controllers

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
)

// The phases of an AWSMachine's pass, in order. Their errors are
// reported in the conditions already.

// waitForNextCheck holds off describing an instance described moments
// ago (see instanceCheckInterval).
func (r *AWSMachineReconciler) waitForNextCheck(_ context.Context, s *scope) (ctrl.Result, error) {
	provisioned := ptr.Deref(s.awsMachine.Status.Initialization.Provisioned, false)
	return ctrl.Result{RequeueAfter: r.passes.Checks.Wait(s.awsMachine.UID, provisioned, pendingRequeue, instanceCheckInterval)}, nil
}

// reconcileInstanceLookup finds the AWSMachine's instance. One recorded
// and gone is reported, not replaced behind Cluster API's back (a
// MachineHealthCheck remediates).
func (r *AWSMachineReconciler) reconcileInstanceLookup(ctx context.Context, s *scope) (ctrl.Result, error) {
	m := s.awsMachine
	instance, err := r.findInstance(ctx, s, false)
	if err != nil {
		return ctrl.Result{}, r.failed(m, infrav1.InstanceLookupFailedReason, infrav1.InstancePermanentFailureReason, "looking up the instance", err)
	}
	if instance == nil && r.notVisibleYet(m) {
		// As CAPA does, look again rather than take it for gone.
		r.waiting(m, infrav1.InstanceNotVisibleReason, fmt.Sprintf("Instance %s is not visible in EC2 yet", m.Spec.InstanceID))
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	}
	if instance == nil && m.Spec.InstanceID != "" {
		r.waiting(m, infrav1.InstanceNotFoundReason, fmt.Sprintf("Instance %s no longer exists", m.Spec.InstanceID))
		r.passes.Recorder.Eventf(m, corev1.EventTypeWarning, infrav1.InstanceNotFoundReason, "Instance %s no longer exists", m.Spec.InstanceID)
		return ctrl.Result{}, reconcile.ErrPassDone
	}
	s.instance = instance
	return ctrl.Result{}, nil
}

// reconcileInstanceRun runs the instance of an AWSMachine that has none.
func (r *AWSMachineReconciler) reconcileInstanceRun(ctx context.Context, s *scope) (ctrl.Result, error) {
	if s.instance != nil {
		return ctrl.Result{}, nil
	}
	m := s.awsMachine
	spec, err := r.instanceSpec(ctx, s)
	if err != nil {
		return ctrl.Result{}, r.failed(m, infrav1.RunInstanceFailedReason, infrav1.InstancePermanentFailureReason, "", err)
	}
	if spec.Image, err = r.images.resolve(ctx, s.awsCluster.Spec.Region, imageRequest(s.machine, m), s.clients.ResolveImage); err != nil {
		return ctrl.Result{}, r.failed(m, infrav1.ImageNotResolvedReason, infrav1.InstancePermanentFailureReason, "resolving the image", err)
	}
	m.Status.ImageID = spec.Image.ID
	if !m.Spec.CloudInit.InsecureSkipSecretsManager {
		if spec.UserData, err = r.storeBootstrapData(ctx, s, spec.UserData); err != nil {
			return ctrl.Result{}, r.failed(m, infrav1.BootstrapDataFailedReason, infrav1.InstancePermanentFailureReason, "", err)
		}
	}
	instance, err := s.clients.RunInstance(ctx, spec)
	if err != nil {
		if cloud.AsPermanent(err) != nil {
			// No retry runs this instance: its bootstrap data goes now.
			if derr := r.deleteBootstrapData(ctx, s); derr != nil {
				err = fmt.Errorf("%w (and %v)", err, derr)
			}
		}
		return ctrl.Result{}, r.failed(m, infrav1.RunInstanceFailedReason, infrav1.InstancePermanentFailureReason, "", err)
	}
	r.passes.Recorder.Eventf(m, corev1.EventTypeNormal, "InstanceCreated", "Instance %s (%s, image %s %s) in %s",
		aws.ToString(instance.InstanceId), spec.InstanceType, spec.Image.ID, spec.Image.Name, aws.ToString(instance.Placement.AvailabilityZone))
	s.instance = instance
	return ctrl.Result{}, nil
}

// storeBootstrapData stores the bootstrap data in Secrets Manager and
// returns the user data that fetches it. The secrets' prefix and count are
// recorded on the AWSMachine before they are stored: a process that dies
// in between leaves nothing its successor (or the delete) cannot find.
// What an earlier attempt stored (its instance did not run) goes first.
func (r *AWSMachineReconciler) storeBootstrapData(ctx context.Context, s *scope, data []byte) ([]byte, error) {
	m := s.awsMachine
	chunks, err := cloud.ChunkBootstrapData(data)
	if err != nil {
		return nil, fmt.Errorf("compressing bootstrap data: %w", err)
	}
	if err := r.deleteBootstrapData(ctx, s); err != nil {
		return nil, err
	}
	prefix := cloud.SecretPrefix(string(m.UID), rand.String(6))
	// In the status: a status patch starts no new reconcile, and the
	// backoff of a machine whose instance EC2 refuses holds.
	recorded := m.DeepCopy()
	before := recorded.DeepCopy()
	recorded.Status.BootstrapData = infrav1.BootstrapDataStatus{SecretPrefix: prefix, SecretCount: int32(len(chunks))}
	if err := r.Client.Status().Patch(ctx, recorded, client.MergeFrom(before)); err != nil {
		return nil, fmt.Errorf("recording where the bootstrap data goes: %w", err)
	}
	m.Status.BootstrapData = recorded.Status.BootstrapData
	if err := s.clients.StoreBootstrapData(ctx, s.id(), s.machine.Name, prefix, chunks); err != nil {
		return nil, err
	}
	r.passes.Recorder.Eventf(m, corev1.EventTypeNormal, "BootstrapDataStored",
		"Bootstrap data stored in AWS Secrets Manager as %d secret(s) %s-*; the instance deletes them once read", len(chunks), prefix)
	return cloud.BoothookUserData(prefix, len(chunks), s.awsCluster.Spec.Region)
}

// deleteBootstrapData deletes what is left of the stored bootstrap data.
func (r *AWSMachineReconciler) deleteBootstrapData(ctx context.Context, s *scope) error {
	ci := &s.awsMachine.Status.BootstrapData
	if ci.SecretCount == 0 {
		return nil
	}
	if err := s.clients.DeleteBootstrapData(ctx, ci.SecretPrefix, int(ci.SecretCount)); err != nil {
		return err
	}
	ci.SecretCount = 0
	return nil
}

// reconcileBootstrapDataCleanup deletes the stored bootstrap data once no
// instance will read it: the Machine has its node, or the instance no
// longer runs. The instance deletes the secrets itself when it reads them;
// this catches an instance that did not get so far.
func (r *AWSMachineReconciler) reconcileBootstrapDataCleanup(ctx context.Context, s *scope) (ctrl.Result, error) {
	state := s.instance.State.Name
	booting := state == ec2types.InstanceStateNamePending || state == ec2types.InstanceStateNameRunning
	if s.awsMachine.Status.BootstrapData.SecretCount == 0 || (booting && !s.machine.Status.NodeRef.IsDefined()) {
		return ctrl.Result{}, nil
	}
	if err := r.deleteBootstrapData(ctx, s); err != nil {
		return ctrl.Result{}, r.failed(s.awsMachine, infrav1.BootstrapDataFailedReason, infrav1.InstancePermanentFailureReason, "", err)
	}
	return ctrl.Result{}, nil
}

// reconcileInstanceState records the instance in the AWSMachine and goes
// on once it runs.
func (r *AWSMachineReconciler) reconcileInstanceState(_ context.Context, s *scope) (ctrl.Result, error) {
	m, instance := s.awsMachine, s.instance
	recordInstance(m, instance)
	r.passes.Checks.Read(m.UID, instance.State.Name == ec2types.InstanceStateNameRunning)
	switch instance.State.Name {
	case ec2types.InstanceStateNameRunning:
		return ctrl.Result{}, nil
	case ec2types.InstanceStateNamePending:
		r.waiting(m, infrav1.InstancePendingReason, "Instance "+m.Spec.InstanceID+" is pending")
		return ctrl.Result{RequeueAfter: pendingRequeue}, nil
	default:
		r.waiting(m, infrav1.InstanceNotRunningReason, fmt.Sprintf("Instance %s is %s", m.Spec.InstanceID, instance.State.Name))
		return ctrl.Result{}, reconcile.ErrPassDone
	}
}

// reconcileProvisioned reports the running instance provisioned; the
// first time, a control plane instance joins the API server load
// balancer.
func (r *AWSMachineReconciler) reconcileProvisioned(ctx context.Context, s *scope) (ctrl.Result, error) {
	m := s.awsMachine
	if !ptr.Deref(m.Status.Initialization.Provisioned, false) {
		if util.IsControlPlaneMachine(s.machine) {
			if err := s.clients.RegisterTarget(ctx, s.awsCluster.Status.Network.LoadBalancer.TargetGroupARN, m.Spec.InstanceID); err != nil {
				return ctrl.Result{}, r.failed(m, infrav1.RegisterTargetFailedReason, infrav1.InstancePermanentFailureReason,
					"registering "+m.Spec.InstanceID+" with the API server load balancer", err)
			}
		}
		r.passes.Recorder.Eventf(m, corev1.EventTypeNormal, infrav1.InstanceRunningReason, "Instance %s is running", m.Spec.InstanceID)
	}
	m.Status.Initialization.Provisioned = ptr.To(true)
	reconcile.SetCondition(m, infrav1.InstanceReadyCondition, true, infrav1.InstanceRunningReason, m.Spec.InstanceID)
	reconcile.SetCondition(m, infrav1.ReadyCondition, true, infrav1.ReadyReason, "")
	return ctrl.Result{RequeueAfter: instanceCheckInterval}, nil
}

// imageRequest is the image an AWSMachine asks for: its AMI, or the lookup
// (CAPA's defaults where unset) for its Machine's Kubernetes version.
func imageRequest(machine *clusterv1.Machine, m *infrav1.AWSMachine) cloud.ImageRequest {
	return cloud.ImageRequest{AMI: m.Spec.AMI, Lookup: m.Spec.ImageLookup, KubernetesVersion: machine.Spec.Version, InstanceType: m.Spec.InstanceType}
}

// instanceSpec is the instance of the AWSMachine, in a subnet of its
// failure domain, with its Machine's bootstrap data as its user data.
func (r *AWSMachineReconciler) instanceSpec(ctx context.Context, s *scope) (cloud.InstanceSpec, error) {
	machine, awsMachine := s.machine, s.awsMachine
	data := &corev1.Secret{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: machine.Namespace, Name: *machine.Spec.Bootstrap.DataSecretName}, data); err != nil {
		return cloud.InstanceSpec{}, fmt.Errorf("reading bootstrap data: %w", err)
	}
	zone := machine.Spec.FailureDomain
	st := s.awsCluster.Status.Network
	subnet := ""
	for _, sn := range st.Subnets {
		if sn.Public == awsMachine.Spec.PublicIP && (zone == "" || sn.AvailabilityZone == zone) {
			subnet = sn.ID
			break
		}
	}
	if subnet == "" {
		return cloud.InstanceSpec{}, fmt.Errorf("no subnet in failure domain %q", zone)
	}
	role, group, profile := "node", st.SecurityGroups.Node, cloud.NodesInstanceProfile
	if util.IsControlPlaneMachine(machine) {
		role, group, profile = "control-plane", st.SecurityGroups.ControlPlane, cloud.ControlPlaneInstanceProfile
	}
	// An instance that fetches its bootstrap data needs a role allowed to;
	// without one of its own it gets Cluster API Provider AWS's.
	if awsMachine.Spec.IAMInstanceProfile != "" || awsMachine.Spec.CloudInit.InsecureSkipSecretsManager {
		profile = awsMachine.Spec.IAMInstanceProfile
	}
	return cloud.InstanceSpec{
		Cluster: s.id(), Machine: machine.Name, Token: clientTokenOf(awsMachine), Role: role,
		InstanceType: awsMachine.Spec.InstanceType, RootVolumeSizeGiB: awsMachine.Spec.RootVolumeSizeGiB,
		SSHKeyName: awsMachine.Spec.SSHKeyName, IAMInstanceProfile: profile,
		SubnetID: subnet, SecurityGroupIDs: []string{group}, UserData: data.Data["value"],
		RootVolumeKMSKeyID: awsMachine.Spec.RootVolumeKMSKeyID,
		MetadataOptions:    ptr.Deref(awsMachine.Spec.InstanceMetadataOptions, infrav1.InstanceMetadataOptions{}),
	}, nil
}

// recordInstance records the instance in the AWSMachine: its provider ID,
// state, image, zone and addresses.
func recordInstance(m *infrav1.AWSMachine, i *ec2types.Instance) {
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
