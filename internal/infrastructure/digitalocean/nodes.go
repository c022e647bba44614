package digitalocean

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
)

// nodeRegistration is the kubeadm node registration of a droplet:
// kubelet's provider-id rendered from the droplet's metadata
// (KubeletProviderID). The node is named after the droplet's hostname, its
// name: kubeadm's default.
func nodeRegistration(taints *[]corev1.Taint) bootstrapv1.NodeRegistrationOptions {
	return bootstrapv1.NodeRegistrationOptions{
		KubeletExtraArgs: []bootstrapv1.Arg{{Name: "provider-id", Value: ptr.To(KubeletProviderID)}},
		Taints:           taints,
	}
}

// Nodes: kubelet's provider ID on every node.
func (Infrastructure) Nodes(context.Context, client.Object, string) (infrastructure.Nodes, error) {
	return infrastructure.Nodes{Worker: nodeRegistration, ControlPlane: nodeRegistration(nil)}, nil
}
