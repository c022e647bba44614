package infrastructure

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
)

// ReplaceWhenChanged replaces the cluster when one of the block's
// attributes named changes (its region or its network, which cannot
// move). block names the block in the messages.
func ReplaceWhenChanged(block string, attrs ...string) planmodifier.Object {
	names := make([]string, len(attrs))
	for i, a := range attrs {
		names[i] = "`" + block + "." + a + "`"
	}
	list := strings.Join(names, ", ")
	return objectplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.ObjectRequest, resp *objectplanmodifier.RequiresReplaceIfFuncResponse) {
		if req.StateValue.IsNull() || req.PlanValue.IsNull() || req.PlanValue.IsUnknown() {
			return
		}
		for _, name := range attrs {
			before, after := req.StateValue.Attributes()[name], req.PlanValue.Attributes()[name]
			if before != nil && after != nil && !after.IsUnknown() && !before.Equal(after) {
				resp.RequiresReplace = true
			}
		}
	}, "Changing "+strings.ReplaceAll(list, "`", "")+" replaces the cluster.", "Changing "+list+" replaces the cluster.")
}
