package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
)

// readFailed reports a failed read of a resource's objects. An object gone
// out of band removes the resource from the state with a warning, so that
// the next plan creates it again, as terraform-provider-aws does.
func readFailed(ctx context.Context, kind, id string, err error, resp *resource.ReadResponse) {
	if kube.IsNotFound(err) {
		resp.Diagnostics.AddWarning(kind+" "+id+" not found",
			"The "+kind+" no longer exists in the management cluster; it is removed from the state and the next apply creates it again.")
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.AddError("Cannot read "+kind+" "+id, err.Error())
}

// privateGetter and privateSetter are the private state of read requests
// and responses.
type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// followsImport says whether this Read is the first after an import, and
// clears the mark: that Read takes every user label and annotation from the
// objects, later ones only the keys the configuration has.
func followsImport(ctx context.Context, from privateGetter, to privateSetter, diags *diag.Diagnostics) bool {
	imported, d := from.GetKey(ctx, importedKey)
	diags.Append(d...)
	if imported == nil {
		return false
	}
	diags.Append(to.SetKey(ctx, importedKey, nil)...)
	return true
}

// importByNamespacedName imports a resource whose ID is namespace/name,
// named by ID or by identity, and returns that ID ("" on error).
func importByNamespacedName(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) string {
	id := importID(ctx, req, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return ""
	}
	namespace, name, err := capiobj.ParseNamespacedID(id)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import ID", err.Error())
		return ""
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), namespace)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	setIdentity(ctx, resp.Identity, id, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, importedKey, []byte(`true`))...)
	return id
}

// deleteWithEngine deletes objs in order, with the engine running for the
// cluster (drain and the instances' termination run in the reconcilers),
// and waits until the last of them, a kind, is gone; list is an empty list
// of that kind. Objects already gone are fine. It returns the client for
// any clean-up after, or nil with the error in diags.
func deleteWithEngine(ctx context.Context, data *providerData, cluster, kind string, timeout time.Duration, list client.ObjectList, diags *diag.Diagnostics, objs ...client.Object) client.Client {
	last := objs[len(objs)-1]
	id := capiobj.NamespacedID(last.GetNamespace(), last.GetName())
	cl, err := data.kube.Writer(ctx)
	if err == nil {
		err = data.engine.start(ctx, last.GetNamespace(), cluster)
	}
	if err != nil {
		diags.AddError("Cannot delete "+kind+" "+id, err.Error())
		return nil
	}
	tflog.Info(ctx, "deleting "+kind, map[string]any{"id": id})
	for _, obj := range objs {
		if err := cl.Delete(ctx, obj); err != nil && !kube.IsNotFound(err) {
			diags.AddError("Cannot delete "+kind+" "+id, err.Error())
			return nil
		}
	}
	if err := kube.WaitForDeletion(ctx, cl, last, list); err != nil {
		diags.AddError(kind+" "+id+" was not deleted in time",
			fmt.Sprintf("Waited %s: %s. Check `kubectl describe %s -n %s %s`, then run destroy again.",
				timeout, err, strings.ToLower(kind), last.GetNamespace(), last.GetName()))
		return nil
	}
	return cl
}

// afterWait is the context of what follows a write and its wait (the
// read that records the state, the removal of the creating mark): its own
// time, since the wait's may be spent, and the state must still say what
// exists.
func afterWait(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// recheckEvery bounds how long a wait trusts watch events alone: the
// workload cluster's nodes are read, not watched.
const recheckEvery = 5 * time.Second

// waitRechecking waits for cond on obj as kube.WaitFor does, and also
// re-checks it every few seconds: cond may read what no watch reports (a
// workload cluster's nodes, the infrastructure's conditions). Progress
// goes to the log when it changes; cond's error ends the wait.
func waitRechecking(ctx context.Context, cl client.WithWatch, obj client.Object, list client.ObjectList, kind string, cond func() (bool, string, error)) error {
	last := ""
	for {
		watchCtx, cancel := context.WithTimeout(ctx, recheckEvery)
		err := kube.WaitFor(watchCtx, cl, obj, list, func() (bool, error) {
			done, progress, err := cond()
			if progress != last {
				tflog.Info(ctx, "waiting for "+kind, map[string]any{"id": obj.GetNamespace() + "/" + obj.GetName(), "progress": progress})
				last = progress
			}
			return done, err
		})
		cancel()
		var failure *permanentFailure
		switch {
		case err == nil:
			return nil
		case errors.As(err, &failure):
			return err
		case ctx.Err() != nil:
			return fmt.Errorf("%w (last seen: %s)", ctx.Err(), last)
		case watchCtx.Err() == nil:
			return err
		}
	}
}

// machineProblems says what holds up the machines selected by labels:
// each machine's conditions that are not true and carry a message (the
// infrastructure's, such as an image that does not exist, come through
// InfrastructureReady). Empty when there is nothing to say. It runs after
// a wait has timed out, so it gets a few seconds of its own.
func machineProblems(ctx context.Context, cl client.Reader, namespace string, labels client.MatchingLabels) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var machines clusterv1.MachineList
	if err := cl.List(ctx, &machines, client.InNamespace(namespace), labels); err != nil {
		return ""
	}
	var problems []string
	for _, m := range machines.Items {
		for _, c := range m.Status.Conditions {
			switch c.Type {
			case clusterv1.MachineInfrastructureReadyCondition, clusterv1.MachineBootstrapConfigReadyCondition, clusterv1.MachineNodeReadyCondition:
				if c.Status != metav1.ConditionTrue && c.Message != "" {
					problems = append(problems, fmt.Sprintf("Machine %s: %s: %s", m.Name, c.Type, strings.TrimSpace(c.Message)))
				}
			}
		}
	}
	if len(problems) == 0 {
		return ""
	}
	sort.Strings(problems)
	return " What the machines report: " + strings.Join(problems, "; ") + "."
}

// replacedFromState removes a resource from the state when the object of
// its name is not the one it recorded (another UID): that one is gone, and
// the object now there belongs to someone else, so the next plan creates
// the resource again and its create is refused rather than taking the
// other object over. It says whether it did.
func replacedFromState(ctx context.Context, kind, id string, stateUID types.String, obj metav1.Object, resp *resource.ReadResponse) bool {
	if copiedFrom(stateUID, obj) {
		// The refresh records the copy's UID: the state follows it.
		tflog.Info(ctx, "the object is a copy of the one in the state (clusterctl move, a restore): the state follows it",
			map[string]any{"kind": kind, "id": id, "recorded_uid": stateUID.ValueString(), "uid": string(obj.GetUID())})
		noteDeleting(ctx, kind, id, obj, resp)
		return false
	}
	if !replacedOutOfBand(stateUID, obj) {
		noteDeleting(ctx, kind, id, obj, resp)
		return false
	}
	resp.Diagnostics.AddWarning(kind+" "+id+" was replaced outside this configuration",
		fmt.Sprintf("The %s recorded in the state (UID %s) is gone, and another object of the same name (UID %s) took its place. "+
			"It is removed from the state; the next apply would create it again and is refused while the other one exists. "+
			"If the object now there is the same cluster's, moved into this management cluster (clusterctl move gives every object a new UID), "+
			"take it over with an import block (or terraform import) of ID %q.",
			kind, stateUID.ValueString(), obj.GetUID(), id))
	resp.State.RemoveResource(ctx)
	return true
}

// deletingKey marks, in private state, a resource whose object someone
// deleted outside Terraform (kubectl delete) and whose finalizers have not
// finished: without a reconciler running, the object stays so, and the
// plan would show nothing.
const deletingKey = "deleting_out_of_band"

// noteDeleting records in the refreshed private state whether obj is
// being deleted, with a warning that the next apply replaces it. Kept in
// the state, it is still destroyed by a destroy, which waits for its
// deletion to finish; dropped from it, nothing would ever finish it.
func noteDeleting(ctx context.Context, kind, id string, obj metav1.Object, resp *resource.ReadResponse) {
	if obj.GetDeletionTimestamp().IsZero() {
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, deletingKey, nil)...)
		return
	}
	resp.Diagnostics.AddWarning(kind+" "+id+" is being deleted outside Terraform",
		fmt.Sprintf("%s %s (UID %s) was deleted in the management cluster at %s, outside this configuration. The next apply replaces it: "+
			"it lets Cluster API finish the deletion, then creates it again as configured.", kind, id, obj.GetUID(), obj.GetDeletionTimestamp().UTC().Format(time.RFC3339)))
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, deletingKey, []byte(`true`))...)
}

// planReplaceDeleting plans the replacement of a resource whose object is
// being deleted outside Terraform (see noteDeleting): its UID becomes
// unknown, and a new UID requires a replacement.
func planReplaceDeleting(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	v, d := req.Private.GetKey(ctx, deletingKey)
	resp.Diagnostics.Append(d...)
	if len(v) == 0 {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("uid"), types.StringUnknown())...)
	resp.RequiresReplace = append(resp.RequiresReplace, path.Root("uid"))
}
