package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
)

// namespacedIdentity is the resource identity of every resource of this
// provider: the object's namespace and name, as kubectl names it. Terraform
// 1.12 and later keep it beside the state and import by it; older versions
// ignore it.
type namespacedIdentity struct {
	Namespace types.String `tfsdk:"namespace"`
	Name      types.String `tfsdk:"name"`
}

// namespacedIdentitySchema describes namespacedIdentity for a kind.
func namespacedIdentitySchema(kind string) identityschema.Schema {
	return identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"namespace": identityschema.StringAttribute{
				OptionalForImport: true,
				Description:       "Namespace of the " + kind + " in the management cluster; `default` when an import leaves it out.",
			},
			"name": identityschema.StringAttribute{
				RequiredForImport: true,
				Description:       "Name of the " + kind + ".",
			},
		},
	}
}

// setIdentity records the identity of the resource whose ID is id
// (namespace/name). identity is nil when Terraform predates identities.
func setIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, id string, diags *diag.Diagnostics) {
	if identity == nil {
		return
	}
	namespace, name, err := capiobj.ParseNamespacedID(id)
	if err != nil {
		return // the caller reports the invalid ID
	}
	diags.Append(identity.Set(ctx, namespacedIdentity{
		Namespace: types.StringValue(namespace),
		Name:      types.StringValue(name),
	})...)
}

// importID is the namespace/name an import names, by ID (terraform
// import, an import block's id) or by identity (an import block's
// identity, Terraform 1.12 and later).
func importID(ctx context.Context, req resource.ImportStateRequest, diags *diag.Diagnostics) string {
	if req.ID != "" || req.Identity == nil {
		return req.ID
	}
	var id namespacedIdentity
	diags.Append(req.Identity.Get(ctx, &id)...)
	if diags.HasError() {
		return ""
	}
	if id.Name.ValueString() == "" {
		diags.AddAttributeError(path.Root("name"), "Missing name in the import identity", "An import by identity needs the object's name.")
		return ""
	}
	namespace := id.Namespace.ValueString()
	if namespace == "" {
		namespace = "default"
	}
	return namespace + "/" + id.Name.ValueString()
}
