package infrastructure

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Attributes of another cloud take their schema default, as a plan that
// leaves them out gives them; those without one are null.
func TestWidenWithDefaults(t *testing.T) {
	attrs := map[string]rschema.Attribute{
		"size":         rschema.StringAttribute{Optional: true},
		"ami":          rschema.StringAttribute{Optional: true},
		"insecure_aws": rschema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false)},
		"insecure_do":  rschema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false)},
	}
	narrow := types.ObjectValueMust(map[string]attr.Type{"size": types.StringType, "insecure_do": types.BoolType},
		map[string]attr.Value{"size": types.StringValue("s-2vcpu-4gb"), "insecure_do": types.BoolValue(true)})
	wide, diags := WidenWithDefaults(context.Background(), narrow, attrs)
	if diags.HasError() {
		t.Fatal(diags)
	}
	got := wide.Attributes()
	if !got["ami"].IsNull() || !got["insecure_aws"].Equal(types.BoolValue(false)) || !got["insecure_do"].Equal(types.BoolValue(true)) ||
		!got["size"].Equal(types.StringValue("s-2vcpu-4gb")) {
		t.Errorf("widened = %v", wide)
	}
}
