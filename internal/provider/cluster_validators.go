package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

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
