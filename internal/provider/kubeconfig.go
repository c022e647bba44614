package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/cluster-api/util/kubeconfig"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
)

// kubeconfigModel is the shape of capi_cluster_kubeconfig, ephemeral
// resource and data source alike.
type kubeconfigModel struct {
	Cluster              types.String `tfsdk:"cluster"`
	Namespace            types.String `tfsdk:"namespace"`
	Kubeconfig           types.String `tfsdk:"kubeconfig"`
	Host                 types.String `tfsdk:"host"`
	ClusterCACertificate types.String `tfsdk:"cluster_ca_certificate"`
	ClientCertificate    types.String `tfsdk:"client_certificate"`
	ClientKey            types.String `tfsdk:"client_key"`
}

// readKubeconfig fills m from the <cluster>-kubeconfig Secret that the
// control plane provider writes (Cluster API's kubeconfig contract).
func readKubeconfig(ctx context.Context, k *kube.Client, m *kubeconfigModel) error {
	namespace := m.Namespace.ValueString()
	if namespace == "" {
		namespace = defaultNamespace
	}
	cl, err := k.Reader()
	if err != nil {
		return err
	}
	data, err := kubeconfig.FromSecret(ctx, cl, client.ObjectKey{Namespace: namespace, Name: m.Cluster.ValueString()})
	if err != nil {
		if kube.IsNotFound(err) {
			return fmt.Errorf("no kubeconfig for cluster %s/%s yet: the control plane writes the Secret %s-kubeconfig once the cluster's endpoint is known",
				namespace, m.Cluster.ValueString(), m.Cluster.ValueString())
		}
		return err
	}
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return fmt.Errorf("parsing the kubeconfig of %s/%s: %w", namespace, m.Cluster.ValueString(), err)
	}
	m.Namespace = types.StringValue(namespace)
	m.Kubeconfig = types.StringValue(string(data))
	if ctxt, ok := cfg.Contexts[cfg.CurrentContext]; ok {
		if c, ok := cfg.Clusters[ctxt.Cluster]; ok {
			m.Host = types.StringValue(c.Server)
			m.ClusterCACertificate = types.StringValue(string(c.CertificateAuthorityData))
		}
		if u, ok := cfg.AuthInfos[ctxt.AuthInfo]; ok {
			m.ClientCertificate = types.StringValue(string(u.ClientCertificateData))
			m.ClientKey = types.StringValue(string(u.ClientKeyData))
		}
	}
	for _, v := range []*types.String{&m.Host, &m.ClusterCACertificate, &m.ClientCertificate, &m.ClientKey} {
		if v.IsUnknown() {
			*v = types.StringNull()
		}
	}
	return nil
}
