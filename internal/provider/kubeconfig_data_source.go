package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

var _ datasource.DataSourceWithConfigure = (*kubeconfigDataSource)(nil)

type kubeconfigDataSource struct {
	data *providerData
}

// NewKubeconfigDataSource is the capi_cluster_kubeconfig data source.
func NewKubeconfigDataSource() datasource.DataSource { return &kubeconfigDataSource{} }

func (d *kubeconfigDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster_kubeconfig"
}

func (d *kubeconfigDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	secret := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, Sensitive: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The admin kubeconfig of a workload cluster, from its `<cluster>-kubeconfig` Secret. " +
			"It is stored in the state (marked sensitive): prefer the `capi_cluster_kubeconfig` ephemeral resource, which is not.",
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

func (d *kubeconfigDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (d *kubeconfigDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m kubeconfigModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := readKubeconfig(ctx, d.data.kube, &m); err != nil {
		resp.Diagnostics.AddError("Cannot read the kubeconfig of cluster "+m.Cluster.ValueString(), err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
