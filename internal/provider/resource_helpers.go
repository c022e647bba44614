package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
)

// readFailed reports a failed read of a resource's objects. An object gone
// out of band removes the resource from the state with a warning, so that
// the next plan creates it again, as terraform-provider-aws does.
func readFailed(ctx context.Context, kind, id string, err error, resp *resource.ReadResponse) {
	if kube.IsNotFound(err) {
		resp.Diagnostics.AddWarning(kind+" "+id+" not found",
			"The "+kind+" no longer exists in the management cluster; it is removed from the state and the next apply creates it again.")
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.AddError("Cannot read "+kind+" "+id, err.Error())
}

// privateGetter and privateSetter are the private state of read requests
// and responses.
type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// followsImport says whether this Read is the first after an import, and
// clears the mark: that Read takes every user label and annotation from the
// objects, later ones only the keys the configuration has.
func followsImport(ctx context.Context, from privateGetter, to privateSetter, diags *diag.Diagnostics) bool {
	imported, d := from.GetKey(ctx, importedKey)
	diags.Append(d...)
	if imported == nil {
		return false
	}
	diags.Append(to.SetKey(ctx, importedKey, nil)...)
	return true
}

// importByNamespacedName imports a resource whose ID is namespace/name.
func importByNamespacedName(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	namespace, name, err := capiobj.ParseNamespacedID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import ID", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), namespace)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importedKey, []byte(`true`))...)
}
