// Package provider implements the capi Terraform provider: its
// configuration, resources and data sources.
package provider

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

// The provider's reconcile modes.
const (
	reconcileEmbedded  = "embedded"
	reconcileInCluster = "in_cluster"
)

var reconcileModes = []string{reconcileEmbedded, reconcileInCluster}

var (
	_ provider.Provider                       = (*capiProvider)(nil)
	_ provider.ProviderWithEphemeralResources = (*capiProvider)(nil)
	_ provider.ProviderWithListResources      = (*capiProvider)(nil)
)

type capiProvider struct {
	version string
}

// New returns the provider factory for providerserver.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &capiProvider{version: version} }
}

type providerModel struct {
	Reconcile        types.String     `tfsdk:"reconcile"`
	ManagerNamespace types.String     `tfsdk:"manager_namespace"`
	Kubernetes       *kubernetesModel `tfsdk:"kubernetes"`
	// The clouds' blocks: how their reconcilers reach them.
	cloudBlocks
}

type kubernetesModel struct {
	ConfigPath           types.String `tfsdk:"config_path"`
	ConfigContext        types.String `tfsdk:"config_context"`
	Host                 types.String `tfsdk:"host"`
	Token                types.String `tfsdk:"token"`
	ClusterCACertificate types.String `tfsdk:"cluster_ca_certificate"`
	ClientCertificate    types.String `tfsdk:"client_certificate"`
	ClientKey            types.String `tfsdk:"client_key"`
	Insecure             types.Bool   `tfsdk:"insecure"`
}

func (p *capiProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "capi"
	resp.Version = p.version
}

func (p *capiProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manages Kubernetes clusters as [Cluster API](https://cluster-api.sigs.k8s.io) objects in a management cluster. " +
			"On first write the provider installs the Cluster API CRDs it needs (core, kubeadm bootstrap and control plane, serving `v1beta2`).",
		Attributes: map[string]schema.Attribute{
			"reconcile": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Who runs the reconcilers. `embedded` (default): the provider runs them during `apply` and `destroy`, " +
					"and nothing reconciles between applies. `in_cluster`: the `capi-manager` controller manager runs them in the management cluster " +
					"(see the provider's `config/` manifests), so that health checks, remediation and certificate renewal go on between applies; " +
					"the provider then only writes the objects and waits for them, and an apply fails at once when no manager is running. " +
					"Switching between the two changes no resource. In embedded mode an installed manager leaves alone the clusters an apply is working on. " +
					"Environment: `CAPI_RECONCILE`.",
				Validators: []validator.String{stringvalidator.OneOf(reconcileModes...)},
			},
			"manager_namespace": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Namespace of the in-cluster manager, where its leader election Lease `" + identity.ManagerLeaderElectionID +
					"` is (`reconcile = \"in_cluster\"`). Default: `" + identity.ManagerNamespace + "`. Environment: `CAPI_MANAGER_NAMESPACE`.",
				Validators: []validator.String{validators.DNS1123Label()},
			},
		},
		Blocks: map[string]schema.Block{
			"kubernetes": schema.SingleNestedBlock{
				MarkdownDescription: "How to reach the management cluster. Every attribute falls back to an environment variable; " +
					"with no settings at all the standard kubeconfig loading rules apply (`KUBECONFIG`, then `~/.kube/config`).",
				Attributes: map[string]schema.Attribute{
					"config_path": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Path to a kubeconfig file. Environment: `KUBE_CONFIG_PATH`.",
					},
					"config_context": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Context of the kubeconfig to use instead of its current context. Environment: `KUBE_CTX`.",
					},
					"host": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "URL of the API server, such as `https://10.0.0.1:6443`. Without `config_path` no kubeconfig file is read. Environment: `KUBE_HOST`.",
					},
					"token": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "Bearer token. Environment: `KUBE_TOKEN`.",
					},
					"cluster_ca_certificate": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "PEM-encoded CA certificate of the API server. Environment: `KUBE_CLUSTER_CA_CERT_DATA`.",
					},
					"client_certificate": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "PEM-encoded client certificate. Environment: `KUBE_CLIENT_CERT_DATA`.",
					},
					"client_key": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "PEM-encoded client key. Environment: `KUBE_CLIENT_KEY_DATA`.",
					},
					"insecure": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: "Skip verification of the API server's certificate. Environment: `KUBE_INSECURE`.",
					},
				},
			},
		},
	}
	for _, cloud := range registry.All() {
		resp.Schema.Blocks[cloud.Name()] = cloud.ProviderBlock()
	}
}

func (p *capiProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	k := cfg.Kubernetes
	if k == nil {
		k = &kubernetesModel{}
	}
	for name, v := range map[string]types.String{
		"config_path": k.ConfigPath, "config_context": k.ConfigContext, "host": k.Host, "token": k.Token,
		"cluster_ca_certificate": k.ClusterCACertificate, "client_certificate": k.ClientCertificate, "client_key": k.ClientKey,
	} {
		if v.IsUnknown() {
			resp.Diagnostics.AddAttributeError(path.Root("kubernetes").AtName(name), "Unknown management cluster setting",
				"kubernetes."+name+" depends on a value known only after apply. The provider needs its management cluster at plan time: "+
					"set it from values known at plan time, or apply the resources it depends on first (terraform apply -target).")
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	kc := kube.Config{
		ConfigPath:           stringOrEnv(k.ConfigPath, "KUBE_CONFIG_PATH"),
		ConfigContext:        stringOrEnv(k.ConfigContext, "KUBE_CTX"),
		Host:                 stringOrEnv(k.Host, "KUBE_HOST"),
		Token:                stringOrEnv(k.Token, "KUBE_TOKEN"),
		ClusterCACertificate: stringOrEnv(k.ClusterCACertificate, "KUBE_CLUSTER_CA_CERT_DATA"),
		ClientCertificate:    stringOrEnv(k.ClientCertificate, "KUBE_CLIENT_CERT_DATA"),
		ClientKey:            stringOrEnv(k.ClientKey, "KUBE_CLIENT_KEY_DATA"),
		Insecure:             boolOrEnv(k.Insecure, "KUBE_INSECURE"),
	}
	// A host set in the configuration means inline settings: a kubeconfig
	// named only in the environment must not mix its credentials in.
	if !k.Host.IsNull() && k.ConfigPath.IsNull() {
		kc.ConfigPath = ""
	}
	client, err := kube.NewClient(kc)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("kubernetes"), "Invalid management cluster configuration", err.Error())
		return
	}
	tflog.Debug(ctx, "management cluster configured", map[string]any{"source": kc.Source()})
	mode := stringOrEnv(cfg.Reconcile, "CAPI_RECONCILE")
	if mode == "" {
		mode = reconcileEmbedded
	}
	if !slices.Contains(reconcileModes, mode) {
		resp.Diagnostics.AddAttributeError(path.Root("reconcile"), "Invalid reconcile mode",
			fmt.Sprintf("CAPI_RECONCILE is %q; it must be one of %s.", mode, strings.Join(reconcileModes, ", ")))
		return
	}
	var manager *managerLease
	if mode == reconcileInCluster {
		ns := stringOrEnv(cfg.ManagerNamespace, "CAPI_MANAGER_NAMESPACE")
		if ns == "" {
			ns = identity.ManagerNamespace
		}
		manager = &managerLease{namespace: ns, name: identity.ManagerLeaderElectionID}
	}
	var providers []engine.Provider
	for _, cloud := range registry.All() {
		p, d := cloud.EngineProvider(ctx, *cfg.field(cloud.Name()))
		resp.Diagnostics.Append(d...)
		providers = append(providers, p)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	data := &providerData{
		kube:     client,
		engine:   runnerFor(client, providers, manager),
		creating: &inFlight{},
		planned:  &declarations{},
	}
	resp.ResourceData = data
	resp.DataSourceData = data
	resp.EphemeralResourceData = data
	resp.ListResourceData = data
}

func (p *capiProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewClusterResource, NewMachineResource, NewMachineDeploymentResource}
}

func (p *capiProvider) ListResources(context.Context) []func() list.ListResource {
	return []func() list.ListResource{NewClusterList, NewMachineDeploymentList, NewMachineList}
}

func (p *capiProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{NewClusterDataSource, NewKubeconfigDataSource}
}

func (p *capiProvider) EphemeralResources(context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{NewKubeconfigEphemeral}
}

func stringOrEnv(v types.String, env string) string {
	if !v.IsNull() {
		return v.ValueString()
	}
	return os.Getenv(env)
}

func boolOrEnv(v types.Bool, env string) bool {
	if !v.IsNull() {
		return v.ValueBool()
	}
	b, _ := strconv.ParseBool(os.Getenv(env))
	return b
}
