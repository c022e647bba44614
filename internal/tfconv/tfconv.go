// Package tfconv converts between Terraform framework values and Go values
// the way every model of the provider needs: null is the zero value, and a
// zero value reads back as null, so optional attributes a configuration
// leaves out never show as drift.
package tfconv

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
)

// Strings reads a list of strings; null or unknown is nil.
func Strings(ctx context.Context, l types.List, diags *diag.Diagnostics) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	diags.Append(l.ElementsAs(ctx, &out, false)...)
	return out
}

// StringMap reads a map of strings; null or unknown is nil.
func StringMap(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	out := map[string]string{}
	diags.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}

// StringList is a list of strings, null when empty.
func StringList(ctx context.Context, values []string, diags *diag.Diagnostics) types.List {
	if len(values) == 0 {
		return types.ListNull(types.StringType)
	}
	l, d := types.ListValueFrom(ctx, types.StringType, values)
	diags.Append(d...)
	return l
}

// OptionalString is s, null when empty.
func OptionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// OptionalInt32 is i, null when zero.
func OptionalInt32(i int32) types.Int32 {
	if i == 0 {
		return types.Int32Null()
	}
	return types.Int32Value(i)
}

// IsKnown reports whether v is neither null nor unknown.
func IsKnown(v interface {
	IsNull() bool
	IsUnknown() bool
}) bool {
	return !v.IsNull() && !v.IsUnknown()
}

// Decode reads an object into a model struct; ok is false when the object
// is null or unknown (m is then the zero value).
func Decode[M any](ctx context.Context, o types.Object, diags *diag.Diagnostics) (m M, ok bool) {
	if o.IsNull() || o.IsUnknown() {
		return m, false
	}
	d := o.As(ctx, &m, basetypes.ObjectAsOptions{})
	diags.Append(d...)
	return m, !d.HasError()
}
