package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

var _ ephemeral.EphemeralResourceWithConfigure = (*kubeconfigEphemeral)(nil)

type kubeconfigEphemeral struct {
	data *providerData
}

// NewKubeconfigEphemeral is the capi_cluster_kubeconfig ephemeral resource.
func NewKubeconfigEphemeral() ephemeral.EphemeralResource { return &kubeconfigEphemeral{} }

func (e *kubeconfigEphemeral) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster_kubeconfig"
}

func (e *kubeconfigEphemeral) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	secret := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, Sensitive: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The admin kubeconfig of a workload cluster, read from its `<cluster>-kubeconfig` Secret " +
			"each time Terraform needs it and never stored in the state (Terraform 1.10+). Use it to configure " +
			"providers that work inside the cluster, such as `kubernetes` or `helm`.",
		Attributes: map[string]schema.Attribute{
			"cluster": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the cluster.",
				Validators: []validator.String{validators.ClusterName()}},
			"namespace": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "Namespace of the cluster (default `default`).",
				Validators: []validator.String{validators.DNS1123Label()}},
			"kubeconfig":             secret("The kubeconfig, as YAML."),
			"host":                   schema.StringAttribute{Computed: true, MarkdownDescription: "URL of the workload cluster's API server."},
			"cluster_ca_certificate": schema.StringAttribute{Computed: true, MarkdownDescription: "PEM CA certificate of the API server."},
			"client_certificate":     secret("PEM client certificate."),
			"client_key":             secret("PEM client key."),
		},
	}
}

func (e *kubeconfigEphemeral) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	e.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (e *kubeconfigEphemeral) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var m kubeconfigModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := readKubeconfig(ctx, e.data.kube, &m); err != nil {
		resp.Diagnostics.AddError("Cannot read the kubeconfig of cluster "+m.Cluster.ValueString(), err.Error())
		return
	}
	resp.Diagnostics.Append(resp.Result.Set(ctx, &m)...)
}
