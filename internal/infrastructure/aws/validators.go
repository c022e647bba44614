package aws

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

// cloudProviderArgs refuses a cloud-provider flag of the user's
// when aws.cloud_controller_manager sets it: the provider owns that flag.
type cloudProviderArgs struct{}

var _ resource.ConfigValidator = cloudProviderArgs{}

func (cloudProviderArgs) Description(context.Context) string {
	return "with aws.cloud_controller_manager, the control plane's kubeadm arguments may not set cloud-provider"
}

func (v cloudProviderArgs) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (cloudProviderArgs) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var ccm types.Bool
	if d := req.Config.GetAttribute(ctx, path.Root("aws").AtName("cloud_controller_manager"), &ccm); d.HasError() || !ccm.ValueBool() {
		return
	}
	for _, attr := range []string{"kubelet_extra_args", "controller_manager_extra_args"} {
		p := path.Root("control_plane").AtName("kubeadm").AtName(attr)
		var args types.Map
		if d := req.Config.GetAttribute(ctx, p, &args); d.HasError() || args.IsNull() || args.IsUnknown() {
			continue
		}
		if _, ok := args.Elements()["cloud-provider"]; ok {
			resp.Diagnostics.AddAttributeError(p.AtMapKey("cloud-provider"), "Conflicting cloud-provider flag",
				fmt.Sprintf("Attribute %s may not set cloud-provider while aws.cloud_controller_manager is true: the provider sets it to external.", p))
		}
	}
}

// networkRules checks the networks against each other, as
// Kubernetes, Cluster API and AWS would refuse them after the cluster is
// half made: one network per IP family and matching families
// (validators.NetworkFamilies), pods and services apart from the VPC's
// addresses (the nodes'), a VPC large enough for a public and a private
// subnet in each zone, and zones of the cluster's region.
type networkRules struct{}

var _ resource.ConfigValidator = networkRules{}

func (networkRules) Description(context.Context) string {
	return "cluster networks apart from the VPC; the VPC fits the zones, which are in the region"
}

func (v networkRules) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (networkRules) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	strs := func(p path.Path) ([]string, bool) { return tfconv.ConfigStrings(ctx, req.Config, p) }
	str := func(p path.Path) (types.String, bool) { return tfconv.ConfigString(ctx, req.Config, p) }
	var awsBlock types.Object
	if d := req.Config.GetAttribute(ctx, path.Root("aws"), &awsBlock); d.HasError() || awsBlock.IsNull() || awsBlock.IsUnknown() {
		return
	}
	aws := path.Root("aws")
	region, regionKnown := str(aws.AtName("region"))
	zones, zonesKnown := strs(aws.AtName("availability_zones"))
	if regionKnown && zonesKnown {
		for i, z := range zones {
			if err := validators.ZoneInRegion(region.ValueString(), z); err != nil {
				resp.Diagnostics.AddAttributeError(aws.AtName("availability_zones").AtListIndex(i), "Zone outside the region",
					fmt.Sprintf("Attribute aws.availability_zones[%d]: %s.", i, err))
			}
		}
	}
	vpcID, _ := str(aws.AtName("vpc_id"))
	vpcCIDR, vpcKnown := str(aws.AtName("vpc_cidr"))
	if !vpcKnown || !vpcID.IsNull() {
		return
	}
	vpc := vpcCIDR.ValueString()
	if vpcCIDR.IsNull() {
		vpc = cloud.DefaultVPCCIDR
	}
	if zonesKnown {
		count := len(zones)
		if count == 0 {
			count = defaultZoneCount
		}
		if err := validators.VPCFitsZones(vpc, count); err != nil {
			resp.Diagnostics.AddAttributeError(aws.AtName("vpc_cidr"), "VPC too small for its zones", "Attribute aws.vpc_cidr: "+err.Error()+".")
		}
	}
	infrastructure.CheckClusterNetworksApart(ctx, req.Config, vpc, "the VPC's network", &resp.Diagnostics)
}

// defaultZoneCount is how many of the region's zones a cluster without
// aws.availability_zones gets (see the cloud package).
const defaultZoneCount = 3

// FailureDomainAttribute is the machine's availability zone.
func (Infrastructure) FailureDomainAttribute() string { return "availability_zone" }

// MachineValidators: a capi_machine without a version needs an ami, since
// images are looked up by version.
func (Infrastructure) MachineValidators() []resource.ConfigValidator {
	return []resource.ConfigValidator{amiWithoutVersion{}}
}

type amiWithoutVersion struct{}

func (amiWithoutVersion) Description(context.Context) string {
	return "aws.ami is required without a version"
}

func (v amiWithoutVersion) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (amiWithoutVersion) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var block types.Object
	var version, script, ami types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("aws"), &block)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("version"), &version)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("bootstrap_script"), &script)...)
	if resp.Diagnostics.HasError() || block.IsNull() || block.IsUnknown() || !version.IsNull() || script.IsNull() {
		return
	}
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("aws").AtName("ami"), &ami)...)
	if !resp.Diagnostics.HasError() && ami.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("aws").AtName("ami"), "Missing image",
			"Attribute aws.ami is required for a machine without a version: images are looked up by Kubernetes version.")
	}
}
