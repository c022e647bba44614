package provider

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int32validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int32default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

var (
	_ resource.ResourceWithConfigure        = (*clusterResource)(nil)
	_ resource.ResourceWithImportState      = (*clusterResource)(nil)
	_ resource.ResourceWithIdentity         = (*clusterResource)(nil)
	_ resource.ResourceWithConfigValidators = (*clusterResource)(nil)
	_ resource.ResourceWithModifyPlan       = (*clusterResource)(nil)
)

const (
	defaultNamespace = "default"
	// importedKey marks, in private state, a Read that follows an import:
	// that Read takes every user label and annotation from the object.
	importedKey = "imported"
)

// Wait targets of wait_for.
const (
	waitProvisioned = "provisioned"
	waitAPIServer   = "api_server"
	waitAvailable   = "available"
)

// Default timeouts: creating a cluster takes minutes (on AWS: NAT gateways,
// load balancer, instances booting).
const (
	defaultClusterCreateTimeout = 30 * time.Minute
	defaultClusterUpdateTimeout = 30 * time.Minute
	defaultClusterDeleteTimeout = 20 * time.Minute
)

type clusterResource struct {
	data *providerData
}

type clusterResourceModel struct {
	capiobj.ClusterModel
	cloudBlocks
	WaitFor  types.String   `tfsdk:"wait_for"`
	Timeouts timeouts.Value `tfsdk:"timeouts"`
}

func (m *clusterResourceModel) decodeBlocks() { m.Infrastructure = m.chosen() }
func (m *clusterResourceModel) encodeBlocks() { m.put(m.Infrastructure, clusterBlockAttributes) }

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
				MarkdownDescription: "Endpoint of the workload cluster's API server (`spec.controlPlaneEndpoint`), for clusters without a cloud block " +
					"(`aws`, `digitalocean`) whose infrastructure does not set it. With a cloud block, the load balancer's address is set by the " +
					"infrastructure: see `api_server_endpoint`.",
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
			"control_plane": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "The control plane (a `KubeadmControlPlane` and the machine template of its machines: an `AWSMachineTemplate`, a `DOMachineTemplate`). " +
					"Changes roll the control plane machines one at a time; the cluster is not replaced. Requires a cloud block (`aws`, `digitalocean`).",
				Attributes: map[string]schema.Attribute{
					"replicas": schema.Int32Attribute{
						Optional:            true,
						Computed:            true,
						Default:             int32default.StaticInt32(capiobj.DefaultControlPlaneReplicas),
						MarkdownDescription: "Control plane machines: 1, 3 or 5 (etcd needs an odd number). Default 1.",
						Validators:          []validator.Int32{int32validator.OneOf(1, 3, 5)},
					},
					"version": schema.StringAttribute{
						Required:            true,
						MarkdownDescription: "Kubernetes version, such as `v1.36.0`.",
						Validators:          []validator.String{validators.KubernetesVersion()},
					},
					"machine": schema.SingleNestedAttribute{
						Required: true,
						MarkdownDescription: "The control plane's machines, with the settings of the cluster's cloud: `instance_type` and the image for `aws` (EC2 " +
							"instances), `size` and `image` for `digitalocean` (droplets). Settings of another cloud are refused at plan.",
						Attributes: registry.ControlPlaneMachineAttributes(),
					},
					"kubeadm": kubeadmAttribute("Changing it rolls the control plane machines one at a time (KCP); the cluster is not replaced.", true),
				},
			},
			"addons": schema.MapNestedAttribute{
				Optional: true,
				MarkdownDescription: "Add-ons applied to the workload cluster once its API server answers, by name: the network plugin (CNI) " +
					"first of all, since nodes stay NotReady until one runs. Each is a `ConfigMap` with the manifests and a " +
					"`ClusterResourceSet` selecting this cluster, applied by Cluster API's own ClusterResourceSet reconciler " +
					"(`kubectl get clusterresourcesets,clusterresourcesetbindings` shows them). Requires a cloud block.",
				Validators: []validator.Map{
					mapvalidator.KeysAre(validators.DNS1123Label(), stringvalidator.NoneOf(registry.ReservedAddons()...)),
				},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"manifests": schema.StringAttribute{
						Required: true,
						MarkdownDescription: "Kubernetes manifests, multi-document YAML such as `file(\"calico.yaml\")`: what `kubectl apply -f` " +
							"would take. Not for secrets: the manifests are stored in a ConfigMap and in the state.",
						Validators: []validator.String{validators.Manifests()},
					},
					"strategy": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "`ApplyOnce` (default): each object is created once and then left to the workload cluster; " +
							"`Reconcile`: objects are re-applied whenever the manifests change. Removing an add-on leaves its objects " +
							"in the workload cluster, as Cluster API does.",
						Validators: []validator.String{stringvalidator.OneOf(capiobj.AddonApplyOnce, capiobj.AddonReconcile)},
					},
				}},
			},
			"wait_for": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(waitAvailable),
				MarkdownDescription: "What create and update wait for, with a cloud block: `provisioned` (network and API server load balancer ready, " +
					"endpoint known), `api_server` (control plane initialized and its API server answering through the load balancer: " +
					"enough to install a network plugin with the helm or kubernetes provider through `capi_cluster_kubeconfig`) or " +
					"`available` (Cluster API's `Available` condition, and every control plane machine on the current spec " +
					"with a Ready node: a version change returns once KCP has rolled all of them, one at a time; nodes are Ready only " +
					"once a network plugin runs, see `addons`). Default `available`.",
				Validators: []validator.String{stringvalidator.OneOf(waitProvisioned, waitAPIServer, waitAvailable)},
			},
			"api_server_endpoint": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "URL of the workload cluster's API server (`https://host:port`), once known.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseNonNullStateForUnknown()},
			},
			"phase": schema.StringAttribute{
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "`status.phase` as Cluster API reports it (`Pending`, `Provisioning`, `Provisioned`, `Deleting`, `Failed`), as of the last refresh (an update that does not change it keeps it; the next refresh reads it anew); empty until a controller has reconciled the cluster.",
			},
			"conditions": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "`status.conditions`: what `kubectl describe cluster` shows, as of the last refresh.",
				PlanModifiers:       []planmodifier.List{listplanmodifier.UseStateForUnknown()},
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
	for _, cloud := range registry.All() {
		resp.Schema.Attributes[cloud.Name()] = cloud.ClusterAttribute()
	}
}

func (r *clusterResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	validators := []resource.ConfigValidator{
		clusterNetworkOverlapValidator{},
		clusterNetworkRules{},
		waitForReachable{},
		positiveTimeouts{},
		controlPlaneMachineOfCloud{},
		requiresCloud{attributes: []string{"control_plane", "addons"}},
	}
	if paths := cloudBlockPaths(); len(paths) > 1 {
		// A cluster is on one cloud.
		validators = append(validators, resourcevalidator.Conflicting(paths...))
	}
	for _, cloud := range registry.All() {
		validators = append(validators, cloud.ClusterValidators()...)
		validators = append(validators, resourcevalidator.Conflicting(path.MatchRoot(cloud.Name()), path.MatchRoot("control_plane_endpoint")))
	}
	return validators
}

// ModifyPlan says in the plan when a change rolls the control plane
// machines, which KCP replaces one at a time.
func (r *clusterResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	defer planReplaceDeleting(ctx, req, resp)
	replacing := planDeclares(ctx, r.data, req.State, req.Plan, "Cluster", &resp.Diagnostics)
	checkRenameAtPlan(ctx, r.data, req.State, req.Plan, &clusterv1.Cluster{}, "Cluster", &resp.Diagnostics)
	if req.Plan.Raw.IsNull() {
		return
	}
	var namespace, name types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("namespace"), &namespace)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name"), &name)...)
	if resp.Diagnostics.HasError() {
		return
	}
	named := r.data != nil && tfconv.IsKnown(namespace) && tfconv.IsKnown(name)
	if named && req.State.Raw.IsNull() && !replacing {
		found := &clusterv1.Cluster{}
		found.Namespace, found.Name = namespace.ValueString(), name.ValueString()
		checkCreateAtPlan(ctx, r.data, found, "Cluster", &resp.Diagnostics)
	}
	// The whole model decodes only without unknown values (a module's
	// computed addons, say); otherwise the machines learn only what is known.
	if req.Config.Raw.IsFullyKnown() {
		var planned clusterResourceModel
		getModel(ctx, req.Plan, &planned, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
		if named {
			r.data.planned.declareCluster(namespace.ValueString()+"/"+name.ValueString(), declaredCluster(ctx, planned.ClusterModel))
		}
		if req.State.Raw.IsNull() && planned.Infrastructure.Set() {
			if objs, d := capiobj.ExpandCluster(ctx, planned.ClusterModel); !d.HasError() {
				admitAtPlan(ctx, r.data, "Cluster", capiobj.NamespacedID(objs.Cluster.Namespace, objs.Cluster.Name), clusterObjectsInOrder(objs), &resp.Diagnostics)
			}
		}
	} else if named {
		r.data.planned.declareCluster(namespace.ValueString()+"/"+name.ValueString(), plannedCluster{cloud: plannedCloud(ctx, req.Plan, &resp.Diagnostics)})
	}
	if req.State.Raw.IsNull() {
		return
	}
	replaceOnCloudChange(ctx, req, resp)
	checkControlPlaneUpgrade(ctx, req, &resp.Diagnostics)
	var id, waitFor types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("id"), &id)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("wait_for"), &waitFor)...)
	planWaitAgain(ctx, req, resp, "Cluster", id.ValueString(), waitFor.ValueString())
	if !req.Plan.Raw.IsFullyKnown() {
		return
	}
	var state, plan clusterResourceModel
	getModel(ctx, req.State, &state, &resp.Diagnostics)
	getModel(ctx, req.Plan, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || state.ControlPlane == nil || plan.ControlPlane == nil {
		return
	}
	before, d := capiobj.ExpandCluster(ctx, state.ClusterModel)
	resp.Diagnostics.Append(d...)
	after, d := capiobj.ExpandCluster(ctx, plan.ClusterModel)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() || !controlPlaneRolls(before.ControlPlane, after.ControlPlane) {
		return
	}
	replicas := ptr.Deref(after.ControlPlane.Spec.Replicas, capiobj.DefaultControlPlaneReplicas)
	resp.Diagnostics.AddWarning("Cluster "+state.ID.ValueString()+": control plane machines roll out in place",
		fmt.Sprintf("Cluster API's KubeadmControlPlane replaces the %d control plane machine(s) one at a time: a new machine joins, then an old one "+
			"leaves, keeping etcd quorum. The cluster and its Terraform resource are updated, not replaced.", replicas))
}

// checkControlPlaneUpgrade refuses a control plane version change that
// Cluster API or kubeadm would refuse or undo: a downgrade, or more than
// one minor at once (validators.ControlPlaneUpgrade).
func checkControlPlaneUpgrade(ctx context.Context, req resource.ModifyPlanRequest, diags *diag.Diagnostics) {
	version := path.Root("control_plane").AtName("version")
	var before, after types.String
	if req.State.GetAttribute(ctx, version, &before).HasError() || req.Plan.GetAttribute(ctx, version, &after).HasError() {
		return
	}
	if !tfconv.IsKnown(before) || !tfconv.IsKnown(after) || before.Equal(after) {
		return
	}
	from, to := before.ValueString(), after.ValueString()
	if err := validators.ControlPlaneUpgrade(from, to); err != nil {
		diags.AddAttributeError(version, "Invalid control plane upgrade",
			fmt.Sprintf("Attribute control_plane.version cannot change from %s to %s: %s.", from, to, err))
	}
}

// controlPlaneRolls says whether KCP will replace its machines: a new
// version, machine template or kubeadm configuration.
func controlPlaneRolls(before, after *controlplanev1.KubeadmControlPlane) bool {
	if before == nil || after == nil {
		return false
	}
	return before.Spec.Version != after.Spec.Version ||
		before.Spec.MachineTemplate.Spec.InfrastructureRef.Name != after.Spec.MachineTemplate.Spec.InfrastructureRef.Name ||
		!reflect.DeepEqual(before.Spec.KubeadmConfigSpec, after.Spec.KubeadmConfigSpec)
}

func (r *clusterResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = namespacedIdentitySchema("Cluster")
}

func (r *clusterResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (r *clusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan clusterResourceModel
	getModel(ctx, req.Plan, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	started := time.Now()
	timeout, d := plan.Timeouts.Create(ctx, defaultClusterCreateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	objs, d := capiobj.ExpandCluster(ctx, plan.ClusterModel)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := capiobj.NamespacedID(objs.Cluster.Namespace, objs.Cluster.Name)
	cl, err := r.data.kube.Writer(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot create Cluster "+id, err.Error())
		return
	}
	// A cluster with reconcilers takes its lease first: a create that
	// another live apply is running waits for it, and only then is it
	// judged.
	if objs.Managed() {
		if err := r.data.engine.lock(ctx, objs.Cluster.Namespace, objs.Cluster.Name); err != nil {
			resp.Diagnostics.AddError("Cannot create Cluster "+id, err.Error())
			return
		}
	}
	if !startCreate(ctx, r.data, cl, objs.Cluster, "Cluster", &resp.Diagnostics) {
		return
	}
	if objs.Managed() {
		if err := r.data.engine.start(ctx, objs.Cluster.Namespace, objs.Cluster.Name); err != nil {
			resp.Diagnostics.AddError("Cannot create Cluster "+id, err.Error())
			return
		}
	}

	tflog.Info(ctx, "applying Cluster", map[string]any{"id": id})
	if err := admitAndApply(ctx, r.data.kube, cl, objs); err != nil {
		resp.Diagnostics.AddError("Cannot create Cluster "+id, err.Error())
		return
	}
	// Saved before any wait, so an interrupted apply resumes this Cluster
	// instead of creating another.
	plan.ID = types.StringValue(id)
	setIdentity(ctx, resp.Identity, id, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), plan.ID)...)

	pending := r.wait(ctx, &plan, cl, objs.Cluster, timeout, started, true, &resp.Diagnostics)
	resp.Diagnostics.Append(setPendingWait(ctx, resp.Private, pending)...)
	r.readInto(ctx, &plan, cl, &resp.Diagnostics)
	finishCreate(ctx, cl, objs.Cluster, "Cluster", &resp.Diagnostics)
	setState(ctx, &resp.State, &plan, &resp.Diagnostics)
}

func (r *clusterResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state clusterResourceModel
	getModel(ctx, req.State, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// First, so that a resource read as gone still has one.
	setIdentity(ctx, resp.Identity, state.ID.ValueString(), &resp.Diagnostics)
	namespace, name, err := capiobj.ParseNamespacedID(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid ID", err.Error())
		return
	}
	cl, err := r.data.kube.Reader()
	if err != nil {
		resp.Diagnostics.AddError("Cannot read Cluster "+state.ID.ValueString(), err.Error())
		return
	}
	objs, err := readClusterObjects(ctx, cl, client.ObjectKey{Namespace: namespace, Name: name})
	if err != nil {
		readFailed(ctx, "Cluster", state.ID.ValueString(), err, resp)
		return
	}
	if replacedFromState(ctx, "Cluster", state.ID.ValueString(), state.UID, objs.Cluster, resp) {
		return
	}
	prior := &state.ClusterModel
	if followsImport(ctx, req.Private, resp.Private, &resp.Diagnostics) {
		prior = nil
	}
	state.observe(ctx, objs, prior, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// observe sets m from the objects read, as a refresh stores them. prior
// is the state before, whose label and annotation keys are the ones to
// report; nil after an import, when every key is.
func (m *clusterResourceModel) observe(ctx context.Context, objs capiobj.ClusterObjects, prior *capiobj.ClusterModel, diags *diag.Diagnostics) {
	flat, d := capiobj.FlattenCluster(ctx, objs, prior)
	diags.Append(d...)
	m.ClusterModel = flat
	if m.WaitFor.IsNull() {
		m.WaitFor = types.StringValue(waitAvailable)
	}
	m.encodeBlocks()
}

func (r *clusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan clusterResourceModel
	getModel(ctx, req.Plan, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	setIdentity(ctx, resp.Identity, plan.ID.ValueString(), &resp.Diagnostics)
	started := time.Now()
	timeout, d := plan.Timeouts.Update(ctx, defaultClusterUpdateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	objs, d := capiobj.ExpandCluster(ctx, plan.ClusterModel)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := plan.ID.ValueString()
	cl, err := r.data.kube.Writer(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot update Cluster "+id, err.Error())
		return
	}
	if objs.Managed() {
		if err := r.data.engine.start(ctx, objs.Cluster.Namespace, objs.Cluster.Name); err != nil {
			resp.Diagnostics.AddError("Cannot update Cluster "+id, err.Error())
			return
		}
	}
	tflog.Info(ctx, "applying Cluster", map[string]any{"id": id})
	if err := admitAndApply(ctx, r.data.kube, cl, objs); err != nil {
		resp.Diagnostics.AddError("Cannot update Cluster "+id, err.Error())
		return
	}
	if err := removeDropped(ctx, cl, objs.Cluster, map[string][]string{
		"metadata.labels":      droppedKeys(ctx, req.State, req.Plan, "labels"),
		"metadata.annotations": droppedKeys(ctx, req.State, req.Plan, "annotations"),
	}); err != nil {
		resp.Diagnostics.AddError("Cannot remove the labels and annotations dropped from Cluster "+id, err.Error())
		return
	}
	if objs.ControlPlaneTemplate != nil {
		if err := deleteStaleTemplates(ctx, cl, objs.Cloud, objs.Cluster, objs.ControlPlaneTemplate.GetName()); err != nil {
			resp.Diagnostics.AddWarning("Old control plane templates left", err.Error())
		}
	}
	if err := deleteAddons(ctx, cl, objs.Cluster.Namespace, objs.Cluster.Name, objs.Addons); err != nil {
		resp.Diagnostics.AddError("Cannot remove add-ons of Cluster "+id, err.Error())
		return
	}
	pending := r.wait(ctx, &plan, cl, objs.Cluster, timeout, started, false, &resp.Diagnostics)
	resp.Diagnostics.Append(setPendingWait(ctx, resp.Private, pending)...)
	r.readInto(ctx, &plan, cl, &resp.Diagnostics)
	setState(ctx, &resp.State, &plan, &resp.Diagnostics)
	keepPlannedObserved(ctx, req.Plan, &resp.State, &resp.Diagnostics, "api_server_endpoint", "phase", "conditions")
}

func (r *clusterResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state clusterResourceModel
	getModel(ctx, req.State, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, defaultClusterDeleteTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	id := state.ID.ValueString()
	namespace, name, err := capiobj.ParseNamespacedID(id)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid ID", err.Error())
		return
	}
	cl, err := r.data.kube.Writer(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete Cluster "+id, err.Error())
		return
	}
	obj := &clusterv1.Cluster{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		if kube.IsNotFound(err) {
			return
		}
		resp.Diagnostics.AddError("Cannot delete Cluster "+id, err.Error())
		return
	}
	// Cluster API's finalizers (drain, cloud clean-up) run in the
	// reconcilers, so destroy needs them as much as apply does.
	if managedByProvider(obj) {
		if err := r.data.engine.start(ctx, namespace, name); err != nil {
			resp.Diagnostics.AddError("Cannot delete Cluster "+id, err.Error())
			return
		}
	}
	tflog.Info(ctx, "deleting Cluster", map[string]any{"id": id})
	if err := cl.Delete(ctx, obj); err != nil && !kube.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete Cluster "+id, err.Error())
		return
	}
	if err := kube.WaitForDeletion(ctx, cl, obj, &clusterv1.ClusterList{}); err != nil {
		resp.Diagnostics.AddError("Cluster "+id+" was not deleted in time",
			fmt.Sprintf("Waited %s for the Cluster to go away (its finalizers run in Cluster API's controllers): %s. "+
				"Check `kubectl describe cluster -n %s %s`, then run destroy again.", timeout, err, namespace, name))
		return
	}
	// Templates and add-ons are not owned by the Cluster; nothing else
	// deletes them.
	if err := deleteStaleTemplates(ctx, cl, cloudOfCluster(obj), obj, ""); err != nil {
		resp.Diagnostics.AddWarning("Control plane templates left", err.Error())
	}
	if err := deleteAddons(ctx, cl, namespace, name, nil); err != nil {
		resp.Diagnostics.AddError("Cannot delete the add-ons of Cluster "+id, err.Error())
	}
}

func (r *clusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importByNamespacedName(ctx, req, resp)
}

// wait blocks until the Cluster reaches the plan's wait target, watching
// it and its infrastructure, and says whether the wait is still pending
// (see reportWait). Clusters without a cloud block have no reconcilers
// here: nothing to wait for.
func (r *clusterResource) wait(ctx context.Context, m *clusterResourceModel, cl client.WithWatch, cluster *clusterv1.Cluster, timeout time.Duration, since time.Time, creating bool, diags *diag.Diagnostics) bool {
	if !m.Infrastructure.Set() || diags.HasError() {
		return false
	}
	target := m.WaitFor.ValueString()
	tflog.Info(ctx, "waiting for the Cluster", map[string]any{"id": m.ID.ValueString(), "wait_for": target})
	obj := &clusterv1.Cluster{}
	obj.Namespace, obj.Name = cluster.Namespace, cluster.Name
	controlPlaneMachines := client.MatchingLabels{clusterv1.ClusterNameLabel: obj.Name, clusterv1.MachineControlPlaneLabel: ""}
	err := waitRechecking(ctx, cl, obj, &clusterv1.ClusterList{}, "Cluster", func() (bool, string, error) {
		if clusterReached(obj, target) {
			return true, "reached " + target, nil
		}
		return false, clusterProgress(obj), infrastructureFailure(ctx, cl, since, obj.Namespace, obj, controlPlaneMachines)
	})
	if err == nil && target == waitAvailable && m.ControlPlane != nil {
		err = waitControlPlaneRolledOut(ctx, cl, obj, since)
	}
	if err == nil {
		settleCluster(ctx, cl, obj.Namespace, obj.Name)
	}
	hint := fmt.Sprintf("See its conditions with `kubectl describe cluster -n %s %s` or `clusterctl describe cluster -n %s %s`.",
		obj.Namespace, obj.Name, obj.Namespace, obj.Name)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		hint = strings.TrimSpace(machineProblems(ctx, cl, obj.Namespace, controlPlaneMachines)+" "+hint) + " To wait longer, raise timeouts."
	}
	return reportWait(err, creating, waitReport{kind: "Cluster", id: m.ID.ValueString(), target: target, timeout: timeout, hint: hint}, diags)
}

// clusterProgress says where a Cluster is, for the log: its phase and the
// first of its conditions that is not true.
func clusterProgress(c *clusterv1.Cluster) string {
	for _, t := range []string{clusterv1.ClusterInfrastructureReadyCondition, clusterv1.ClusterControlPlaneInitializedCondition,
		clusterv1.ClusterRemoteConnectionProbeCondition, clusterv1.AvailableCondition} {
		if cond := conditions.Get(c, t); cond != nil && cond.Status != metav1.ConditionTrue {
			return fmt.Sprintf("phase %s, %s: %s", c.Status.Phase, t, cond.Message)
		}
	}
	return "phase " + c.Status.Phase
}

// clusterReached says whether a Cluster has reached a wait target.
func clusterReached(c *clusterv1.Cluster, target string) bool {
	switch target {
	case waitProvisioned:
		return ptr.Deref(c.Status.Initialization.InfrastructureProvisioned, false) && c.Spec.ControlPlaneEndpoint.IsValid()
	case waitAPIServer:
		// The Cluster controller probes the API server through the
		// endpoint (the load balancer) once the control plane is up.
		return ptr.Deref(c.Status.Initialization.ControlPlaneInitialized, false) &&
			conditions.IsTrue(c, clusterv1.ClusterRemoteConnectionProbeCondition)
	default:
		return conditions.IsTrue(c, clusterv1.AvailableCondition)
	}
}

// waitControlPlaneRolledOut returns once every control plane machine is up
// to date and available, and its node Ready in the workload cluster: KCP
// scales and upgrades one machine at a time, long after the Cluster first
// became Available.
func waitControlPlaneRolledOut(ctx context.Context, cl client.WithWatch, cluster *clusterv1.Cluster, since time.Time) error {
	kcp := &controlplanev1.KubeadmControlPlane{}
	kcp.Namespace, kcp.Name = cluster.Namespace, cluster.Spec.ControlPlaneRef.Name
	return waitRechecking(ctx, cl, kcp, &controlplanev1.KubeadmControlPlaneList{}, "KubeadmControlPlane", func() (bool, string, error) {
		want, st := ptr.Deref(kcp.Spec.Replicas, 1), kcp.Status
		progress := fmt.Sprintf("%d/%d up to date, %d/%d available", ptr.Deref(st.UpToDateReplicas, 0), want, ptr.Deref(st.AvailableReplicas, 0), want)
		if st.ObservedGeneration < kcp.Generation {
			return false, "waiting for Cluster API to see the change", nil
		}
		if ptr.Deref(st.Replicas, 0) != want || ptr.Deref(st.UpToDateReplicas, 0) != want || ptr.Deref(st.AvailableReplicas, 0) != want {
			return false, progress, infrastructureFailure(ctx, cl, since, cluster.Namespace, nil,
				client.MatchingLabels{clusterv1.ClusterNameLabel: cluster.Name, clusterv1.MachineControlPlaneLabel: ""})
		}
		// Counted from the machines themselves, of the wanted version.
		ready, err := countReadyMachines(ctx, cl, cluster.Namespace, cluster.Name,
			client.MatchingLabels{clusterv1.ClusterNameLabel: cluster.Name, clusterv1.MachineControlPlaneLabel: ""},
			func(m *clusterv1.Machine) bool { return m.Spec.Version == kcp.Spec.Version })
		if err != nil {
			return false, err.Error(), nil
		}
		if ready != want {
			return false, fmt.Sprintf("%d/%d control plane nodes Ready", ready, want), nil
		}
		return true, progress, nil
	})
}

// managedByProvider says whether this provider applied the Cluster, and
// runs its reconcilers.
func managedByProvider(c *clusterv1.Cluster) bool {
	if c.Labels[clusterv1.WatchLabel] == capiobj.WatchFilterValue {
		return true
	}
	for _, f := range c.ManagedFields {
		if f.Manager == kube.FieldManager {
			return true
		}
	}
	return false
}

// readInto refreshes m from the API server after a write, keeping the
// planned labels and annotations as the set of keys to report.
func (r *clusterResource) readInto(ctx context.Context, m *clusterResourceModel, cl client.Reader, diags *diag.Diagnostics) {
	ctx, cancel := afterWait(ctx)
	defer cancel()
	namespace, name, _ := capiobj.ParseNamespacedID(m.ID.ValueString())
	objs, err := readClusterObjects(ctx, cl, client.ObjectKey{Namespace: namespace, Name: name})
	if err != nil {
		diags.AddError("Cannot read Cluster "+m.ID.ValueString()+" after writing it", err.Error())
		return
	}
	flat, d := capiobj.FlattenCluster(ctx, objs, &m.ClusterModel)
	diags.Append(d...)
	m.ClusterModel = flat
}
