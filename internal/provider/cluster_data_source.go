package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

var _ datasource.DataSourceWithConfigure = (*clusterDataSource)(nil)

type clusterDataSource struct {
	data *providerData
}

// NewClusterDataSource is the capi_cluster data source.
func NewClusterDataSource() datasource.DataSource { return &clusterDataSource{} }

func (d *clusterDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster"
}

func (d *clusterDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a Cluster API `Cluster` from the management cluster, whoever created it.",
		Attributes: map[string]schema.Attribute{
			"id": str("`namespace/name` of the Cluster."),
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Name of the Cluster.",
				Validators:          []validator.String{validators.ClusterName()},
			},
			"namespace": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Namespace of the Cluster (default `default`).",
				Validators:          []validator.String{validators.DNS1123Label()},
			},
			"uid": str("Kubernetes UID of the Cluster."),
			"labels": schema.MapAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "Labels of the Cluster, without those of Cluster API and of this provider.",
			},
			"annotations": schema.MapAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "Annotations of the Cluster, without those of Cluster API and of this provider.",
			},
			"paused": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether reconciliation is paused."},
			"cluster_network": schema.SingleNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Networking of the workload cluster.",
				Attributes: map[string]schema.Attribute{
					"pod_cidrs":       schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Pod networks."},
					"service_cidrs":   schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Service networks."},
					"service_domain":  str("DNS domain of Services."),
					"api_server_port": schema.Int32Attribute{Computed: true, MarkdownDescription: "API server port."},
				},
			},
			"control_plane_endpoint": schema.SingleNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Endpoint of the workload cluster's API server.",
				Attributes: map[string]schema.Attribute{
					"host": str("DNS name or IP address."),
					"port": schema.Int32Attribute{Computed: true, MarkdownDescription: "Port."},
				},
			},
			"control_plane": schema.SingleNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The `KubeadmControlPlane` of the Cluster, when there is one.",
				Attributes: map[string]schema.Attribute{
					"replicas": schema.Int32Attribute{Computed: true, MarkdownDescription: "Control plane machines."},
					"version":  str("Kubernetes version."),
					"machine": schema.SingleNestedAttribute{
						Computed:            true,
						MarkdownDescription: "The control plane's machines (for `aws`, EC2 instances).",
						Attributes:          registry.ControlPlaneMachineDataSourceAttributes(),
					},
					"kubeadm": computedAttribute(kubeadmAttribute("", true)),
				},
			},
			"addons": schema.MapNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Add-ons of the Cluster by name: `ClusterResourceSet`s this provider made for it.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"manifests": str("Kubernetes manifests applied to the workload cluster."),
					"strategy":  str("`ApplyOnce` or `Reconcile`."),
				}},
			},
			"api_server_endpoint": str("URL of the workload cluster's API server (`https://host:port`), once known."),
			"phase":               str("`status.phase` of the Cluster."),
			"conditions": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "`status.conditions` of the Cluster.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"type": str("Condition type."), "status": str("`True`, `False` or `Unknown`."),
					"reason": str("Machine-readable reason."), "message": str("Human-readable message."),
				}},
			},
		},
	}
	for _, cloud := range registry.All() {
		resp.Schema.Attributes[cloud.Name()] = cloud.ClusterDataSourceAttribute()
	}
}

func (d *clusterDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// clusterDataSourceModel is a Cluster with its cloud's block.
type clusterDataSourceModel struct {
	capiobj.ClusterModel
	cloudBlocks
}

func (m *clusterDataSourceModel) decodeBlocks() { m.Infrastructure = m.chosen() }
func (m *clusterDataSourceModel) encodeBlocks() { m.put(m.Infrastructure, clusterBlockAttributes) }

func (d *clusterDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg clusterDataSourceModel
	getModel(ctx, req.Config, &cfg, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	namespace := cfg.Namespace.ValueString()
	if namespace == "" {
		namespace = defaultNamespace
	}
	id := capiobj.NamespacedID(namespace, cfg.Name.ValueString())
	cl, err := d.data.kube.Reader()
	if err != nil {
		resp.Diagnostics.AddError("Cannot read Cluster "+id, err.Error())
		return
	}
	objs, err := readClusterObjects(ctx, cl, client.ObjectKey{Namespace: namespace, Name: cfg.Name.ValueString()})
	if err != nil {
		if kube.IsNotFound(err) {
			resp.Diagnostics.AddError("Cluster "+id+" not found", "No Cluster named "+id+" exists in the management cluster.")
			return
		}
		resp.Diagnostics.AddError("Cannot read Cluster "+id, err.Error())
		return
	}
	flat, diags := capiobj.FlattenCluster(ctx, objs, nil)
	resp.Diagnostics.Append(diags...)
	out := clusterDataSourceModel{ClusterModel: flat}
	out.encodeBlocks()
	resp.Diagnostics.Append(resp.State.Set(ctx, &out)...)
}
