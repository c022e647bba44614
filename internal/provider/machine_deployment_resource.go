package provider

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int32planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

var (
	_ resource.ResourceWithConfigure        = (*machineDeploymentResource)(nil)
	_ resource.ResourceWithImportState      = (*machineDeploymentResource)(nil)
	_ resource.ResourceWithIdentity         = (*machineDeploymentResource)(nil)
	_ resource.ResourceWithModifyPlan       = (*machineDeploymentResource)(nil)
	_ resource.ResourceWithConfigValidators = (*machineDeploymentResource)(nil)
)

// ConfigValidators: rolling update settings only with that strategy, and
// the machines on exactly one cloud.
func (r *machineDeploymentResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{onDeleteRollout{}, positiveTimeouts{}, resourcevalidator.ExactlyOneOf(cloudBlockPaths()...)}
}

const (
	defaultDeploymentCreateTimeout = 30 * time.Minute
	defaultDeploymentUpdateTimeout = 60 * time.Minute
	defaultDeploymentDeleteTimeout = 30 * time.Minute
)

type machineDeploymentResource struct {
	data *providerData
}

type machineDeploymentResourceModel struct {
	capiobj.MachineDeploymentModel
	cloudBlocks
	Timeouts timeouts.Value `tfsdk:"timeouts"`
}

func (m *machineDeploymentResourceModel) decodeBlocks() { m.Infrastructure = m.chosen() }
func (m *machineDeploymentResourceModel) encodeBlocks() {
	m.put(m.Infrastructure, machineTemplateBlockAttributes)
}

// NewMachineDeploymentResource is the capi_machine_deployment resource.
func NewMachineDeploymentResource() resource.Resource { return &machineDeploymentResource{} }

func (r *machineDeploymentResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_machine_deployment"
}

func (r *machineDeploymentResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	intOrPercent := []validator.String{stringvalidator.RegexMatches(intOrPercentPattern, `must be a number of machines such as "1" or a percentage such as "25%"`)}
	duration := []validator.String{stringvalidator.RegexMatches(durationPattern, `must be a duration such as "5m" or "1h30m"`)}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Cluster API `MachineDeployment` of a `capi_cluster`: a set of worker machines with an " +
			"infrastructure template of its cluster's cloud (`AWSMachineTemplate`, `DOMachineTemplate`), a `KubeadmConfigTemplate` " +
			"(kubeadm join) and, unless disabled, a `MachineHealthCheck`. Its cloud block (`aws` or `digitalocean`) must be its cluster's. " +
			"Changing `replicas` scales in place; changing `version`, the cloud block or `taints` rolls the machines onto new templates " +
			"in place, as Cluster API does with `max_surge` and `max_unavailable`. Neither replaces the Terraform resource. " +
			"Apply waits until every machine is up to date and its node is Ready.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`namespace/name` of the MachineDeployment.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the MachineDeployment. Changing it replaces the deployment.",
				Validators: []validator.String{validators.ClusterName()}, PlanModifiers: replace},
			"namespace": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultNamespace),
				MarkdownDescription: "Namespace, the cluster's (default `default`).", Validators: []validator.String{validators.DNS1123Label()}, PlanModifiers: replace},
			"cluster": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the `capi_cluster` the machines join.",
				Validators: []validator.String{validators.ClusterName()}, PlanModifiers: replace},
			"replicas": schema.Int32Attribute{Required: true, MarkdownDescription: "Number of machines. Changes scale in place.",
				Validators: []validator.Int32{int32validator.Between(0, 1000)}},
			"version": schema.StringAttribute{Required: true, MarkdownDescription: "Kubernetes version of the machines, such as `v1.36.0`. " +
				"Changes roll the machines in place; Cluster API refuses a version newer than the control plane's.",
				Validators: []validator.String{validators.KubernetesVersion()}},
			"labels": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Labels of the machines. Those under `node-role.kubernetes.io/`, `node-restriction.kubernetes.io/` and " +
					"`node.cluster.x-k8s.io/` are also kept on the nodes by Cluster API, in place.",
				Validators: []validator.Map{mapvalidator.KeysAre(validators.LabelKey()), mapvalidator.ValueStringsAre(validators.LabelValue())}},
			"taints": schema.ListNestedAttribute{Optional: true,
				MarkdownDescription: "Taints the nodes register with (kubeadm's `nodeRegistration.taints`). Changes roll the machines.",
				Validators:          []validator.List{listvalidator.SizeBetween(1, 64)},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"key":   schema.StringAttribute{Required: true, MarkdownDescription: "Taint key.", Validators: []validator.String{validators.LabelKey()}},
					"value": schema.StringAttribute{Optional: true, MarkdownDescription: "Taint value.", Validators: []validator.String{validators.LabelValue()}},
					"effect": schema.StringAttribute{Required: true, MarkdownDescription: "`NoSchedule`, `PreferNoSchedule` or `NoExecute`.",
						Validators: []validator.String{stringvalidator.OneOf("NoSchedule", "PreferNoSchedule", "NoExecute")}},
				}}},
			"availability_zone": schema.StringAttribute{Optional: true, Validators: []validator.String{validators.AWSZone()},
				MarkdownDescription: "Failure domain (availability zone, on AWS) of every machine: one of the cluster's `aws.availability_zones`. " +
					"Without it, every machine of the deployment lands in one failure domain, the first of the cluster's: to spread workers over " +
					"zones, make one deployment per zone (Cluster API's convention; see the example with `for_each`). Not on DigitalOcean, " +
					"whose clusters are in one region."},
			"kubeadm": kubeadmAttribute("Changing it makes a new bootstrap template and rolls the machines onto it as `rollout` says; the deployment is not replaced.", false),
			"rollout": schema.SingleNestedAttribute{Optional: true, Computed: true,
				MarkdownDescription: "How changes to the machines roll out. Default: `RollingUpdate` with `max_surge` 1 and `max_unavailable` 0. " +
					"The state holds every setting, configured or not, as an import reads it.",
				Validators: []validator.Object{validators.NotEmptyObject()},
				Default:    objectdefault.StaticValue(capiobj.DefaultRollout()),
				Attributes: map[string]schema.Attribute{
					"strategy": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(capiobj.RolloutRollingUpdate),
						MarkdownDescription: "`RollingUpdate` (default) replaces machines as soon as the spec changes; `OnDelete` replaces a machine only when you delete it.",
						Validators:          []validator.String{stringvalidator.OneOf(capiobj.RolloutRollingUpdate, capiobj.RolloutOnDelete)}},
					"max_surge": schema.StringAttribute{Optional: true, Computed: true,
						MarkdownDescription: "Machines above `replicas` during a rolling update: a number (`\"1\"`) or a percentage (`\"25%\"`). Default `1`; null with `OnDelete`.",
						Validators:          intOrPercent, PlanModifiers: []planmodifier.String{rollingUpdateDefault(capiobj.DefaultMaxSurge)}},
					"max_unavailable": schema.StringAttribute{Optional: true, Computed: true,
						MarkdownDescription: "Machines below `replicas` during a rolling update: a number or a percentage. Default `0`; null with `OnDelete`.",
						Validators:          intOrPercent, PlanModifiers: []planmodifier.String{rollingUpdateDefault(capiobj.DefaultMaxUnavailable)}},
				}},
			"deletion_order": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Which machines go first when scaling down: `Random` (default), `Newest` or `Oldest`.",
				Validators:          []validator.String{stringvalidator.OneOf("Random", "Newest", "Oldest")}},
			"health_check": schema.SingleNestedAttribute{Optional: true, Computed: true,
				MarkdownDescription: "The deployment's MachineHealthCheck, on by default: a machine whose node does not start within " +
					"`node_startup_timeout` (default `10m`), is not Ready for `unhealthy_timeout` (default `5m`), or whose node is gone, is replaced. " +
					"The state holds every setting, configured or not, as an import reads it.",
				Validators: []validator.Object{validators.NotEmptyObject()},
				Default:    objectdefault.StaticValue(capiobj.DefaultHealthCheck()),
				Attributes: map[string]schema.Attribute{
					"enabled": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						MarkdownDescription: "`false` removes the health check. Default `true`."},
					"node_startup_timeout": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(capiobj.DefaultNodeStartupTimeoutText),
						MarkdownDescription: "Default `10m`.", Validators: duration},
					"unhealthy_timeout": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(capiobj.DefaultUnhealthyTimeoutText),
						MarkdownDescription: "Default `5m`.", Validators: duration},
					"max_unhealthy": schema.StringAttribute{Optional: true,
						MarkdownDescription: "Remediate only while at most this many machines (or this percentage) are unhealthy. Default: always.",
						Validators:          intOrPercent},
				}},
			"uid": schema.StringAttribute{Computed: true, MarkdownDescription: "Kubernetes UID of the MachineDeployment.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"ready_replicas": schema.Int32Attribute{Computed: true, PlanModifiers: []planmodifier.Int32{int32planmodifier.UseStateForUnknown()},
				MarkdownDescription: "Machines whose node is Ready in the workload cluster, as seen at the last refresh: with `RollingUpdate`, " +
					"machines of the current template only; with `OnDelete`, every machine, since machines of an older template stay until you delete them. " +
					"When it is below `replicas` (a node gone or not Ready, a rollout not finished) the plan shows an update, and apply " +
					"waits until Cluster API has replaced the broken machines and, with `RollingUpdate`, finished the rollout."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
	for _, cloud := range registry.All() {
		resp.Schema.Attributes[cloud.Name()] = schema.SingleNestedAttribute{
			Optional:            true,
			MarkdownDescription: "The machines' " + cloud.MachineNoun() + "s on " + cloud.Title() + ". Changes roll the machines onto a new template.",
			Attributes:          cloud.MachineTemplateAttributes(),
		}
	}
}

func (r *machineDeploymentResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = namespacedIdentitySchema("MachineDeployment")
}

func (r *machineDeploymentResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan tells in the plan what applying will do to the machines, and
// turns machines without a Ready node into a planned update.
func (r *machineDeploymentResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	defer planReplaceDeleting(ctx, req, resp)
	replacing := planDeclares(ctx, r.data, req.State, req.Plan, "MachineDeployment", &resp.Diagnostics)
	checkRenameAtPlan(ctx, r.data, req.State, req.Plan, &clusterv1.MachineDeployment{}, "MachineDeployment", &resp.Diagnostics)
	if req.Plan.Raw.IsNull() {
		return
	}
	creating := req.State.Raw.IsNull()
	if creating && !replacing {
		var namespace, name types.String
		resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("namespace"), &namespace)...)
		resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name"), &name)...)
		if tfconv.IsKnown(namespace) && tfconv.IsKnown(name) {
			found := &clusterv1.MachineDeployment{}
			found.Namespace, found.Name = namespace.ValueString(), name.ValueString()
			checkCreateAtPlan(ctx, r.data, found, "MachineDeployment", &resp.Diagnostics)
		}
	}
	if creating && !req.Config.Raw.IsFullyKnown() {
		// Values known only at apply (a module's computed taints, say): the
		// model does not decode, and Create checks the rest.
		return
	}
	var state, plan machineDeploymentResourceModel
	getModel(ctx, req.Plan, &plan, &resp.Diagnostics)
	if !creating {
		getModel(ctx, req.State, &state, &resp.Diagnostics)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	// An update is checked against its cluster only where it changes what
	// the cluster judges: an unchanged deployment plans (and destroys)
	// whatever the cluster has become.
	makesMachines := creating || plan.Replicas.IsUnknown() || plan.Replicas.ValueInt32() > state.Replicas.ValueInt32() ||
		!plan.Version.Equal(state.Version) || rolls(ctx, state.MachineDeploymentModel, plan.MachineDeploymentModel)
	if makesMachines || !plan.Cluster.Equal(state.Cluster) || !plan.AvailabilityZone.Equal(state.AvailabilityZone) {
		checkClusterReference(ctx, r.data, plan.clusterCheck(makesMachines), &resp.Diagnostics)
	}
	if creating {
		if objs, d := capiobj.ExpandMachineDeployment(ctx, plan.MachineDeploymentModel); !d.HasError() {
			md := objs.MachineDeployment
			admitAtPlan(ctx, r.data, "MachineDeployment", capiobj.NamespacedID(md.Namespace, md.Name), deploymentObjectsInOrder(objs), &resp.Diagnostics)
		}
	}
	if req.State.Raw.IsNull() {
		return
	}
	if plan.Replicas.IsUnknown() {
		// Known only at apply, it may scale.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("ready_replicas"), types.Int32Unknown())...)
		return
	}
	id := state.ID.ValueString()
	if ready := state.ReadyReplicas; !ready.IsNull() && ready.ValueInt32() < plan.Replicas.ValueInt32() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("ready_replicas"), types.Int32Unknown())...)
		resp.Diagnostics.AddWarning(fmt.Sprintf("MachineDeployment %s: %d of %d machines are not up to date with a Ready node", id, plan.Replicas.ValueInt32()-ready.ValueInt32(), plan.Replicas.ValueInt32()),
			notReadyDetail(plan.MachineDeploymentModel))
	} else if !planWaitAgain(ctx, req, resp, "MachineDeployment", id, "rolled out") &&
		(makesMachines || state.Replicas.ValueInt32() != plan.Replicas.ValueInt32()) {
		// The apply changes which machines there are; other changes (a
		// label, a timeout) leave the count as the last refresh saw it.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("ready_replicas"), types.Int32Unknown())...)
	}
	if state.Replicas.ValueInt32() != plan.Replicas.ValueInt32() {
		tflog.Info(ctx, "machine deployment scales", map[string]any{"id": id, "from": state.Replicas.ValueInt32(), "to": plan.Replicas.ValueInt32()})
	}
	if rolls(ctx, state.MachineDeploymentModel, plan.MachineDeploymentModel) {
		resp.Diagnostics.AddWarning("MachineDeployment "+id+": machines roll out in place", capiobj.RolloutSummary(plan.MachineDeploymentModel))
	}
}

// notReadyDetail says what an apply does for a deployment whose machines
// are short of Ready nodes.
func notReadyDetail(m capiobj.MachineDeploymentModel) string {
	if r := m.Rollout; r != nil && r.Strategy.ValueString() == capiobj.RolloutOnDelete {
		return "Applying runs Cluster API's reconcilers: the health check replaces machines whose node is gone or not Ready, missing machines are created, " +
			"and apply waits until there are as many machines with a Ready node as replicas. With strategy OnDelete, machines of an older template are not replaced: delete them yourself."
	}
	return "Applying runs Cluster API's reconcilers: the health check replaces machines whose node is gone or not Ready, a rollout in progress goes on, " +
		"and apply waits until every machine is up to date with a Ready node."
}

// clusterCheck is what a deployment asks of its cluster; makesMachines
// says whether the change makes new machines.
func (m machineDeploymentResourceModel) clusterCheck(makesMachines bool) machinesPlan {
	return machinesPlan{kind: "MachineDeployment", cloud: m.Infrastructure.Cloud, namespace: m.Namespace, cluster: m.Cluster, version: m.Version,
		zone: m.AvailabilityZone, zonePath: path.Root("availability_zone"), makesMachines: makesMachines}
}

// rolls says whether the change from state to plan gives the machines a
// new template, as the MachineSets will judge it.
func rolls(ctx context.Context, state, plan capiobj.MachineDeploymentModel) bool {
	before, _ := capiobj.ExpandMachineDeployment(ctx, state)
	after, _ := capiobj.ExpandMachineDeployment(ctx, plan)
	return !sameMachineTemplate(before.MachineDeployment.Spec.Template.Spec, after.MachineDeployment.Spec.Template.Spec)
}

func deploymentObjectsInOrder(objs capiobj.MachineDeploymentObjects) []client.Object {
	out := []client.Object{objs.InfrastructureTemplate, objs.BootstrapTemplate, objs.MachineDeployment}
	if objs.HealthCheck != nil {
		out = append(out, objs.HealthCheck)
	}
	return out
}

func (r *machineDeploymentResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan machineDeploymentResourceModel
	getModel(ctx, req.Plan, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	started := time.Now()
	timeout, d := plan.Timeouts.Create(ctx, defaultDeploymentCreateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	objs, d := capiobj.ExpandMachineDeployment(ctx, plan.MachineDeploymentModel)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	md := objs.MachineDeployment
	id := capiobj.NamespacedID(md.Namespace, md.Name)
	cl, err := r.data.kube.Writer(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot create MachineDeployment "+id, err.Error())
		return
	}
	// What the plan checked against the management cluster, again now
	// that the objects it depends on have been applied.
	checkClusterReference(ctx, r.data, plan.clusterCheck(true), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// The cluster's lease first: a create that another live apply runs is
	// judged once it is done.
	if err := r.data.engine.lock(ctx, md.Namespace, md.Spec.ClusterName); err != nil {
		resp.Diagnostics.AddError("Cannot create MachineDeployment "+id, err.Error())
		return
	}
	if !startCreate(ctx, r.data, cl, md, "MachineDeployment", &resp.Diagnostics) {
		return
	}
	if err := r.apply(ctx, cl, objs); err != nil {
		resp.Diagnostics.AddError("Cannot create MachineDeployment "+id, err.Error())
		return
	}
	plan.ID = types.StringValue(id)
	setIdentity(ctx, resp.Identity, id, &resp.Diagnostics)
	pending := r.waitAndRead(ctx, &plan, cl, timeout, started, true, &resp.Diagnostics)
	resp.Diagnostics.Append(setPendingWait(ctx, resp.Private, pending)...)
	finishCreate(ctx, cl, md, "MachineDeployment", &resp.Diagnostics)
	setState(ctx, &resp.State, &plan, &resp.Diagnostics)
}

func (r *machineDeploymentResource) apply(ctx context.Context, cl client.Client, objs capiobj.MachineDeploymentObjects) error {
	md := objs.MachineDeployment
	if err := r.data.engine.start(ctx, md.Namespace, md.Spec.ClusterName); err != nil {
		return err
	}
	tflog.Info(ctx, "applying MachineDeployment", map[string]any{"id": capiobj.NamespacedID(md.Namespace, md.Name),
		"replicas": ptr.Deref(md.Spec.Replicas, 0), "version": md.Spec.Template.Spec.Version})
	if err := applyAll(ctx, r.data.kube, cl, deploymentObjectsInOrder(objs), true); err != nil {
		return err
	}
	if objs.HealthCheck == nil {
		mhc := &clusterv1.MachineHealthCheck{}
		mhc.Namespace, mhc.Name = md.Namespace, md.Name
		if err := cl.Delete(ctx, mhc); err != nil && !kube.IsNotFound(err) {
			return fmt.Errorf("removing the health check: %w", err)
		}
	}
	return nil
}

func (r *machineDeploymentResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state machineDeploymentResourceModel
	getModel(ctx, req.State, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// First, so that a resource read as gone still has one.
	setIdentity(ctx, resp.Identity, state.ID.ValueString(), &resp.Diagnostics)
	cl, err := r.data.kube.Reader()
	if err != nil {
		resp.Diagnostics.AddError("Cannot read MachineDeployment "+state.ID.ValueString(), err.Error())
		return
	}
	objs, err := readDeploymentObjects(ctx, cl, state.ID.ValueString())
	if err != nil {
		readFailed(ctx, "MachineDeployment", state.ID.ValueString(), err, resp)
		return
	}
	if replacedFromState(ctx, "MachineDeployment", state.ID.ValueString(), state.UID, objs.MachineDeployment, resp) {
		return
	}
	prior := &state.MachineDeploymentModel
	if followsImport(ctx, req.Private, resp.Private, &resp.Diagnostics) {
		prior = nil
	}
	state.observe(ctx, cl, objs, prior, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// observe sets m from the objects read, as a refresh stores them. prior
// is the state before, whose label and annotation keys are the ones to
// report; nil after an import, when every key is.
func (m *machineDeploymentResourceModel) observe(ctx context.Context, cl client.Reader, objs capiobj.MachineDeploymentObjects, prior *capiobj.MachineDeploymentModel, diags *diag.Diagnostics) {
	flat, d := capiobj.FlattenMachineDeployment(ctx, objs, prior)
	diags.Append(d...)
	flat.ReadyReplicas = observeReadyReplicas(ctx, cl, objs.MachineDeployment)
	m.MachineDeploymentModel = flat
	m.encodeBlocks()
}

// observeReadyReplicas counts the deployment's machines with a Ready node
// in the workload cluster that an apply would not replace: with
// RollingUpdate the up-to-date ones, with OnDelete all of them (an apply
// replaces no machine of an older template there; the user does, by
// deleting it). When the workload cluster cannot be reached it falls back
// on the deployment's status, as last written by Cluster API.
func observeReadyReplicas(ctx context.Context, cl client.Reader, md *clusterv1.MachineDeployment) types.Int32 {
	current, err := currentMachineSets(ctx, cl, md)
	onDelete := md.Spec.Rollout.Strategy.Type == clusterv1.OnDeleteMachineDeploymentStrategyType
	var n int32
	if err == nil {
		n, err = countReadyMachines(ctx, cl, md.Namespace, md.Spec.ClusterName, client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: md.Name},
			func(m *clusterv1.Machine) bool { return onDelete || current[m.Labels[clusterv1.MachineSetNameLabel]] })
	}
	if err != nil {
		tflog.Warn(ctx, "cannot see the workload cluster's nodes; ready_replicas is Cluster API's last status", map[string]any{"error": err.Error()})
		return types.Int32Value(ptr.Deref(md.Status.ReadyReplicas, 0))
	}
	return types.Int32Value(n)
}

func (r *machineDeploymentResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan machineDeploymentResourceModel
	getModel(ctx, req.Plan, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	setIdentity(ctx, resp.Identity, plan.ID.ValueString(), &resp.Diagnostics)
	started := time.Now()
	timeout, d := plan.Timeouts.Update(ctx, defaultDeploymentUpdateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	objs, d := capiobj.ExpandMachineDeployment(ctx, plan.MachineDeploymentModel)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	cl, err := r.data.kube.Writer(ctx)
	if err == nil {
		err = r.apply(ctx, cl, objs)
	}
	if err == nil {
		// The labels are the machines': Cluster API passes the removal on.
		err = removeDropped(ctx, cl, objs.MachineDeployment, map[string][]string{
			"spec.template.metadata.labels": droppedKeys(ctx, req.State, req.Plan, "labels"),
		})
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot update MachineDeployment "+plan.ID.ValueString(), err.Error())
		return
	}
	pending := r.waitAndRead(ctx, &plan, cl, timeout, started, false, &resp.Diagnostics)
	resp.Diagnostics.Append(setPendingWait(ctx, resp.Private, pending)...)
	setState(ctx, &resp.State, &plan, &resp.Diagnostics)
	keepPlannedObserved(ctx, req.Plan, &resp.State, &resp.Diagnostics, "ready_replicas")
}

func (r *machineDeploymentResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state machineDeploymentResourceModel
	getModel(ctx, req.State, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, defaultDeploymentDeleteTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id := state.ID.ValueString()
	namespace, name, err := capiobj.ParseNamespacedID(id)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid ID", err.Error())
		return
	}
	mhc := &clusterv1.MachineHealthCheck{}
	mhc.Namespace, mhc.Name = namespace, name
	md := &clusterv1.MachineDeployment{}
	md.Namespace, md.Name = namespace, name
	cl := deleteWithEngine(ctx, r.data, state.Cluster.ValueString(), "MachineDeployment", timeout, &clusterv1.MachineDeploymentList{}, &resp.Diagnostics, mhc, md)
	if cl == nil {
		return
	}
	// Templates are not owned by the deployment; nothing else deletes them.
	if err := deleteDeploymentTemplates(ctx, cl, namespace, name, nil); err != nil {
		resp.Diagnostics.AddWarning("MachineDeployment templates left", err.Error())
	}
	// The Cluster stops counting the deployment's machines.
	settleCluster(ctx, cl, namespace, state.Cluster.ValueString())
}

func (r *machineDeploymentResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importByNamespacedName(ctx, req, resp)
}

// waitAndRead waits until the rollout is complete, removes the templates
// no machine set uses any more, and refreshes m. It says whether the wait
// is still pending (see reportWait).
func (r *machineDeploymentResource) waitAndRead(ctx context.Context, m *machineDeploymentResourceModel, cl client.WithWatch, timeout time.Duration, since time.Time, creating bool, diags *diag.Diagnostics) bool {
	namespace, name, _ := capiobj.ParseNamespacedID(m.ID.ValueString())
	err := waitDeploymentRolledOut(ctx, cl, namespace, name, since)
	hint := fmt.Sprintf("See `kubectl describe machinedeployment -n %s %s` and `clusterctl describe cluster -n %s %s`.",
		namespace, name, namespace, m.Cluster.ValueString())
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		hint = strings.TrimSpace(machineProblems(ctx, cl, namespace, client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: name})+" "+hint) +
			" To wait longer, raise timeouts."
	}
	pending := reportWait(err, creating, waitReport{kind: "MachineDeployment", id: m.ID.ValueString(), target: "rolled out", timeout: timeout, hint: hint}, diags)
	if !pending {
		if err := deleteDeploymentTemplates(ctx, cl, namespace, name, cl); err != nil {
			diags.AddWarning("Old MachineDeployment templates left", err.Error())
		}
		settleCluster(ctx, cl, namespace, m.Cluster.ValueString())
	}
	ctx, cancel := afterWait(ctx)
	defer cancel()
	objs, err := readDeploymentObjects(ctx, cl, m.ID.ValueString())
	if err != nil {
		diags.AddError("Cannot read MachineDeployment "+m.ID.ValueString()+" after writing it", err.Error())
		return pending
	}
	flat, d := capiobj.FlattenMachineDeployment(ctx, objs, &m.MachineDeploymentModel)
	diags.Append(d...)
	flat.ReadyReplicas = observeReadyReplicas(ctx, cl, objs.MachineDeployment)
	m.MachineDeploymentModel = flat
	return pending
}

// waitDeploymentRolledOut returns once every machine of the deployment is
// up to date and available, and its node Ready in the workload cluster.
func waitDeploymentRolledOut(ctx context.Context, cl client.WithWatch, namespace, name string, since time.Time) error {
	md := &clusterv1.MachineDeployment{}
	md.Namespace, md.Name = namespace, name
	return waitRechecking(ctx, cl, md, &clusterv1.MachineDeploymentList{}, "MachineDeployment", func() (bool, string, error) {
		done, progress := deploymentRolledOut(ctx, cl, md)
		if done {
			return true, progress, nil
		}
		return false, progress, infrastructureFailure(ctx, cl, since, namespace, nil, client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: name})
	})
}

// deploymentRolledOut checks the deployment's machines and their nodes,
// and says where the rollout is. It counts machines itself: the
// deployment's status adds up its MachineSets' statuses, which lag behind
// a change by a reconcile or two.
func deploymentRolledOut(ctx context.Context, cl client.Reader, md *clusterv1.MachineDeployment) (bool, string) {
	want := ptr.Deref(md.Spec.Replicas, 0)
	if md.Status.ObservedGeneration < md.Generation {
		return false, "waiting for Cluster API to see the change"
	}
	selector := client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: md.Name}
	current, err := currentMachineSets(ctx, cl, md)
	if err != nil {
		return false, err.Error()
	}
	var machines clusterv1.MachineList
	if err := cl.List(ctx, &machines, client.InNamespace(md.Namespace), selector); err != nil {
		return false, err.Error()
	}
	// Machines being deleted count until they are gone: a scale down or a
	// rollout is done once their instances are.
	var total, upToDate int32
	for _, m := range machines.Items {
		total++
		if m.DeletionTimestamp.IsZero() && current[m.Labels[clusterv1.MachineSetNameLabel]] {
			upToDate++
		}
	}
	progress := fmt.Sprintf("%d machines, %d/%d up to date, %d/%d available", total, upToDate, want, ptr.Deref(md.Status.AvailableReplicas, 0), want)
	onDelete := md.Spec.Rollout.Strategy.Type == clusterv1.OnDeleteMachineDeploymentStrategyType
	if total != want || (!onDelete && upToDate != want) || ptr.Deref(md.Status.AvailableReplicas, 0) != want {
		return false, progress
	}
	// One look at the workload cluster's nodes: their readiness, and the
	// labels changed in place, which reach them a reconcile after the
	// machines.
	nodes, err := listWorkloadNodes(ctx, cl, md.Namespace, md.Spec.ClusterName)
	if err != nil {
		return false, err.Error()
	}
	if ready := readyMachines(machines.Items, nodes, nil); ready != want {
		return false, fmt.Sprintf("%s, %d/%d nodes Ready", progress, ready, want)
	}
	if missing := unsyncedLabel(machines.Items, nodes, md.Spec.Template.Labels); missing != "" {
		return false, progress + ", waiting for " + missing
	}
	return true, progress
}

// currentMachineSets says, for each MachineSet of the deployment, whether
// it makes machines of the deployment's current template.
func currentMachineSets(ctx context.Context, cl client.Reader, md *clusterv1.MachineDeployment) (map[string]bool, error) {
	var sets clusterv1.MachineSetList
	if err := cl.List(ctx, &sets, client.InNamespace(md.Namespace), client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: md.Name}); err != nil {
		return nil, err
	}
	current := map[string]bool{}
	for _, ms := range sets.Items {
		current[ms.Name] = sameMachineTemplate(ms.Spec.Template.Spec, md.Spec.Template.Spec)
	}
	return current, nil
}

// sameMachineTemplate says whether a MachineSet makes the machines the
// deployment's template describes: same version, failure domain and
// templates (which the provider names by the hash of their spec).
func sameMachineTemplate(set, deployment clusterv1.MachineSpec) bool {
	return set.Version == deployment.Version && set.FailureDomain == deployment.FailureDomain &&
		set.InfrastructureRef.Name == deployment.InfrastructureRef.Name &&
		set.Bootstrap.ConfigRef.Name == deployment.Bootstrap.ConfigRef.Name
}

// readDeploymentObjects reads a MachineDeployment with the templates it
// references and its health check.
func readDeploymentObjects(ctx context.Context, cl client.Reader, id string) (capiobj.MachineDeploymentObjects, error) {
	namespace, name, err := capiobj.ParseNamespacedID(id)
	if err != nil {
		return capiobj.MachineDeploymentObjects{}, err
	}
	objs := capiobj.MachineDeploymentObjects{MachineDeployment: &clusterv1.MachineDeployment{}}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, objs.MachineDeployment); err != nil {
		return objs, err
	}
	spec := objs.MachineDeployment.Spec.Template.Spec
	ref := spec.InfrastructureRef
	if cloud, ok := registry.ForMachineTemplateKind(ref.APIGroup, ref.Kind); ok {
		objs.Cloud = cloud
		t := cloud.Kinds().NewMachineTemplate()
		if err := get(ctx, cl, client.ObjectKey{Namespace: namespace, Name: ref.Name}, t); err != nil {
			return objs, err
		} else if t.GetName() != "" {
			objs.InfrastructureTemplate = t
		}
	}
	if ref := spec.Bootstrap.ConfigRef; ref.Kind == "KubeadmConfigTemplate" && ref.APIGroup == bootstrapv1.GroupVersion.Group {
		t := &bootstrapv1.KubeadmConfigTemplate{}
		if err := get(ctx, cl, client.ObjectKey{Namespace: namespace, Name: ref.Name}, t); err != nil {
			return objs, err
		} else if t.Name != "" {
			objs.BootstrapTemplate = t
		}
	}
	mhc := &clusterv1.MachineHealthCheck{}
	if err := get(ctx, cl, client.ObjectKey{Namespace: namespace, Name: name}, mhc); err != nil {
		return objs, err
	} else if mhc.Name != "" {
		objs.HealthCheck = mhc
	}
	return objs, nil
}

// deleteDeploymentTemplates removes the deployment's templates that none
// of its MachineSets references (all of them when reader is nil: the
// deployment is gone).
func deleteDeploymentTemplates(ctx context.Context, cl client.Client, namespace, name string, reader client.Reader) error {
	inUse := map[string]bool{}
	if reader != nil {
		var sets clusterv1.MachineSetList
		if err := reader.List(ctx, &sets, client.InNamespace(namespace), client.MatchingLabels{clusterv1.MachineDeploymentNameLabel: name}); err != nil {
			return err
		}
		for _, ms := range sets.Items {
			inUse[ms.Spec.Template.Spec.InfrastructureRef.Kind+"/"+ms.Spec.Template.Spec.InfrastructureRef.Name] = true
			inUse["KubeadmConfigTemplate/"+ms.Spec.Template.Spec.Bootstrap.ConfigRef.Name] = true
		}
		var md clusterv1.MachineDeployment
		if err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &md); err != nil {
			return err
		}
		inUse[md.Spec.Template.Spec.InfrastructureRef.Kind+"/"+md.Spec.Template.Spec.InfrastructureRef.Name] = true
		inUse["KubeadmConfigTemplate/"+md.Spec.Template.Spec.Bootstrap.ConfigRef.Name] = true
	}
	selector := client.MatchingLabels{capiobj.DeploymentLabel: name}
	var stale []client.Object
	for _, cloud := range registry.All() {
		templates, err := listMachineTemplates(ctx, cl, cloud, namespace, selector)
		if err != nil {
			return err
		}
		for _, t := range templates {
			if !inUse[cloud.Kinds().MachineTemplate+"/"+t.GetName()] {
				stale = append(stale, t)
			}
		}
	}
	var boot bootstrapv1.KubeadmConfigTemplateList
	if err := cl.List(ctx, &boot, client.InNamespace(namespace), selector); err != nil {
		return err
	}
	for i := range boot.Items {
		if !inUse["KubeadmConfigTemplate/"+boot.Items[i].Name] {
			stale = append(stale, &boot.Items[i])
		}
	}
	for _, o := range stale {
		if err := cl.Delete(ctx, o); err != nil && !kube.IsNotFound(err) {
			return err
		}
	}
	return nil
}
