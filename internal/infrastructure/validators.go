package infrastructure

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"

	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

// CheckClusterNetworksApart reports the pod and Service networks of a
// capi_cluster configuration that overlap nodes, the network the nodes'
// addresses come from (a VPC): packets to pods or
// Services would be routed to nodes. kube-proxy and the CNI do not
// refuse such a cluster; it just does not work. what names nodes in the
// message, such as "the VPC's network".
func CheckClusterNetworksApart(ctx context.Context, cfg tfsdk.Config, nodes, what string, diags *diag.Diagnostics) {
	network := path.Root("cluster_network")
	for _, attr := range []string{"pod_cidrs", "service_cidrs"} {
		cidrs, known := tfconv.ConfigStrings(ctx, cfg, network.AtName(attr))
		if known && cidrs == nil && attr == "service_cidrs" {
			if validators.CIDRsOverlap(DefaultServiceCIDR, nodes) {
				diags.AddAttributeError(network.AtName(attr), "Cluster network overlaps the VPC",
					fmt.Sprintf("Attribute cluster_network.%s is not set, so Services get kubeadm's default network %s, which overlaps %s %s: "+
						"the nodes' addresses come from there. Set cluster_network.%s to a network outside %s.", attr, DefaultServiceCIDR, what, nodes, attr, nodes))
			}
			continue
		}
		for i, c := range cidrs {
			if validators.CIDRsOverlap(c, nodes) {
				diags.AddAttributeError(network.AtName(attr).AtListIndex(i), "Cluster network overlaps the VPC",
					fmt.Sprintf("Attribute cluster_network.%s[%d] (%s) overlaps %s %s, which the nodes' addresses come from: "+
						"packets to pods or Services would be routed to nodes. Choose a network outside %s.", attr, i, c, what, nodes, nodes))
			}
		}
	}
}

// DefaultServiceCIDR is the Service network kubeadm gives a cluster that
// sets none (its serviceSubnet default).
const DefaultServiceCIDR = "10.96.0.0/12"
