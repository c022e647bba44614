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
