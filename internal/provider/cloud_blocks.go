package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
)

// cloudBlocks are a model's cloud blocks, one attribute per cloud of the
// registry, named after it. At most one is set; the cloud-neutral models
// of capiobj carry the chosen one as their InfraBlock.
type cloudBlocks struct {
	AWS          types.Object `tfsdk:"aws"`
	DigitalOcean types.Object `tfsdk:"digitalocean"`
}

// field is the block of the cloud named name.
func (b *cloudBlocks) field(name string) *types.Object {
	switch name {
	case "aws":
		return &b.AWS
	case "digitalocean":
		return &b.DigitalOcean
	}
	panic(fmt.Sprintf("no block for cloud %q", name))
}

// chosen is the cloud whose block is set, with its block.
func (b *cloudBlocks) chosen() capiobj.InfraBlock {
	for _, cloud := range registry.All() {
		if v := *b.field(cloud.Name()); !v.IsNull() {
			return capiobj.InfraBlock{Cloud: cloud, Block: v}
		}
	}
	return capiobj.InfraBlock{}
}

// put sets the chosen cloud's block, and every other block null; attrs
// are a cloud's block attributes in the resource.
func (b *cloudBlocks) put(chosen capiobj.InfraBlock, attrs func(infrastructure.Infrastructure) map[string]schema.Attribute) {
	for _, cloud := range registry.All() {
		v := infrastructure.NullBlock(attrs(cloud))
		if chosen.Cloud == cloud && !chosen.Block.IsNull() {
			v = chosen.Block
		}
		*b.field(cloud.Name()) = v
	}
}

// Where each resource has its clouds' blocks.
func clusterBlockAttributes(c infrastructure.Infrastructure) map[string]schema.Attribute {
	return c.ClusterAttribute().Attributes
}

func machineTemplateBlockAttributes(c infrastructure.Infrastructure) map[string]schema.Attribute {
	return c.MachineTemplateAttributes()
}

func machineBlockAttributes(c infrastructure.Infrastructure) map[string]schema.Attribute {
	return c.MachineAttributes()
}

// cloudModel is a resource model with cloud blocks: decodeBlocks fills
// the capiobj model's InfraBlock from them after a read of the plan or
// state, encodeBlocks the blocks from it before the state is set.
type cloudModel interface {
	decodeBlocks()
	encodeBlocks()
}

// getModel reads a plan, state or configuration into m.
func getModel(ctx context.Context, from interface {
	Get(context.Context, any) diag.Diagnostics
}, m cloudModel, diags *diag.Diagnostics) {
	d := from.Get(ctx, m)
	diags.Append(d...)
	if !d.HasError() {
		m.decodeBlocks()
	}
}

// cloudBlockPaths are the paths of the clouds' blocks.
func cloudBlockPaths() []path.Expression {
	var out []path.Expression
	for _, cloud := range registry.All() {
		out = append(out, path.MatchRoot(cloud.Name()))
	}
	return out
}

// plannedCloud is the cloud whose block a plan (or state) sets, or nil.
func plannedCloud(ctx context.Context, plan interface {
	GetAttribute(context.Context, path.Path, any) diag.Diagnostics
}, diags *diag.Diagnostics) infrastructure.Infrastructure {
	for _, cloud := range registry.All() {
		var block types.Object
		diags.Append(plan.GetAttribute(ctx, path.Root(cloud.Name()), &block)...)
		if !block.IsNull() {
			return cloud
		}
	}
	return nil
}

// cloudOfCluster is the cloud of a Cluster's infrastructure reference, or
// nil when it is none of the provider's clouds.
func cloudOfCluster(c *clusterv1.Cluster) infrastructure.Infrastructure {
	ref := c.Spec.InfrastructureRef
	cloud, ok := registry.ForClusterKind(ref.APIGroup, ref.Kind)
	if !ok {
		return nil
	}
	return cloud
}

// cloudNames lists the clouds' block names for messages: "aws or
// digitalocean".
func cloudNames() string {
	var names []string
	for _, cloud := range registry.All() {
		names = append(names, cloud.Name())
	}
	return strings.Join(names, " or ")
}

// configuresCloud says whether a configuration sets a cloud block with
// known values.
func configuresCloud(ctx context.Context, config tfsdk.Config, diags *diag.Diagnostics) bool {
	for _, cloud := range registry.All() {
		var block types.Object
		diags.Append(config.GetAttribute(ctx, path.Root(cloud.Name()), &block)...)
		if !block.IsNull() && !block.IsUnknown() {
			return true
		}
	}
	return false
}

// controlPlaneMachineOfCloud checks control_plane.machine against the
// cluster's cloud: it holds every cloud's settings, so the schema cannot
// say which are required and which do not apply.
type controlPlaneMachineOfCloud struct{}

func (controlPlaneMachineOfCloud) Description(context.Context) string {
	return "control_plane.machine sets what the cluster's cloud requires, and nothing of another cloud"
}

func (v controlPlaneMachineOfCloud) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (controlPlaneMachineOfCloud) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	machinePath := path.Root("control_plane").AtName("machine")
	var machine types.Object
	if d := req.Config.GetAttribute(ctx, machinePath, &machine); d.HasError() || machine.IsNull() || machine.IsUnknown() {
		return
	}
	var cloud infrastructure.Infrastructure
	for _, c := range registry.All() {
		var block types.Object
		if d := req.Config.GetAttribute(ctx, path.Root(c.Name()), &block); !d.HasError() && !block.IsNull() {
			cloud = c
		}
	}
	if cloud == nil {
		return
	}
	own := cloud.MachineTemplateAttributes()
	all := registry.ControlPlaneMachineAttributes()
	for name, v := range machine.Attributes() {
		a, ok := own[name]
		// Another cloud's switch at its default is what an import writes
		// (the state holds the default, as a plan does): no setting.
		def, hasDefault := infrastructure.SchemaDefault(ctx, all[name], &resp.Diagnostics)
		switch {
		case !ok && !v.IsNull() && !(hasDefault && v.Equal(def)):
			resp.Diagnostics.AddAttributeError(machinePath.AtName(name), "Setting of another cloud",
				fmt.Sprintf("Attribute control_plane.machine.%s is not a setting of %s machines (the cluster's %s block): remove it.", name, cloud.Title(), cloud.Name()))
		case ok && a.IsRequired() && v.IsNull():
			resp.Diagnostics.AddAttributeError(machinePath.AtName(name), "Missing machine setting",
				fmt.Sprintf("Attribute control_plane.machine.%s is required for %s machines (the cluster's %s block).", name, cloud.Title(), cloud.Name()))
		}
	}
}

// requiresCloud refuses attributes that only a cluster on a cloud can
// have (a control plane, add-ons) without a cloud block.
type requiresCloud struct{ attributes []string }

func (v requiresCloud) Description(context.Context) string {
	return strings.Join(v.attributes, " and ") + " need a cloud block (" + cloudNames() + ")"
}

func (v requiresCloud) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v requiresCloud) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var diags diag.Diagnostics
	if configuresCloud(ctx, req.Config, &diags) || hasUnknownCloud(ctx, req.Config) {
		return
	}
	for _, name := range v.attributes {
		var value attr.Value
		if d := req.Config.GetAttribute(ctx, path.Root(name), &value); d.HasError() || value == nil || value.IsNull() {
			continue
		}
		resp.Diagnostics.AddAttributeError(path.Root(name), "Missing cloud block",
			fmt.Sprintf("Attribute %s needs a cloud block (%s): without infrastructure there are no machines to run a control plane "+
				"or add-ons on.", name, cloudNames()))
	}
}

// hasUnknownCloud says whether a cloud block's presence is unknown yet.
func hasUnknownCloud(ctx context.Context, config tfsdk.Config) bool {
	for _, cloud := range registry.All() {
		var block types.Object
		if d := config.GetAttribute(ctx, path.Root(cloud.Name()), &block); !d.HasError() && block.IsUnknown() {
			return true
		}
	}
	return false
}

// replaceOnCloudChange replaces a cluster whose plan moves it to another
// cloud or off its cloud: the InfraCluster's kind cannot change under a
// Cluster (Cluster API refuses removing the reference and would roll the
// control plane onto another cloud's machines behind the old endpoint),
// and the old cloud's network would stay behind.
func replaceOnCloudChange(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	was := plannedCloud(ctx, req.State, &resp.Diagnostics)
	if was == nil || resp.Diagnostics.HasError() {
		return
	}
	var block types.Object
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root(was.Name()), &block)...)
	if block.IsUnknown() || !block.IsNull() {
		return
	}
	for _, cloud := range registry.All() {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root(cloud.Name()))
	}
}
