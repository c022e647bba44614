package v1alpha1

import "testing"

func TestIsPermanentFailure(t *testing.T) {
	for _, reason := range []string{NetworkPermanentFailureReason, SecurityGroupsPermanentFailureReason, LoadBalancerPermanentFailureReason,
		InstancePermanentFailureReason, DeletePermanentFailureReason, ImageNotFoundReason, ImageNotAvailableReason,
		ImageArchitectureMismatchReason, ImageNotEBSBackedReason, ImageLookupNeedsVersionReason, InvalidImageLookupReason, RootVolumeTooSmallReason} {
		if !IsPermanentFailure(reason) {
			t.Errorf("%s is not a permanent failure", reason)
		}
	}
	// The reasons of failures a retry may clear, and of waiting.
	for _, reason := range []string{"NetworkFailed", "SecurityGroupsFailed", "LoadBalancerFailed", "RunInstanceFailed", "ImageNotResolved",
		"InstanceLookupFailed", "RegisterTargetFailed", "DeleteFailed", "NATGatewaysPending", "InstancePending", "Deleting", "Ready", ""} {
		if IsPermanentFailure(reason) {
			t.Errorf("%s is a permanent failure", reason)
		}
	}
}
