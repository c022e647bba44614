package validators

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// WarnWhenTrue warns at plan, with summary and detail, when a bool is set
// true: for switches that are allowed but give something up.
func WarnWhenTrue(summary, detail string) validator.Bool {
	return warnWhenTrue{summary: summary, detail: detail}
}

type warnWhenTrue struct{ summary, detail string }

func (v warnWhenTrue) Description(context.Context) string {
	return "warns when true: " + v.summary
}

func (v warnWhenTrue) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v warnWhenTrue) ValidateBool(_ context.Context, req validator.BoolRequest, resp *validator.BoolResponse) {
	if req.ConfigValue.ValueBool() {
		resp.Diagnostics.AddAttributeWarning(req.Path, v.summary, v.detail)
	}
}
