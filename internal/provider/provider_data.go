package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
)

// configuredClient extracts the management cluster client that Configure
// hands to resources and data sources. Before Configure it returns nil.
func configuredClient(data any, diags *diag.Diagnostics) *kube.Client {
	if data == nil {
		return nil
	}
	c, ok := data.(*kube.Client)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *kube.Client, got %T; this is a bug in the provider", data))
		return nil
	}
	return c
}
