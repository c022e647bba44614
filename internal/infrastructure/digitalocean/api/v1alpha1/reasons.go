package v1alpha1

// Condition reasons of failures that no retry can clear: DigitalOcean
// refused the request as specified (its 400 and 422 answers), the token
// lacks a permission, or what the spec names does not fit (a VPC of
// another region). The reconcilers set them on Ready and on the condition
// of the failed step, with the cloud's message, and try again only slowly,
// in case the account changes.
const (
	// VPCPermanentFailureReason: the VPC cannot be made or used as
	// specified, such as an IP range DigitalOcean refuses, a vpcUUID of
	// another region, or a name taken by a VPC the cluster did not make.
	VPCPermanentFailureReason = "VPCPermanentFailure"
	// FirewallPermanentFailureReason: the cloud firewall cannot be made as
	// specified, such as a source that is no address or CIDR.
	FirewallPermanentFailureReason = "FirewallPermanentFailure"
	// LoadBalancerPermanentFailureReason: the API server load balancer
	// cannot be made, such as a quota reached.
	LoadBalancerPermanentFailureReason = "LoadBalancerPermanentFailure"
	// DropletPermanentFailureReason: DigitalOcean refuses to create the
	// droplet as specified, such as an unknown size, image or SSH key, a
	// size the region does not offer, or the droplet limit reached.
	DropletPermanentFailureReason = "DropletPermanentFailure"
	// UserDataTooLargeReason: the bootstrap data exceeds DigitalOcean's
	// 64 KiB limit on user data.
	UserDataTooLargeReason = "UserDataTooLarge"
	// DeletePermanentFailureReason: the token does not allow deleting the
	// cloud resources.
	DeletePermanentFailureReason = "DeletePermanentFailure"
	// AuthenticationFailedReason: DigitalOcean refuses the token, or none
	// is configured.
	AuthenticationFailedReason = "AuthenticationFailed"
	// BootstrapDataPermanentFailureReason: the bootstrap data cannot be
	// stored in Spaces: no Spaces key is configured or Spaces refuses it,
	// the bucket's name is another account's, or the account's bucket
	// limit is reached.
	BootstrapDataPermanentFailureReason = "BootstrapDataPermanentFailure"
)

var permanentFailureReasons = map[string]bool{
	VPCPermanentFailureReason:           true,
	FirewallPermanentFailureReason:      true,
	LoadBalancerPermanentFailureReason:  true,
	DropletPermanentFailureReason:       true,
	UserDataTooLargeReason:              true,
	DeletePermanentFailureReason:        true,
	AuthenticationFailedReason:          true,
	BootstrapDataPermanentFailureReason: true,
}

// IsPermanentFailure says whether a condition reason of a DOCluster or a
// DOMachine reports a failure that retrying cannot clear: a condition with
// such a reason needs a change of the spec or the account; an apply
// waiting on it may fail at once.
func IsPermanentFailure(reason string) bool { return permanentFailureReasons[reason] }
