package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/conditions"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

var (
	_ resource.ResourceWithConfigure        = (*machineResource)(nil)
	_ resource.ResourceWithImportState      = (*machineResource)(nil)
	_ resource.ResourceWithIdentity         = (*machineResource)(nil)
	_ resource.ResourceWithModifyPlan       = (*machineResource)(nil)
	_ resource.ResourceWithConfigValidators = (*machineResource)(nil)
)

// Wait targets of capi_machine.
const (
	waitMachineProvisioned = "provisioned"
	waitNodeReady          = "node_ready"
)

const (
	defaultMachineCreateTimeout = 20 * time.Minute
	defaultMachineUpdateTimeout = 20 * time.Minute
	defaultMachineDeleteTimeout = 20 * time.Minute
)

type machineResource struct {
	data *providerData
}

type machineResourceModel struct {
	capiobj.MachineModel
	cloudBlocks
	WaitFor  types.String   `tfsdk:"wait_for"`
	Timeouts timeouts.Value `tfsdk:"timeouts"`
}

func (m *machineResourceModel) decodeBlocks() { m.Infrastructure = m.chosen() }
func (m *machineResourceModel) encodeBlocks() { m.put(m.Infrastructure, machineBlockAttributes) }

// NewMachineResource is the capi_machine resource.
func NewMachineResource() resource.Resource { return &machineResource{} }

func (r *machineResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_machine"
}

func (r *machineResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "One Cluster API `Machine` of a `capi_cluster`, with its infrastructure machine (an `AWSMachine`, a `DOMachine`) and either a `KubeadmConfig` " +
			"(kubeadm join, the default) or a bootstrap script of your own (Cluster API's `dataSecretName`). A Machine's spec " +
			"is immutable in Cluster API: changing it replaces the machine; labels and annotations change in place. " +
			"The cluster must exist (or be a `capi_cluster` of the configuration) with the cloud block the machine has, and the machine's zone and " +
			"version must suit it (checked at plan). A create that outlasts its timeout is kept in the state, not tainted, and the " +
			"next apply waits for it again instead of replacing it; a permanent cloud error fails the apply at once.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`namespace/name` of the Machine.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the Machine.",
				Validators: []validator.String{validators.ClusterName()}, PlanModifiers: replace},
			"namespace": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultNamespace),
				MarkdownDescription: "Namespace, the cluster's (default `default`).", Validators: []validator.String{validators.DNS1123Label()}, PlanModifiers: replace},
			"cluster": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the `capi_cluster` the machine belongs to.",
				Validators: []validator.String{validators.ClusterName()}, PlanModifiers: replace},
			"version": schema.StringAttribute{Optional: true, MarkdownDescription: "Kubernetes version of the node, such as `v1.36.0`: required with kubeadm; without it (a `bootstrap_script` machine) `aws.ami` is required on AWS.",
				Validators: []validator.String{validators.KubernetesVersion()}, PlanModifiers: replace},
			"labels": schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Labels of the Machine.",
				Validators: []validator.Map{mapvalidator.KeysAre(validators.LabelKey()), mapvalidator.ValueStringsAre(validators.LabelValue())}},
			"annotations": schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Annotations of the Machine.",
				Validators: []validator.Map{mapvalidator.KeysAre(validators.LabelKey())}},
			"kubeadm": func() schema.SingleNestedAttribute {
				a := kubeadmAttribute("Changing it replaces the machine: a Machine's bootstrap configuration is immutable.", false)
				a.PlanModifiers = []planmodifier.Object{objectplanmodifier.RequiresReplace()}
				a.Validators = append(a.Validators, objectvalidator.ConflictsWith(path.MatchRoot("bootstrap_script")))
				return a
			}(),
			"bootstrap_script": schema.StringAttribute{Optional: true, Sensitive: true,
				MarkdownDescription: "User data of your own instead of kubeadm join (stored in a Secret that the Machine's `dataSecretName` names).",
				PlanModifiers:       replace},
			"uid": schema.StringAttribute{Computed: true, MarkdownDescription: "Kubernetes UID of the Machine.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"provider_id": schema.StringAttribute{Computed: true, MarkdownDescription: "`aws:///<zone>/<instance-id>` or `digitalocean://<droplet-id>` once the instance or droplet exists.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseNonNullStateForUnknown()}},
			"phase": schema.StringAttribute{Computed: true, MarkdownDescription: "`status.phase` of the Machine, as of the last refresh.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"conditions": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "`status.conditions` of the Machine, as of the last refresh.",
				PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"type": schema.StringAttribute{Computed: true}, "status": schema.StringAttribute{Computed: true},
					"reason": schema.StringAttribute{Computed: true}, "message": schema.StringAttribute{Computed: true},
				}}},
			"node_ready": schema.BoolAttribute{Computed: true, PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "Whether the machine's node is in the workload cluster and Ready, as seen at the last refresh (null until " +
					"the machine has a node). When it is `false` (the instance was terminated behind Terraform's back, say) the plan replaces the machine."},
			"wait_for": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(waitNodeReady),
				MarkdownDescription: "What create waits for: `provisioned` (the instance runs) or `node_ready` (its node is Ready). Default `node_ready`.",
				Validators:          []validator.String{stringvalidator.OneOf(waitMachineProvisioned, waitNodeReady)}},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
	for _, cloud := range registry.All() {
		resp.Schema.Attributes[cloud.Name()] = schema.SingleNestedAttribute{
			Optional:            true,
			MarkdownDescription: "The machine's " + cloud.MachineNoun() + " on " + cloud.Title() + ". Changing it replaces the machine.",
			Attributes:          cloud.MachineAttributes(),
			PlanModifiers:       []planmodifier.Object{objectplanmodifier.RequiresReplace()},
		}
	}
}

func (r *machineResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = namespacedIdentitySchema("Machine")
}

func (r *machineResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func machineObjectsInOrder(objs capiobj.MachineObjects) []client.Object {
	var out []client.Object
	if objs.BootstrapSecret != nil {
		out = append(out, objs.BootstrapSecret)
	}
	if objs.KubeadmConfig != nil {
		out = append(out, objs.KubeadmConfig)
	}
	if objs.Infrastructure != nil {
		out = append(out, objs.Infrastructure)
	}
	return append(out, objs.Machine)
}

func (r *machineResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan machineResourceModel
	getModel(ctx, req.Plan, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	started := time.Now()
	timeout, d := plan.Timeouts.Create(ctx, defaultMachineCreateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	objs, d := capiobj.ExpandMachine(ctx, plan.MachineModel)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := capiobj.NamespacedID(objs.Machine.Namespace, objs.Machine.Name)
	cl, err := r.data.kube.Writer(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot create Machine "+id, err.Error())
		return
	}
	// What the plan checked against the management cluster, again now
	// that the objects it depends on have been applied.
	checkClusterReference(ctx, r.data, plan.clusterCheck(), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// The cluster's lease first: a create that another live apply runs is
	// judged once it is done.
	if err := r.data.engine.lock(ctx, objs.Machine.Namespace, objs.Machine.Spec.ClusterName); err != nil {
		resp.Diagnostics.AddError("Cannot create Machine "+id, err.Error())
		return
	}
	if !startCreate(ctx, r.data, cl, objs.Machine, "Machine", &resp.Diagnostics) {
		return
	}
	if err := r.data.engine.start(ctx, objs.Machine.Namespace, objs.Machine.Spec.ClusterName); err != nil {
		resp.Diagnostics.AddError("Cannot create Machine "+id, err.Error())
		return
	}
	tflog.Info(ctx, "applying Machine", map[string]any{"id": id})
	if err := applyAll(ctx, r.data.kube, cl, machineObjectsInOrder(objs), true); err != nil {
		resp.Diagnostics.AddError("Cannot create Machine "+id, err.Error())
		return
	}
	plan.ID = types.StringValue(id)
	setIdentity(ctx, resp.Identity, id, &resp.Diagnostics)
	pending := r.wait(ctx, &plan, cl, timeout, started, true, &resp.Diagnostics)
	resp.Diagnostics.Append(setPendingWait(ctx, resp.Private, pending)...)
	r.readInto(ctx, &plan, cl, &resp.Diagnostics)
	finishCreate(ctx, cl, objs.Machine, "Machine", &resp.Diagnostics)
	setState(ctx, &resp.State, &plan, &resp.Diagnostics)
}

func (r *machineResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state machineResourceModel
	getModel(ctx, req.State, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// First, so that a resource read as gone still has one.
	setIdentity(ctx, resp.Identity, state.ID.ValueString(), &resp.Diagnostics)
	cl, err := r.data.kube.Reader()
	if err != nil {
		resp.Diagnostics.AddError("Cannot read Machine "+state.ID.ValueString(), err.Error())
		return
	}
	objs, err := readMachineObjects(ctx, cl, state.ID.ValueString())
	if err != nil {
		readFailed(ctx, "Machine", state.ID.ValueString(), err, resp)
		return
	}
	if replacedFromState(ctx, "Machine", state.ID.ValueString(), state.UID, objs.Machine, resp) {
		return
	}
	prior := &state.MachineModel
	if followsImport(ctx, req.Private, resp.Private, &resp.Diagnostics) {
		prior = nil
	}
	state.observe(ctx, cl, objs, prior, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// observe sets m from the objects read, as a refresh stores them. prior
// is the state before, whose label and annotation keys are the ones to
// report; nil after an import, when every key is.
func (m *machineResourceModel) observe(ctx context.Context, cl client.Reader, objs capiobj.MachineObjects, prior *capiobj.MachineModel, diags *diag.Diagnostics) {
	flat, d := capiobj.FlattenMachine(ctx, objs, prior)
	diags.Append(d...)
	flat.NodeReady = observeMachineNode(ctx, cl, objs.Machine, flat.NodeReady)
	m.MachineModel = flat
	if m.WaitFor.IsNull() {
		m.WaitFor = types.StringValue(waitNodeReady)
	}
	m.encodeBlocks()
}

// ModifyPlan replaces a machine whose node was seen gone or not Ready: a
// Machine's spec is immutable, and nothing else replaces a standalone
// machine (a capi_machine_deployment's health check does that for its own).
func (r *machineResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	defer planReplaceDeleting(ctx, req, resp)
	replacing := planDeclares(ctx, r.data, req.State, req.Plan, "Machine", &resp.Diagnostics)
	checkRenameAtPlan(ctx, r.data, req.State, req.Plan, &clusterv1.Machine{}, "Machine", &resp.Diagnostics)
	if req.Plan.Raw.IsNull() {
		return
	}
	if req.State.Raw.IsNull() {
		if !req.Config.Raw.IsFullyKnown() {
			// Values known only at apply: the model does not decode, and
			// Create checks the rest.
			var namespace, name types.String
			resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("namespace"), &namespace)...)
			resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name"), &name)...)
			if tfconv.IsKnown(namespace) && tfconv.IsKnown(name) && !replacing {
				found := &clusterv1.Machine{}
				found.Namespace, found.Name = namespace.ValueString(), name.ValueString()
				checkCreateAtPlan(ctx, r.data, found, "Machine", &resp.Diagnostics)
			}
			return
		}
		var plan machineResourceModel
		getModel(ctx, req.Plan, &plan, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
		checkClusterReference(ctx, r.data, plan.clusterCheck(), &resp.Diagnostics)
		if tfconv.IsKnown(plan.Namespace) && tfconv.IsKnown(plan.Name) {
			found := &clusterv1.Machine{}
			found.Namespace, found.Name = plan.Namespace.ValueString(), plan.Name.ValueString()
			if !replacing {
				checkCreateAtPlan(ctx, r.data, found, "Machine", &resp.Diagnostics)
			}
		}
		if objs, d := capiobj.ExpandMachine(ctx, plan.MachineModel); !d.HasError() {
			admitAtPlan(ctx, r.data, "Machine", capiobj.NamespacedID(objs.Machine.Namespace, objs.Machine.Name), machineObjectsInOrder(objs), &resp.Diagnostics)
		}
		return
	}
	var state machineResourceModel
	getModel(ctx, req.State, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// A machine whose create ran out of time is waited for again, not
	// replaced: its node may only be late.
	if planWaitAgain(ctx, req, resp, "Machine", state.ID.ValueString(), state.WaitFor.ValueString()) {
		return
	}
	if state.NodeReady.IsNull() || state.NodeReady.ValueBool() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("node_ready"), types.BoolUnknown())...)
	resp.RequiresReplace = append(resp.RequiresReplace, path.Root("node_ready"))
	resp.Diagnostics.AddWarning("Machine "+state.ID.ValueString()+" has no Ready node",
		"Its node is gone from the workload cluster or not Ready (an instance terminated out of band, say): the apply replaces the machine.")
}

func (r *machineResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan machineResourceModel
	getModel(ctx, req.Plan, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	setIdentity(ctx, resp.Identity, plan.ID.ValueString(), &resp.Diagnostics)
	started := time.Now()
	timeout, d := plan.Timeouts.Update(ctx, defaultMachineUpdateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	objs, d := capiobj.ExpandMachine(ctx, plan.MachineModel)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	cl, err := r.data.kube.Writer(ctx)
	if err == nil {
		err = r.data.engine.start(ctx, objs.Machine.Namespace, objs.Machine.Spec.ClusterName)
	}
	if err == nil {
		err = applyAll(ctx, r.data.kube, cl, machineObjectsInOrder(objs), true)
	}
	if err == nil {
		err = removeDropped(ctx, cl, objs.Machine, map[string][]string{
			"metadata.labels":      droppedKeys(ctx, req.State, req.Plan, "labels"),
			"metadata.annotations": droppedKeys(ctx, req.State, req.Plan, "annotations"),
		})
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot update Machine "+plan.ID.ValueString(), err.Error())
		return
	}
	// Only a machine whose last wait did not finish is waited for: its
	// spec cannot change in place, so nothing else is in progress.
	if waitPending(ctx, req.Private, &resp.Diagnostics) {
		pending := r.wait(ctx, &plan, cl, timeout, started, false, &resp.Diagnostics)
		resp.Diagnostics.Append(setPendingWait(ctx, resp.Private, pending)...)
	}
	waitNodeLabels(ctx, cl, objs.Machine, &resp.Diagnostics)
	r.readInto(ctx, &plan, cl, &resp.Diagnostics)
	setState(ctx, &resp.State, &plan, &resp.Diagnostics)
	keepPlannedObserved(ctx, req.Plan, &resp.State, &resp.Diagnostics, "provider_id", "phase", "conditions", "node_ready")
}

func (r *machineResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state machineResourceModel
	getModel(ctx, req.State, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, defaultMachineDeleteTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	id := state.ID.ValueString()
	namespace, name, err := capiobj.ParseNamespacedID(id)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid ID", err.Error())
		return
	}
	m := &clusterv1.Machine{}
	m.Namespace, m.Name = namespace, name
	// What the Machine references, read first: Cluster API deletes them
	// with it only once it has owned them, which needs the cluster.
	reader, err := r.data.kube.Reader()
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete Machine "+id, err.Error())
		return
	}
	refs, err := readMachineObjects(ctx, reader, id)
	if err != nil && !kube.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot delete Machine "+id, err.Error())
		return
	}
	cl := deleteWithEngine(ctx, r.data, state.Cluster.ValueString(), "Machine", timeout, &clusterv1.MachineList{}, &resp.Diagnostics, m)
	if cl == nil {
		return
	}
	left := map[string]client.Object{}
	if refs.Infrastructure != nil {
		left[kindOf(refs.Infrastructure)] = refs.Infrastructure
	}
	if refs.KubeadmConfig != nil {
		left["KubeadmConfig"] = refs.KubeadmConfig
	}
	for kind, obj := range left {
		if err := cl.Delete(ctx, obj); err != nil && !kube.IsNotFound(err) {
			resp.Diagnostics.AddWarning("Left over of Machine "+id, fmt.Sprintf("Deleting %s %s: %s", kind, obj.GetName(), err))
		}
	}
	secret := &corev1.Secret{}
	secret.Namespace, secret.Name = namespace, capiobj.BootstrapSecretName(name)
	if err := cl.Delete(ctx, secret); err != nil && !kube.IsNotFound(err) {
		resp.Diagnostics.AddWarning("Bootstrap secret left", err.Error())
	}
}

func (r *machineResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := importByNamespacedName(ctx, req, resp)
	if resp.Diagnostics.HasError() || r.data == nil {
		return
	}
	namespace, name, _ := capiobj.ParseNamespacedID(id)
	cl, err := r.data.kube.Reader()
	if err != nil {
		resp.Diagnostics.AddError("Cannot import Machine "+id, err.Error())
		return
	}
	m := &clusterv1.Machine{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, m); err != nil {
		// A Machine that does not exist is the refresh's to report.
		if !kube.IsNotFound(err) {
			resp.Diagnostics.AddError("Cannot import Machine "+id, err.Error())
		}
		return
	}
	if owner := metav1.GetControllerOf(m); owner != nil {
		resp.Diagnostics.AddError("Machine "+id+" belongs to "+owner.Kind+" "+owner.Name, ownedMachineImport(m, owner))
	}
}

// waitNodeLabels waits until the labels Cluster API syncs from the
// machine to its node are there, when it has a node: a label changed in
// place reaches the node a reconcile after the Machine. A workload cluster
// out of reach is a warning, not a failure: the Machine has its labels.
func waitNodeLabels(ctx context.Context, cl client.Reader, want *clusterv1.Machine, diags *diag.Diagnostics) {
	var missing string
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		m := &clusterv1.Machine{}
		if err := cl.Get(ctx, client.ObjectKeyFromObject(want), m); err != nil {
			return kube.IsNotFound(err), client.IgnoreNotFound(err)
		}
		var err error
		missing, err = unsyncedNodeLabel(ctx, cl, m.Namespace, m.Spec.ClusterName, []clusterv1.Machine{*m}, want.Labels)
		return err == nil && missing == "", err
	})
	if err != nil {
		diags.AddWarning("Machine "+want.Namespace+"/"+want.Name+": node labels not confirmed",
			"The Machine has its labels, but their copy on the node could not be confirmed ("+missing+"): "+err.Error())
	}
}

// ownedMachineImport says why a Machine that a MachineSet or a control
// plane owns is not a capi_machine, and what to import instead.
func ownedMachineImport(m *clusterv1.Machine, owner *metav1.OwnerReference) string {
	instead := "its owner"
	switch owner.Kind {
	case "MachineSet":
		if md := m.Labels[clusterv1.MachineDeploymentNameLabel]; md != "" {
			instead = fmt.Sprintf("MachineDeployment %s/%s as capi_machine_deployment", m.Namespace, md)
		}
	case "KubeadmControlPlane":
		instead = fmt.Sprintf("Cluster %s/%s as capi_cluster (its control_plane)", m.Namespace, m.Spec.ClusterName)
	}
	return fmt.Sprintf("Machine %s/%s is one of %s %s's machines: its owner makes, replaces and deletes it, so a capi_machine of it would "+
		"fight the owner, and destroying it would delete it behind the owner's back. Import %s instead.", m.Namespace, m.Name, owner.Kind, owner.Name, instead)
}

// wait blocks until the machine reaches its wait target, and says whether
// the wait is still pending (see reportWait).
func (r *machineResource) wait(ctx context.Context, m *machineResourceModel, cl client.WithWatch, timeout time.Duration, since time.Time, creating bool, diags *diag.Diagnostics) bool {
	if diags.HasError() {
		return false
	}
	namespace, name, _ := capiobj.ParseNamespacedID(m.ID.ValueString())
	obj := &clusterv1.Machine{}
	obj.Namespace, obj.Name = namespace, name
	target := m.WaitFor.ValueString()
	err := waitRechecking(ctx, cl, obj, &clusterv1.MachineList{}, "Machine", func() (bool, string, error) {
		done := ptr.Deref(obj.Status.Initialization.InfrastructureProvisioned, false)
		if target != waitMachineProvisioned {
			// Cluster API reports NodeReady a moment before it records the
			// node reference and the Running phase: wait for all of it.
			done = obj.Status.NodeRef.IsDefined() && conditions.IsTrue(obj, clusterv1.MachineNodeReadyCondition)
		}
		if done {
			return true, "phase " + obj.Status.Phase, nil
		}
		return false, "phase " + obj.Status.Phase, machineInfrastructureFailure(ctx, cl, since, obj)
	})
	hint := fmt.Sprintf("See `kubectl describe machine -n %s %s`.", namespace, name)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		hint = strings.TrimSpace(machineProblems(ctx, cl, namespace, client.MatchingLabels{clusterv1.ClusterNameLabel: obj.Spec.ClusterName})+" "+hint) +
			" To wait longer, raise timeouts."
	}
	if err == nil {
		settleCluster(ctx, cl, namespace, obj.Spec.ClusterName)
	}
	return reportWait(err, creating, waitReport{kind: "Machine", id: m.ID.ValueString(), target: target, timeout: timeout, hint: hint}, diags)
}

func (r *machineResource) readInto(ctx context.Context, m *machineResourceModel, cl client.Reader, diags *diag.Diagnostics) {
	ctx, cancel := afterWait(ctx)
	defer cancel()
	objs, err := readMachineObjects(ctx, cl, m.ID.ValueString())
	if err != nil {
		diags.AddError("Cannot read Machine "+m.ID.ValueString()+" after writing it", err.Error())
		return
	}
	flat, d := capiobj.FlattenMachine(ctx, objs, &m.MachineModel)
	diags.Append(d...)
	m.MachineModel = flat
}

// clusterCheck is what a machine asks of its cluster: a machine is always
// new (its spec is immutable).
func (m machineResourceModel) clusterCheck() machinesPlan {
	p := machinesPlan{kind: "Machine", cloud: m.Infrastructure.Cloud, namespace: m.Namespace, cluster: m.Cluster, version: m.Version, zone: types.StringNull(), makesMachines: true}
	if cloud := m.Infrastructure.Cloud; cloud != nil && cloud.FailureDomainAttribute() != "" && !m.Infrastructure.Block.IsUnknown() {
		p.zonePath = path.Root(cloud.Name()).AtName(cloud.FailureDomainAttribute())
		if zone, ok := m.Infrastructure.Block.Attributes()[cloud.FailureDomainAttribute()].(types.String); ok {
			p.zone = zone
		}
	}
	return p
}

// readMachineObjects reads a Machine with its InfraMachine and, for a
// user-supplied script, its bootstrap Secret.
func readMachineObjects(ctx context.Context, cl client.Reader, id string) (capiobj.MachineObjects, error) {
	namespace, name, err := capiobj.ParseNamespacedID(id)
	if err != nil {
		return capiobj.MachineObjects{}, err
	}
	objs := capiobj.MachineObjects{Machine: &clusterv1.Machine{}}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, objs.Machine); err != nil {
		return objs, err
	}
	m := objs.Machine
	ref := m.Spec.InfrastructureRef
	if cloud, ok := registry.ForMachineKind(ref.APIGroup, ref.Kind); ok {
		objs.Cloud = cloud
		a := cloud.Kinds().NewMachine()
		if err := get(ctx, cl, client.ObjectKey{Namespace: namespace, Name: ref.Name}, a); err != nil {
			return objs, err
		} else if a.GetName() != "" {
			objs.Infrastructure = a
		}
	}
	if ref := m.Spec.Bootstrap.ConfigRef; ref.Kind == "KubeadmConfig" && ref.APIGroup == bootstrapv1.GroupVersion.Group {
		k := &bootstrapv1.KubeadmConfig{}
		if err := get(ctx, cl, client.ObjectKey{Namespace: namespace, Name: ref.Name}, k); err != nil {
			return objs, err
		} else if k.Name != "" {
			objs.KubeadmConfig = k
		}
	}
	if !m.Spec.Bootstrap.ConfigRef.IsDefined() && ptr.Deref(m.Spec.Bootstrap.DataSecretName, "") == capiobj.BootstrapSecretName(name) {
		s := &corev1.Secret{}
		if err := get(ctx, cl, client.ObjectKey{Namespace: namespace, Name: capiobj.BootstrapSecretName(name)}, s); err != nil {
			return objs, err
		} else if s.Name != "" {
			objs.BootstrapSecret = s
		}
	}
	return objs, nil
}

// ConfigValidators: a kubeadm machine needs its Kubernetes version (CABPK
// renders the join for it), and each cloud checks its block.
func (r *machineResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	validators := []resource.ConfigValidator{machineVersionValidator{}, positiveTimeouts{}, resourcevalidator.ExactlyOneOf(cloudBlockPaths()...)}
	for _, cloud := range registry.All() {
		validators = append(validators, cloud.MachineValidators()...)
	}
	return validators
}

type machineVersionValidator struct{}

func (machineVersionValidator) Description(context.Context) string {
	return "version is required with kubeadm"
}

func (v machineVersionValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (machineVersionValidator) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var version, script types.String
	for p, v := range map[string]*types.String{"version": &version, "bootstrap_script": &script} {
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(p), v)...)
	}
	if resp.Diagnostics.HasError() || !version.IsNull() || version.IsUnknown() {
		return
	}
	if script.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("version"), "Missing version",
			"Attribute version is required for a machine that joins with kubeadm (no bootstrap_script): Cluster API's kubeadm "+
				"bootstrap renders the join for that version, and the image is looked up by it.")
	}
}
