package digitalocean

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

// reservedRanges are the networks DigitalOcean keeps for itself (DOKS's
// pod and service networks among them): it refuses a VPC that overlaps
// one with 422.
var reservedRanges = []string{"10.244.0.0/16", "10.245.0.0/16", "10.246.0.0/24", "10.229.0.0/16"}

// networkRules checks a new VPC's range against what DigitalOcean and
// the cluster would refuse after the apply started: DigitalOcean's own
// ranges, and the cluster's pod and Service networks (the nodes'
// addresses come from the VPC). A VPC DigitalOcean chooses, or an
// existing one, is not known at plan time.
type networkRules struct{}

var _ resource.ConfigValidator = networkRules{}

func (networkRules) Description(context.Context) string {
	return "digitalocean.vpc_ip_range apart from DigitalOcean's reserved ranges and the cluster's networks"
}

func (v networkRules) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (networkRules) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	attr := path.Root("digitalocean").AtName("vpc_ip_range")
	ipRange, known := tfconv.ConfigString(ctx, req.Config, attr)
	if !known || ipRange.IsNull() {
		return
	}
	vpc := ipRange.ValueString()
	for _, r := range reservedRanges {
		if validators.CIDRsOverlap(vpc, r) {
			resp.Diagnostics.AddAttributeError(attr, "VPC range reserved by DigitalOcean",
				fmt.Sprintf("Attribute %s (%s) overlaps %s, which DigitalOcean reserves for itself: it refuses such a VPC. "+
					"Choose another RFC 1918 range.", attr, vpc, r))
		}
	}
	infrastructure.CheckClusterNetworksApart(ctx, req.Config, vpc, "the VPC's network", &resp.Diagnostics)
}

// spacesRegionRule checks that the cluster's bootstrap data has a Spaces
// region: digitalocean.spaces_region, or a cluster region with Spaces.
type spacesRegionRule struct{}

var _ resource.ConfigValidator = spacesRegionRule{}

func (spacesRegionRule) Description(context.Context) string {
	return "digitalocean.spaces_region set when digitalocean.region has no Spaces"
}

func (v spacesRegionRule) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (spacesRegionRule) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	block := path.Root("digitalocean")
	region, known := tfconv.ConfigString(ctx, req.Config, block.AtName("region"))
	if !known || region.IsNull() || cloud.HasSpaces(region.ValueString()) {
		return
	}
	spacesRegion, known := tfconv.ConfigString(ctx, req.Config, block.AtName("spaces_region"))
	if !known || !spacesRegion.IsNull() {
		return
	}
	resp.Diagnostics.AddAttributeError(block.AtName("spaces_region"), "No Spaces in the cluster's region",
		fmt.Sprintf("Region %s has no Spaces, where the machines' bootstrap data is kept while their droplets boot: set "+
			"digitalocean.spaces_region to one of %s.", region.ValueString(), strings.Join(cloud.SpacesRegions, ", ")))
}
