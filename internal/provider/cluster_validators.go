package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

// clusterNetworkOverlapValidator rejects pod and service networks that
// share addresses: kube-proxy and the CNI would route the same IPs two ways.
type clusterNetworkOverlapValidator struct{}

var _ resource.ConfigValidator = clusterNetworkOverlapValidator{}

func (clusterNetworkOverlapValidator) Description(context.Context) string {
	return "cluster_network.pod_cidrs and cluster_network.service_cidrs must not overlap"
}

func (v clusterNetworkOverlapValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (clusterNetworkOverlapValidator) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cidrs []validators.NamedCIDR
	for _, attr := range []string{"pod_cidrs", "service_cidrs"} {
		p := path.Root("cluster_network").AtName(attr)
		var list types.List
		if d := req.Config.GetAttribute(ctx, p, &list); d.HasError() || list.IsNull() || list.IsUnknown() {
			continue
		}
		for i, elem := range list.Elements() {
			s, ok := elem.(types.String)
			if !ok || s.IsNull() || s.IsUnknown() {
				continue
			}
			cidrs = append(cidrs, validators.NamedCIDR{Attribute: fmt.Sprintf("cluster_network.%s[%d]", attr, i), CIDR: s.ValueString()})
		}
	}
	if problems := validators.Overlaps(cidrs); len(problems) > 0 {
		resp.Diagnostics.AddAttributeError(path.Root("cluster_network"), "Overlapping cluster networks",
			"Attribute cluster_network must not have overlapping pod and service networks: "+strings.Join(problems, "; ")+".")
	}
}

// cloudProviderArgsValidator refuses a cloud-provider flag of the user's
// when aws.cloud_controller_manager sets it: the provider owns that flag.
type cloudProviderArgsValidator struct{}

var _ resource.ConfigValidator = cloudProviderArgsValidator{}

func (cloudProviderArgsValidator) Description(context.Context) string {
	return "with aws.cloud_controller_manager, the control plane's kubeadm arguments may not set cloud-provider"
}

func (v cloudProviderArgsValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (cloudProviderArgsValidator) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
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

// clusterNetworkRules checks the networks against each other, as
// Kubernetes, Cluster API and AWS would refuse them after the cluster is
// half made: one network per IP family and matching families
// (validators.NetworkFamilies), pods and services apart from the VPC's
// addresses (the nodes'), a VPC large enough for a public and a private
// subnet in each zone, and zones of the cluster's region.
type clusterNetworkRules struct{}

var _ resource.ConfigValidator = clusterNetworkRules{}

func (clusterNetworkRules) Description(context.Context) string {
	return "cluster networks: one per IP family, matching families, apart from the VPC; the VPC fits the zones, which are in the region"
}

func (v clusterNetworkRules) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (clusterNetworkRules) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	strs := func(p path.Path) ([]string, bool) {
		var list types.List
		if d := req.Config.GetAttribute(ctx, p, &list); d.HasError() || list.IsUnknown() {
			return nil, false
		}
		var out []string
		for _, elem := range list.Elements() {
			s, ok := elem.(types.String)
			if !ok || s.IsUnknown() {
				return nil, false
			}
			out = append(out, s.ValueString())
		}
		return out, true
	}
	str := func(p path.Path) (types.String, bool) {
		var s types.String
		d := req.Config.GetAttribute(ctx, p, &s)
		return s, !d.HasError() && !s.IsUnknown()
	}
	network := path.Root("cluster_network")
	pods, podsKnown := strs(network.AtName("pod_cidrs"))
	services, servicesKnown := strs(network.AtName("service_cidrs"))
	if podsKnown && servicesKnown {
		if err := validators.NetworkFamilies(pods, services); err != nil {
			resp.Diagnostics.AddAttributeError(network, "Invalid cluster networks", "Attribute cluster_network: "+err.Error()+".")
		}
	}

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
	for attr, cidrs := range map[string][]string{"pod_cidrs": pods, "service_cidrs": services} {
		for i, c := range cidrs {
			if validators.CIDRsOverlap(c, vpc) {
				resp.Diagnostics.AddAttributeError(network.AtName(attr).AtListIndex(i), "Cluster network overlaps the VPC",
					fmt.Sprintf("Attribute cluster_network.%s[%d] (%s) overlaps the VPC's network %s, which the nodes' addresses come from: "+
						"packets to pods or Services would be routed to nodes. Choose a network outside %s.", attr, i, c, vpc, vpc))
			}
		}
	}
}

// defaultZoneCount is how many of the region's zones a cluster without
// aws.availability_zones gets (see internal/infrastructure/aws/cloud).
const defaultZoneCount = 3

// waitForReachable refuses a wait_for that the configuration can never
// reach: without a control plane there is no API server, so only
// `provisioned` ever happens.
type waitForReachable struct{}

var _ resource.ConfigValidator = waitForReachable{}

func (waitForReachable) Description(context.Context) string {
	return "with aws and no control_plane, wait_for must be provisioned"
}

func (v waitForReachable) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (waitForReachable) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var awsBlock, controlPlane types.Object
	var waitFor types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("aws"), &awsBlock)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("control_plane"), &controlPlane)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("wait_for"), &waitFor)...)
	if resp.Diagnostics.HasError() || awsBlock.IsNull() || awsBlock.IsUnknown() || !controlPlane.IsNull() || waitFor.IsUnknown() {
		return
	}
	target := waitFor.ValueString()
	if waitFor.IsNull() {
		target = waitAvailable
	}
	if target != waitProvisioned {
		resp.Diagnostics.AddAttributeError(path.Root("wait_for"), "Unreachable wait target",
			fmt.Sprintf("Attribute wait_for is %q (the default is %q), which a cluster without control_plane never reaches: it gets a network "+
				"and an API server load balancer, but no API server. Set wait_for = %q, or add a control_plane block.", target, waitAvailable, waitProvisioned))
	}
}
