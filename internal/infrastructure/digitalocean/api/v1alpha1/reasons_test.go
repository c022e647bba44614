package v1alpha1

import "testing"

func TestIsPermanentFailure(t *testing.T) {
	for _, reason := range []string{VPCPermanentFailureReason, FirewallPermanentFailureReason, LoadBalancerPermanentFailureReason,
		DropletPermanentFailureReason, UserDataTooLargeReason, DeletePermanentFailureReason, AuthenticationFailedReason} {
		if !IsPermanentFailure(reason) {
			t.Errorf("%s is not a permanent failure", reason)
		}
	}
	// The reasons of failures a retry may clear, and of waiting.
	for _, reason := range []string{"VPCFailed", "FirewallFailed", "LoadBalancerFailed", "LoadBalancerProvisioning", "DropletCreateFailed",
		"DropletLookupFailed", "DropletNew", "DropletNotFound", "DeleteFailed", "Deleting", "Ready", ""} {
		if IsPermanentFailure(reason) {
			t.Errorf("%s is a permanent failure", reason)
		}
	}
}
