package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
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

// clusterNetworkRules checks the networks against each other, as
// Kubernetes and Cluster API would refuse them after the cluster is half
// made: one network per IP family and matching families
// (validators.NetworkFamilies). Each cloud checks its own network against
// them (its ClusterValidators).
type clusterNetworkRules struct{}

var _ resource.ConfigValidator = clusterNetworkRules{}

func (clusterNetworkRules) Description(context.Context) string {
	return "cluster networks: one per IP family, matching families"
}

func (v clusterNetworkRules) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (clusterNetworkRules) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	network := path.Root("cluster_network")
	pods, podsKnown := tfconv.ConfigStrings(ctx, req.Config, network.AtName("pod_cidrs"))
	services, servicesKnown := tfconv.ConfigStrings(ctx, req.Config, network.AtName("service_cidrs"))
	if podsKnown && servicesKnown {
		if err := validators.NetworkFamilies(pods, services); err != nil {
			resp.Diagnostics.AddAttributeError(network, "Invalid cluster networks", "Attribute cluster_network: "+err.Error()+".")
		}
	}
}

// waitForReachable refuses a wait_for that the configuration can never
// reach: without a control plane there is no API server, so only
// `provisioned` ever happens.
type waitForReachable struct{}

var _ resource.ConfigValidator = waitForReachable{}

func (waitForReachable) Description(context.Context) string {
	return "with a cloud block and no control_plane, wait_for must be provisioned"
}

func (v waitForReachable) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (waitForReachable) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var controlPlane types.Object
	var waitFor types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("control_plane"), &controlPlane)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("wait_for"), &waitFor)...)
	if resp.Diagnostics.HasError() || !configuresCloud(ctx, req.Config, &resp.Diagnostics) || !controlPlane.IsNull() || waitFor.IsUnknown() {
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
