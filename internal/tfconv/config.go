package tfconv

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// ConfigString reads a string attribute of a configuration, for a
// validator; known is false while it is unknown (or p does not exist).
func ConfigString(ctx context.Context, cfg tfsdk.Config, p path.Path) (s types.String, known bool) {
	d := cfg.GetAttribute(ctx, p, &s)
	return s, !d.HasError() && !s.IsUnknown()
}

// ConfigStrings reads a list of strings of a configuration, for a
// validator: nil for null; known is false while the list or one of its
// elements is unknown.
func ConfigStrings(ctx context.Context, cfg tfsdk.Config, p path.Path) (values []string, known bool) {
	var list types.List
	if d := cfg.GetAttribute(ctx, p, &list); d.HasError() || list.IsUnknown() {
		return nil, false
	}
	for _, elem := range list.Elements() {
		s, ok := elem.(types.String)
		if !ok || s.IsUnknown() {
			return nil, false
		}
		values = append(values, s.ValueString())
	}
	return values, true
}
