package provider

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apitypes "k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
)

// creatingAnnotation marks the main object of a create (the Cluster, the
// MachineDeployment, the Machine) until Terraform has been handed it: an
// object with the mark belongs to no state yet, so the next apply that
// declares it resumes it, which is how a create interrupted by a crash or a
// cancelled run carries on. Once Create returns a state, the mark goes, and
// from then on the object belongs to that state alone: another
// configuration that declares it is refused and told to import it.
const creatingAnnotation = "terraform-capi.io/creating"

// createFailedAnnotation marks the main object of a create that returned
// an error: Terraform holds it in a state, tainted, and its next plan
// creates it anew (with no prior state), so that plan must not refuse it.
// The apply deletes it before creating it again.
const createFailedAnnotation = "terraform-capi.io/create-failed"

// createdUIDAnnotation records the UID an object had when this provider
// created it. Copies keep it: clusterctl move and backup restores recreate
// objects with their metadata but new UIDs. The state that recorded that
// UID then follows the copy, rather than taking it for another object of
// the same name.
const createdUIDAnnotation = "terraform-capi.io/created-uid"

// inFlight records the objects that the resources of one Terraform command
// create, so that two resources of one configuration that declare the same
// object are told so instead of writing over each other. It lives as long
// as the provider's configuration: one command.
type inFlight struct {
	mu      sync.Mutex
	objects map[string]bool
}

// claim records key for a create, and says false if another resource of
// the configuration has already claimed it.
func (f *inFlight) claim(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.objects == nil {
		f.objects = map[string]bool{}
	}
	if f.objects[key] {
		return false
	}
	f.objects[key] = true
	return true
}

// startCreate decides whether Create may write want, of kind (Cluster,
// MachineDeployment, Machine), and marks it as being created. Nothing that
// exists is written over unless it is an interrupted create of this
// provider: an object someone else made, or one that another state holds
// (this provider made it and its create returned), is an error that says
// how to import it. It returns false with the error in diags.
func startCreate(ctx context.Context, data *providerData, cl client.Client, want client.Object, kind string, diags *diag.Diagnostics) bool {
	id := want.GetNamespace() + "/" + want.GetName()
	if !data.creating.claim(kind + "/" + id) {
		diags.AddError(kind+" "+id+" is declared twice",
			fmt.Sprintf("Another resource of this configuration creates %s %s too. Each object can be declared by one resource only: "+
				"give one of them another name or namespace.", kind, id))
		return false
	}
	found := want.DeepCopyObject().(client.Object)
	err := cl.Get(ctx, client.ObjectKeyFromObject(want), found)
	switch {
	case kube.IsNotFound(err):
	case err != nil:
		diags.AddError("Cannot create "+kind+" "+id, err.Error())
		return false
	default:
		if summary, detail := takenBy(found, kind); summary != "" {
			diags.AddError(summary, detail)
			return false
		}
		diags.AddWarning("Resuming "+kind+" "+id,
			fmt.Sprintf("An earlier apply started creating %s %s (UID %s, at %s) and ended before Terraform saved it in a state; this apply "+
				"takes it over and carries on.", kind, id, found.GetUID(), found.GetAnnotations()[creatingAnnotation]))
		tflog.Info(ctx, "resuming an interrupted create", map[string]any{"kind": kind, "id": id, "uid": string(found.GetUID())})
	}
	annotations := want.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[creatingAnnotation] = time.Now().UTC().Format(time.RFC3339)
	want.SetAnnotations(annotations)
	return true
}

// takenBy says why an existing object cannot be created again: made
// outside Terraform, held by another state, or being deleted. Empty when
// it is an interrupted create of this provider, which may be resumed.
func takenBy(found client.Object, kind string) (summary, detail string) {
	id := found.GetNamespace() + "/" + found.GetName()
	switch {
	case !found.GetDeletionTimestamp().IsZero():
		return kind + " " + id + " is being deleted",
			fmt.Sprintf("An earlier %s %s is still being deleted (its finalizers run in Cluster API's reconcilers). Apply again once it is gone.", kind, id)
	case !appliedByProvider(found):
		return kind + " " + id + " already exists",
			fmt.Sprintf("A %s named %s already exists in the management cluster, made outside Terraform. Import it to manage it with "+
				"Terraform: terraform import <address> %s (or an import block with id = %q).", kind, id, id, id)
	case found.GetAnnotations()[creatingAnnotation] == "":
		return kind + " " + id + " already exists in another Terraform state",
			fmt.Sprintf("%s %s (UID %s) was created by terraform-provider-capi for another configuration or state, which manages it. "+
				"Nothing was changed. To manage it from this configuration instead, remove it from the other state "+
				"(terraform state rm <address>) and import it here: terraform import <address> %s. Otherwise give this one another name or namespace.",
				kind, id, found.GetUID(), id)
	}
	return "", ""
}

// checkCreateAtPlan errors in the plan of a create whose object exists and
// may not be taken over (see takenBy). A management cluster that cannot be
// read leaves it to the apply.
func checkCreateAtPlan(ctx context.Context, data *providerData, empty client.Object, kind string, diags *diag.Diagnostics) {
	if data == nil || empty.GetName() == "" {
		return
	}
	cl, err := data.kube.Reader()
	if err == nil {
		err = cl.Get(ctx, client.ObjectKeyFromObject(empty), empty)
	}
	if err != nil {
		if !kube.IsNotFound(err) && !meta.IsNoMatchError(err) {
			tflog.Warn(ctx, "cannot read the management cluster at plan time; the create is checked at apply", map[string]any{"error": err.Error()})
		}
		return
	}
	if empty.GetAnnotations()[createFailedAnnotation] != "" && empty.GetAnnotations()[creatingAnnotation] == "" && appliedByProvider(empty) {
		// Most likely this configuration's tainted resource, which the apply
		// replaces; another configuration's create is refused at apply.
		return
	}
	if summary, detail := takenBy(empty, kind); summary != "" {
		diags.AddAttributeError(path.Root("name"), summary, detail)
	}
}

// finishCreate removes the creating mark from obj, as Create hands the
// object to Terraform, and records its UID (createdUIDAnnotation); a
// create that failed (diags has an error: Terraform taints it) gets the
// create-failed mark too. It gets time of its own: a create that timed out
// still hands over its objects. A mark left behind (the management cluster
// unreachable) goes with the next update, which applies without it.
func finishCreate(ctx context.Context, cl client.Client, obj client.Object, kind string, diags *diag.Diagnostics) {
	failed := "null"
	if diags.HasError() {
		failed = `"` + time.Now().UTC().Format(time.RFC3339) + `"`
	}
	ctx, cancel := afterWait(ctx)
	defer cancel()
	createdUID := "null"
	if uid := obj.GetUID(); uid != "" {
		createdUID = `"` + string(uid) + `"`
	}
	patch := client.RawPatch(apitypes.MergePatchType, []byte(`{"metadata":{"annotations":{"`+creatingAnnotation+`":null,"`+
		createFailedAnnotation+`":`+failed+`,"`+createdUIDAnnotation+`":`+createdUID+`}}}`))
	target := obj.DeepCopyObject().(client.Object)
	if err := cl.Patch(ctx, target, patch, client.FieldOwner(kube.FieldManager)); err != nil && !kube.IsNotFound(err) {
		diags.AddWarning(kind+" "+obj.GetNamespace()+"/"+obj.GetName()+" still marked as being created",
			"Removing the mark "+creatingAnnotation+" failed: "+err.Error()+". The next apply of this configuration removes it; until then "+
				"another configuration declaring the same object would take it over.")
	}
}

// appliedByProvider says whether this provider has server-side applied
// obj: its field manager owns some of its fields.
func appliedByProvider(obj client.Object) bool {
	for _, f := range obj.GetManagedFields() {
		if f.Manager == kube.FieldManager && f.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// replacedOutOfBand says whether the object read is not the one the state
// recorded: same name, another UID (deleted and made again, by another
// configuration or by hand), and no copy of the recorded one (see
// copiedFrom).
func replacedOutOfBand(stateUID types.String, obj metav1.Object) bool {
	return uidChanged(stateUID, obj) && !copiedFrom(stateUID, obj)
}

func uidChanged(stateUID types.String, obj metav1.Object) bool {
	return !stateUID.IsNull() && !stateUID.IsUnknown() && stateUID.ValueString() != "" && stateUID.ValueString() != string(obj.GetUID())
}

// copiedFrom says whether obj is a copy of the object of the state's UID,
// as clusterctl move makes in another management cluster: it carries the
// UID this provider recorded when it created the original.
func copiedFrom(stateUID types.String, obj metav1.Object) bool {
	return uidChanged(stateUID, obj) && obj.GetAnnotations()[createdUIDAnnotation] == stateUID.ValueString()
}

// declarations records the objects that the plans of one Terraform command
// declare.
type declarations struct {
	mu      sync.Mutex
	objects map[string]*declaration
	// clusters holds what the plans of capi_clusters say, by namespace/name.
	clusters map[string]plannedCluster
}

type declaration struct {
	// existing says the first plan had a prior state; replanned, that the
	// plan without one that follows a replacement came.
	existing, replanned bool
}

// declare records key, and says false if another resource declared it,
// and whether this is the plan of a replacement.
// A resource that is replaced is planned twice, with its prior state and
// then without (Terraform plans the create of the replacement anew): the
// second plan is its own, not another resource's.
func (d *declarations) declare(key string, existing bool) (ok, replanned bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.objects == nil {
		d.objects = map[string]*declaration{}
	}
	first, ok := d.objects[key]
	switch {
	case !ok:
		d.objects[key] = &declaration{existing: existing}
		return true, false
	case first.existing && !existing && !first.replanned:
		first.replanned = true
		return true, true
	default:
		return false, false
	}
}

// planDeclares records that a plan declares kind namespace/name, and is an
// error when another resource of the configuration declared it first: two
// resources would write one object. Unknown names (known only at apply)
// are left to Create. It says whether this is the plan of a replacement's
// create, whose object exists until the apply deletes it.
func planDeclares(ctx context.Context, data *providerData, state tfsdk.State, plan tfsdk.Plan, kind string, diags *diag.Diagnostics) (replacing bool) {
	if data == nil || plan.Raw.IsNull() {
		return false
	}
	var namespace, name types.String
	diags.Append(plan.GetAttribute(ctx, path.Root("namespace"), &namespace)...)
	diags.Append(plan.GetAttribute(ctx, path.Root("name"), &name)...)
	if diags.HasError() || !tfconv.IsKnown(namespace) || !tfconv.IsKnown(name) {
		return false
	}
	id := namespace.ValueString() + "/" + name.ValueString()
	ok, replacing := data.planned.declare(kind+"/"+id, !state.Raw.IsNull())
	if !ok {
		diags.AddAttributeError(path.Root("name"), kind+" "+id+" is declared twice",
			fmt.Sprintf("Another resource of this configuration declares %s %s too; both would write the same object. "+
				"Give one of them another name or namespace.", kind, id))
	}
	return replacing
}

// checkRenameAtPlan is checkCreateAtPlan for a resource whose name or
// namespace changes: Terraform deletes the old object before it creates
// the new one, so a new name that another state holds must fail the plan,
// not the apply after the delete. empty is an empty object of the kind.
func checkRenameAtPlan(ctx context.Context, data *providerData, state tfsdk.State, plan tfsdk.Plan, empty client.Object, kind string, diags *diag.Diagnostics) {
	if state.Raw.IsNull() || plan.Raw.IsNull() {
		return
	}
	var oldNamespace, oldName, namespace, name types.String
	diags.Append(state.GetAttribute(ctx, path.Root("namespace"), &oldNamespace)...)
	diags.Append(state.GetAttribute(ctx, path.Root("name"), &oldName)...)
	diags.Append(plan.GetAttribute(ctx, path.Root("namespace"), &namespace)...)
	diags.Append(plan.GetAttribute(ctx, path.Root("name"), &name)...)
	if diags.HasError() || !tfconv.IsKnown(namespace) || !tfconv.IsKnown(name) || (namespace.Equal(oldNamespace) && name.Equal(oldName)) {
		return
	}
	empty.SetNamespace(namespace.ValueString())
	empty.SetName(name.ValueString())
	checkCreateAtPlan(ctx, data, empty, kind, diags)
}
