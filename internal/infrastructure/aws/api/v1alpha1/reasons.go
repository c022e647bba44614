package v1alpha1

// Condition reasons of failures that no retry can clear: AWS refused the
// request as specified, or the account does not allow it. The reconcilers
// set them on Ready and on the condition of the failed step, with the
// cloud's message, and try again only slowly, in case the account changes.
const (
	// NetworkPermanentFailureReason: the VPC or its subnets cannot be made
	// as specified, such as a zone that is not of the region, a VPC CIDR
	// that EC2 refuses or that is too small for the subnets, a subnet that
	// conflicts with another, or a quota of the account reached.
	NetworkPermanentFailureReason = "NetworkPermanentFailure"
	// SecurityGroupsPermanentFailureReason: the security groups or their
	// rules cannot be made, such as a quota reached.
	SecurityGroupsPermanentFailureReason = "SecurityGroupsPermanentFailure"
	// LoadBalancerPermanentFailureReason: the API server load balancer
	// cannot be made, such as a quota reached.
	LoadBalancerPermanentFailureReason = "LoadBalancerPermanentFailure"
	// InstancePermanentFailureReason: EC2 refuses to run the instance as
	// specified, such as an unknown instance type or key pair, a type the
	// zone does not offer, user data over EC2's limit or a vCPU quota
	// reached.
	InstancePermanentFailureReason = "InstancePermanentFailure"
	// DeletePermanentFailureReason: the account does not allow deleting
	// the cloud resources, such as a missing permission.
	DeletePermanentFailureReason = "DeletePermanentFailure"

	// ImageNotFoundReason: no image matches the AMI or the lookup.
	ImageNotFoundReason = "ImageNotFound"
	// ImageNotAvailableReason: the AMI is neither available nor pending.
	ImageNotAvailableReason = "ImageNotAvailable"
	// ImageArchitectureMismatchReason: the AMI is of another architecture
	// than the instance type.
	ImageArchitectureMismatchReason = "ImageArchitectureMismatch"
	// ImageNotEBSBackedReason: the AMI has no EBS root device.
	ImageNotEBSBackedReason = "ImageNotEBSBacked"
	// ImageLookupNeedsVersionReason: an image lookup without a Kubernetes
	// version on the Machine.
	ImageLookupNeedsVersionReason = "ImageLookupNeedsVersion"
	// InvalidImageLookupReason: the lookup's name format is not a valid
	// template.
	InvalidImageLookupReason = "InvalidImageLookup"
	// RootVolumeTooSmallReason: the root volume is smaller than the
	// image's snapshot.
	RootVolumeTooSmallReason = "RootVolumeTooSmall"
)

// The reasons of steps on their way, done, or failed in a way a retry may
// clear follow; none is a permanent failure (IsPermanentFailure).

// Condition reasons of the AWSCluster, on its NetworkReady,
// SecurityGroupsReady and LoadBalancerReady conditions, and on Ready,
// which takes the reason of the first of those that is not true.
const (
	// NetworkFailedReason: a call that makes the network failed in a way
	// a retry may clear, as did getting the AWS clients.
	NetworkFailedReason = "NetworkFailed"
	// NATGatewaysPendingReason: the network exists, and its NAT gateways
	// are not available yet.
	NATGatewaysPendingReason = "NATGatewaysPending"
	// NetworkReadyReason: the VPC, subnets, gateways and route tables
	// exist.
	NetworkReadyReason = "NetworkReady"
	// SecurityGroupsFailedReason: a call that makes the security groups or
	// their rules failed in a way a retry may clear.
	SecurityGroupsFailedReason = "SecurityGroupsFailed"
	// SecurityGroupsReadyReason: the security groups exist with their
	// rules.
	SecurityGroupsReadyReason = "SecurityGroupsReady"
	// LoadBalancerFailedReason: a call that makes the API server load
	// balancer failed in a way a retry may clear.
	LoadBalancerFailedReason = "LoadBalancerFailed"
	// LoadBalancerProvisioningReason: the load balancer exists and is not
	// active yet.
	LoadBalancerProvisioningReason = "LoadBalancerProvisioning"
	// LoadBalancerActiveReason: the load balancer is active.
	LoadBalancerActiveReason = "LoadBalancerActive"
	// ProvisioningReason: Ready, before a step has reported its condition.
	ProvisioningReason = "Provisioning"
)

// Condition reasons of the AWSMachine, on InstanceReady and on Ready
// alike.
const (
	// WaitingForClusterInfrastructureReason: the cluster's network and
	// load balancer are not provisioned yet.
	WaitingForClusterInfrastructureReason = "WaitingForClusterInfrastructure"
	// WaitingForBootstrapDataReason: the Machine has no bootstrap data
	// secret yet.
	WaitingForBootstrapDataReason = "WaitingForBootstrapData"
	// InstanceLookupFailedReason: describing the instance failed in a way
	// a retry may clear, as did getting the AWS clients.
	InstanceLookupFailedReason = "InstanceLookupFailed"
	// InstanceNotVisibleReason: EC2 does not know the recorded instance
	// yet, moments after it was run.
	InstanceNotVisibleReason = "InstanceNotVisible"
	// InstanceNotFoundReason: the recorded instance no longer exists; it
	// is not replaced (a MachineHealthCheck remediates).
	InstanceNotFoundReason = "InstanceNotFound"
	// ImageNotResolvedReason: looking up the image failed in a way a retry
	// may clear.
	ImageNotResolvedReason = "ImageNotResolved"
	// RunInstanceFailedReason: running the instance failed in a way a
	// retry may clear.
	RunInstanceFailedReason = "RunInstanceFailed"
	// BootstrapDataFailedReason: storing the bootstrap data in AWS
	// Secrets Manager, or deleting it, failed in a way a retry may clear.
	BootstrapDataFailedReason = "BootstrapDataFailed"
	// InstancePendingReason: the instance is pending.
	InstancePendingReason = "InstancePending"
	// InstanceNotRunningReason: the instance is neither pending nor
	// running (it is stopping, stopped, shutting down or terminated).
	InstanceNotRunningReason = "InstanceNotRunning"
	// RegisterTargetFailedReason: registering a control plane instance
	// with the API server load balancer failed in a way a retry may clear.
	RegisterTargetFailedReason = "RegisterTargetFailed"
	// InstanceRunningReason: the instance runs.
	InstanceRunningReason = "InstanceRunning"
)

// Condition reasons of both kinds.
const (
	// ReadyReason: Ready is true.
	ReadyReason = "Ready"
	// DeletingReason: the deletion waits for cloud resources to go.
	DeletingReason = "Deleting"
	// DeleteFailedReason: a delete call failed in a way a retry may
	// clear.
	DeleteFailedReason = "DeleteFailed"
)

var permanentFailureReasons = map[string]bool{
	NetworkPermanentFailureReason:        true,
	SecurityGroupsPermanentFailureReason: true,
	LoadBalancerPermanentFailureReason:   true,
	InstancePermanentFailureReason:       true,
	DeletePermanentFailureReason:         true,
	ImageNotFoundReason:                  true,
	ImageNotAvailableReason:              true,
	ImageArchitectureMismatchReason:      true,
	ImageNotEBSBackedReason:              true,
	ImageLookupNeedsVersionReason:        true,
	InvalidImageLookupReason:             true,
	RootVolumeTooSmallReason:             true,
}

// IsPermanentFailure says whether a condition reason of an AWSCluster or
// an AWSMachine reports a failure that retrying cannot clear: a condition
// with such a reason needs a change of the spec or the account; an apply
// waiting on it may fail at once.
func IsPermanentFailure(reason string) bool { return permanentFailureReasons[reason] }
