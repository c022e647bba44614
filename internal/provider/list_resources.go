package provider

import (
	"context"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/list/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
)

// The list resources let `terraform query` (Terraform 1.14 and later) find
// the clusters, deployments and machines of a management cluster, and
// `-generate-config-out` write the configuration that imports them. Each
// result is what an import followed by a refresh stores.

var (
	_ list.ListResourceWithConfigure = (*clusterList)(nil)
	_ list.ListResourceWithConfigure = (*machineDeploymentList)(nil)
	_ list.ListResourceWithConfigure = (*machineList)(nil)
)

// NewClusterList, NewMachineDeploymentList and NewMachineList are the list
// resources of capi_cluster, capi_machine_deployment and capi_machine.
func NewClusterList() list.ListResource           { return &clusterList{} }
func NewMachineDeploymentList() list.ListResource { return &machineDeploymentList{} }
func NewMachineList() list.ListResource           { return &machineList{} }

type clusterList struct{ data *providerData }
type machineDeploymentList struct{ data *providerData }
type machineList struct{ data *providerData }

// clusterListConfig filters Clusters; memberListConfig filters the
// objects of clusters (deployments, machines).
type clusterListConfig struct {
	Namespace types.String `tfsdk:"namespace"`
	Labels    types.Map    `tfsdk:"labels"`
}

type memberListConfig struct {
	clusterListConfig
	ClusterName types.String `tfsdk:"cluster_name"`
}

func listConfigAttributes(kind string) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"namespace": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "Namespace to list " + kind + "s in; every namespace when unset.",
		},
		"labels": schema.MapAttribute{
			Optional:            true,
			ElementType:         types.StringType,
			MarkdownDescription: "Labels the " + kind + "s must all have, with these values (a Kubernetes equality label selector).",
		},
	}
}

func memberListConfigAttributes(kind string) map[string]schema.Attribute {
	attrs := listConfigAttributes(kind)
	attrs["cluster_name"] = schema.StringAttribute{
		Optional:            true,
		MarkdownDescription: "Only the " + kind + "s of this cluster (by its name; with `namespace`, the cluster in that namespace).",
	}
	return attrs
}

func (l *clusterList) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster"
}

func (l *machineDeploymentList) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_machine_deployment"
}

func (l *machineList) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_machine"
}

func (l *clusterList) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Lists the Cluster API `Cluster`s of the management cluster that `capi_cluster` can manage (a kubeadm control plane and a cloud of this provider).",
		Attributes:          listConfigAttributes("Cluster"),
	}
}

func (l *machineDeploymentList) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Lists the Cluster API `MachineDeployment`s of the management cluster.",
		Attributes:          memberListConfigAttributes("MachineDeployment"),
	}
}

func (l *machineList) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Lists the standalone Cluster API `Machine`s of the management cluster: those no MachineSet " +
			"or control plane owns (theirs are listed by `capi_machine_deployment` and `capi_cluster`).",
		Attributes: memberListConfigAttributes("Machine"),
	}
}

func (l *clusterList) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	l.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (l *machineDeploymentList) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	l.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (l *machineList) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	l.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// options are the list options of a list resource's filters.
func (c clusterListConfig) options(ctx context.Context, diags *diag.Diagnostics) []client.ListOption {
	var opts []client.ListOption
	if ns := c.Namespace.ValueString(); ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	if !c.Labels.IsNull() {
		labels := map[string]string{}
		diags.Append(c.Labels.ElementsAs(ctx, &labels, false)...)
		opts = append(opts, client.MatchingLabels(labels))
	}
	return opts
}

// member says whether an object of the cluster named clusterName passes
// the cluster_name filter. Filtered here rather than by the cluster-name
// label: Cluster API sets that label, but an object written since may not
// have it yet.
func (c memberListConfig) member(clusterName string) bool {
	want := c.ClusterName.ValueString()
	return clusterName != "" && (want == "" || want == clusterName)
}

// listFilter is a list resource's configuration: its list options.
type listFilter interface {
	options(ctx context.Context, diags *diag.Diagnostics) []client.ListOption
}

// list reads a list resource's configuration into cfg and lists the
// management cluster's objects of one kind into objects with its filters.
// It returns nil when that failed, with the stream carrying the error.
func (d *providerData) list(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream, cfg listFilter,
	objects client.ObjectList, kinds string) client.Reader {
	var diags diag.Diagnostics
	diags.Append(req.Config.Get(ctx, cfg)...)
	opts := cfg.options(ctx, &diags)
	cl := d.kubeReader(&diags)
	if !diags.HasError() {
		if err := cl.List(ctx, objects, opts...); err != nil {
			diags.AddError("Cannot list "+kinds, err.Error())
		}
	}
	if diags.HasError() {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return nil
	}
	return cl
}

// listed is one object found: its ID, and how to fill a resource's state
// from it.
type listed struct {
	id      string
	observe func(ctx context.Context, r *list.ListResult, diags *diag.Diagnostics)
}

// listResults are the objects a list found, and those it left out.
type listResults struct {
	found   []listed
	leftOut diag.Diagnostics
}

// add is an object found.
func (r *listResults) add(id string, observe func(ctx context.Context, r *list.ListResult, diags *diag.Diagnostics)) {
	r.found = append(r.found, listed{id: id, observe: observe})
}

// skip is an object its resource cannot represent: a warning, no result.
func (r *listResults) skip(kind, id, resourceType string, err error) {
	r.leftOut.AddWarning(kind+" "+id+" left out", resourceType+" cannot represent it: "+err.Error())
}

// stream pushes the warnings of the objects left out, then one result per
// object found, in the order of their IDs, up to the request's limit.
func (r *listResults) stream(ctx context.Context, req list.ListRequest) func(push func(list.ListResult) bool) {
	found := r.found
	sort.Slice(found, func(i, j int) bool { return found[i].id < found[j].id })
	return func(push func(list.ListResult) bool) {
		for _, w := range r.leftOut {
			if !push(list.ListResult{Diagnostics: diag.Diagnostics{w}}) {
				return
			}
		}
		for n, f := range found {
			if req.Limit > 0 && int64(n) >= req.Limit {
				return
			}
			result := req.NewListResult(ctx)
			result.DisplayName = f.id
			setIdentity(ctx, result.Identity, f.id, &result.Diagnostics)
			if req.IncludeResource {
				namespace, name, _ := capiobj.ParseNamespacedID(f.id)
				result.Diagnostics.Append(result.Resource.SetAttribute(ctx, path.Root("id"), f.id)...)
				result.Diagnostics.Append(result.Resource.SetAttribute(ctx, path.Root("namespace"), namespace)...)
				result.Diagnostics.Append(result.Resource.SetAttribute(ctx, path.Root("name"), name)...)
				f.observe(ctx, &result, &result.Diagnostics)
			}
			if !push(result) {
				return
			}
		}
	}
}

// Each object is read as an import reads it, to tell whether its resource
// can represent it: a listed identity always imports.

func (l *clusterList) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var cfg clusterListConfig
	var clusters clusterv1.ClusterList
	cl := l.data.list(ctx, req, stream, &cfg, &clusters, "Clusters")
	if cl == nil {
		return
	}
	var results listResults
	for i := range clusters.Items {
		c := &clusters.Items[i]
		id := capiobj.NamespacedID(c.Namespace, c.Name)
		objs, err := readClusterObjects(ctx, cl, client.ObjectKeyFromObject(c))
		if err != nil {
			results.skip("Cluster", id, "capi_cluster", err)
			continue
		}
		results.add(id, func(ctx context.Context, r *list.ListResult, diags *diag.Diagnostics) {
			var m clusterResourceModel
			getModel(ctx, r.Resource, &m, diags)
			m.observe(ctx, objs, nil, diags)
			diags.Append(r.Resource.Set(ctx, &m)...)
		})
	}
	stream.Results = results.stream(ctx, req)
}

func (l *machineDeploymentList) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var cfg memberListConfig
	var deployments clusterv1.MachineDeploymentList
	cl := l.data.list(ctx, req, stream, &cfg, &deployments, "MachineDeployments")
	if cl == nil {
		return
	}
	var results listResults
	for i := range deployments.Items {
		md := &deployments.Items[i]
		id := capiobj.NamespacedID(md.Namespace, md.Name)
		if !cfg.member(md.Spec.ClusterName) {
			continue
		}
		objs, err := readDeploymentObjects(ctx, cl, id)
		if err != nil {
			results.skip("MachineDeployment", id, "capi_machine_deployment", err)
			continue
		}
		results.add(id, func(ctx context.Context, r *list.ListResult, diags *diag.Diagnostics) {
			var m machineDeploymentResourceModel
			getModel(ctx, r.Resource, &m, diags)
			m.observe(ctx, cl, objs, nil, diags)
			diags.Append(r.Resource.Set(ctx, &m)...)
		})
	}
	stream.Results = results.stream(ctx, req)
}

func (l *machineList) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var cfg memberListConfig
	var machines clusterv1.MachineList
	cl := l.data.list(ctx, req, stream, &cfg, &machines, "Machines")
	if cl == nil {
		return
	}
	var results listResults
	for i := range machines.Items {
		m := &machines.Items[i]
		// A MachineSet's or a control plane's machine is theirs to manage:
		// importing it as capi_machine is refused.
		if metav1.GetControllerOf(m) != nil || !cfg.member(m.Spec.ClusterName) {
			continue
		}
		id := capiobj.NamespacedID(m.Namespace, m.Name)
		objs, err := readMachineObjects(ctx, cl, id)
		if err != nil {
			results.skip("Machine", id, "capi_machine", err)
			continue
		}
		results.add(id, func(ctx context.Context, r *list.ListResult, diags *diag.Diagnostics) {
			var state machineResourceModel
			getModel(ctx, r.Resource, &state, diags)
			state.observe(ctx, cl, objs, nil, diags)
			diags.Append(r.Resource.Set(ctx, &state)...)
		})
	}
	stream.Results = results.stream(ctx, req)
}
