package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int32validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

var (
	_ resource.ResourceWithConfigure        = (*clusterResource)(nil)
	_ resource.ResourceWithImportState      = (*clusterResource)(nil)
	_ resource.ResourceWithConfigValidators = (*clusterResource)(nil)
)

const (
	defaultNamespace = "default"
	// importedKey marks, in private state, a Read that follows an import:
	// that Read takes every user label and annotation from the object.
	importedKey = "imported"
)

// Default timeouts. Until the engine runs reconcilers, create and update
// return once the object is applied; delete waits until it is gone.
const (
	defaultClusterCreateTimeout = 30 * time.Minute
	defaultClusterUpdateTimeout = 30 * time.Minute
	defaultClusterDeleteTimeout = 20 * time.Minute
)

type clusterResource struct {
	kube *kube.Client
}

type clusterResourceModel struct {
	capiobj.ClusterModel
	Timeouts timeouts.Value `tfsdk:"timeouts"`
}

// NewClusterResource is the capi_cluster resource.
func NewClusterResource() resource.Resource { return &clusterResource{} }

func (r *clusterResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster"
}

func (r *clusterResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Cluster API `Cluster` (`cluster.x-k8s.io/v1beta2`) in the management cluster. " +
			"Changes are server-side applied with the field manager `terraform-provider-capi` and happen in place, " +
			"except for `name` and `namespace`, which replace the cluster.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`namespace/name` of the Cluster.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Name of the Cluster: a DNS-1123 subdomain of at most 63 characters. Changing it replaces the cluster.",
				Validators:          []validator.String{validators.ClusterName()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"namespace": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultNamespace),
				MarkdownDescription: "Namespace of the Cluster in the management cluster (default `default`). Changing it replaces the cluster.",
				Validators:          []validator.String{validators.DNS1123Label()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"uid": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Kubernetes UID of the Cluster.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"labels": schema.MapAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Labels of the Cluster. Labels others add are left alone and not reported.",
				Validators: []validator.Map{
					mapvalidator.KeysAre(validators.LabelKey()),
					mapvalidator.ValueStringsAre(validators.LabelValue()),
				},
			},
			"annotations": schema.MapAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Annotations of the Cluster. Annotations others add are left alone and not reported.",
				Validators:          []validator.Map{mapvalidator.KeysAre(validators.LabelKey())},
			},
			"paused": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
				MarkdownDescription: "Stops Cluster API's controllers from reconciling the cluster and its objects.",
			},
			"cluster_network": schema.SingleNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Networking of the workload cluster (`spec.clusterNetwork`).",
				Validators:          []validator.Object{validators.NotEmptyObject()},
				Attributes: map[string]schema.Attribute{
					"pod_cidrs": schema.ListAttribute{
						ElementType:         types.StringType,
						Optional:            true,
						MarkdownDescription: "Pod networks in CIDR notation (one per IP family).",
						Validators: []validator.List{
							listvalidator.SizeBetween(1, 2),
							listvalidator.ValueStringsAre(validators.CIDR()),
						},
					},
					"service_cidrs": schema.ListAttribute{
						ElementType:         types.StringType,
						Optional:            true,
						MarkdownDescription: "Service networks in CIDR notation (one per IP family).",
						Validators: []validator.List{
							listvalidator.SizeBetween(1, 2),
							listvalidator.ValueStringsAre(validators.CIDR()),
						},
					},
					"service_domain": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "DNS domain of Services, such as `cluster.local`.",
						Validators:          []validator.String{validators.Host()},
					},
					"api_server_port": schema.Int32Attribute{
						Optional:            true,
						MarkdownDescription: "Port the API server listens on (1-65535).",
						Validators:          []validator.Int32{int32validator.Between(1, 65535)},
					},
				},
			},
			"control_plane_endpoint": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "Endpoint of the workload cluster's API server (`spec.controlPlaneEndpoint`). " +
					"Usually left unset: the infrastructure provider fills it in.",
				Attributes: map[string]schema.Attribute{
					"host": schema.StringAttribute{
						Required:            true,
						MarkdownDescription: "DNS name or IP address.",
						Validators:          []validator.String{validators.Host()},
					},
					"port": schema.Int32Attribute{
						Required:            true,
						MarkdownDescription: "Port (1-65535).",
						Validators:          []validator.Int32{int32validator.Between(1, 65535)},
					},
				},
			},
			"phase": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`status.phase` as Cluster API reports it (`Pending`, `Provisioning`, `Provisioned`, `Deleting`, `Failed`); empty until a controller has reconciled the cluster.",
			},
			"conditions": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "`status.conditions`: what `kubectl describe cluster` shows.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"type":    schema.StringAttribute{Computed: true, MarkdownDescription: "Condition type, such as `Available`."},
					"status":  schema.StringAttribute{Computed: true, MarkdownDescription: "`True`, `False` or `Unknown`."},
					"reason":  schema.StringAttribute{Computed: true, MarkdownDescription: "Machine-readable reason."},
					"message": schema.StringAttribute{Computed: true, MarkdownDescription: "Human-readable message."},
				}},
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *clusterResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{clusterNetworkOverlapValidator{}}
}

func (r *clusterResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.kube = configuredClient(req.ProviderData, &resp.Diagnostics)
}

func (r *clusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan clusterResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, defaultClusterCreateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	obj, d := capiobj.ExpandCluster(ctx, plan.ClusterModel)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := capiobj.ClusterID(obj.Namespace, obj.Name)
	cl, err := r.kube.Writer(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot create Cluster "+id, err.Error())
		return
	}
	// Applying over an existing Cluster would silently take it over.
	if err := cl.Get(ctx, client.ObjectKeyFromObject(obj), &clusterv1.Cluster{}); err == nil {
		resp.Diagnostics.AddError("Cluster "+id+" already exists",
			fmt.Sprintf("A Cluster named %s already exists in the management cluster. Import it to manage it with Terraform: terraform import <address> %s", id, id))
		return
	} else if !apierrors.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot create Cluster "+id, err.Error())
		return
	}

	tflog.Info(ctx, "applying Cluster", map[string]any{"id": id})
	if err := r.kube.Apply(ctx, obj); err != nil {
		resp.Diagnostics.AddError("Cannot create Cluster "+id, err.Error())
		return
	}
	// Saved before any wait, so an interrupted apply resumes this Cluster
	// instead of creating another.
	plan.ID = types.StringValue(id)
	plan.UID = types.StringValue(string(obj.UID))
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), plan.ID)...)

	r.readInto(ctx, &plan, cl, obj, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *clusterResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state clusterResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	namespace, name, err := capiobj.ParseClusterID(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid ID", err.Error())
		return
	}
	cl, err := r.kube.Reader()
	if err != nil {
		resp.Diagnostics.AddError("Cannot read Cluster "+state.ID.ValueString(), err.Error())
		return
	}
	obj := &clusterv1.Cluster{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		if kube.IsNotFound(err) {
			resp.Diagnostics.AddWarning("Cluster "+state.ID.ValueString()+" not found",
				"The Cluster no longer exists in the management cluster; it is removed from the state and the next apply creates it again.")
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Cannot read Cluster "+state.ID.ValueString(), err.Error())
		return
	}
	imported, d := req.Private.GetKey(ctx, importedKey)
	resp.Diagnostics.Append(d...)
	prior := &state.ClusterModel
	if imported != nil {
		prior = nil
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, importedKey, nil)...)
	}
	flat, d := capiobj.FlattenCluster(ctx, obj, prior)
	resp.Diagnostics.Append(d...)
	state.ClusterModel = flat
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *clusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan clusterResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, defaultClusterUpdateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	obj, d := capiobj.ExpandCluster(ctx, plan.ClusterModel)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := plan.ID.ValueString()
	cl, err := r.kube.Writer(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot update Cluster "+id, err.Error())
		return
	}
	tflog.Info(ctx, "applying Cluster", map[string]any{"id": id})
	if err := r.kube.Apply(ctx, obj); err != nil {
		resp.Diagnostics.AddError("Cannot update Cluster "+id, err.Error())
		return
	}
	r.readInto(ctx, &plan, cl, obj, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *clusterResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state clusterResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, defaultClusterDeleteTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	id := state.ID.ValueString()
	namespace, name, err := capiobj.ParseClusterID(id)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid ID", err.Error())
		return
	}
	cl, err := r.kube.Writer(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete Cluster "+id, err.Error())
		return
	}
	obj := &clusterv1.Cluster{}
	obj.Namespace, obj.Name = namespace, name
	tflog.Info(ctx, "deleting Cluster", map[string]any{"id": id})
	if err := cl.Delete(ctx, obj); err != nil && !kube.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete Cluster "+id, err.Error())
		return
	}
	if err := kube.WaitForDeletion(ctx, cl, obj, &clusterv1.ClusterList{}); err != nil {
		resp.Diagnostics.AddError("Cluster "+id+" was not deleted in time",
			fmt.Sprintf("Waited %s for the Cluster to go away (its finalizers run in Cluster API's controllers): %s. "+
				"Check `kubectl describe cluster -n %s %s`, then run destroy again.", timeout, err, namespace, name))
	}
}

func (r *clusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	namespace, name, err := capiobj.ParseClusterID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import ID", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), namespace)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importedKey, []byte(`true`))...)
}

// readInto refreshes m from the API server after a write, keeping the
// planned labels and annotations as the set of keys to report.
func (r *clusterResource) readInto(ctx context.Context, m *clusterResourceModel, cl client.Reader, obj *clusterv1.Cluster, diags *diag.Diagnostics) {
	fresh := &clusterv1.Cluster{}
	if err := cl.Get(ctx, client.ObjectKeyFromObject(obj), fresh); err != nil {
		diags.AddError("Cannot read Cluster "+m.ID.ValueString()+" after writing it", err.Error())
		return
	}
	flat, d := capiobj.FlattenCluster(ctx, fresh, &m.ClusterModel)
	diags.Append(d...)
	m.ClusterModel = flat
}
