package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
)

// pendingWaitKey marks, in private state, a resource whose last create or
// update did not see its wait through: the next plan shows an update, and
// that apply waits again.
const pendingWaitKey = "pending_wait"

// permanentFailure is what a reconciler reports when no retry can help (an
// image that does not exist, a zone the region lacks): the configuration
// or the account has to change. Waits end with it at once.
type permanentFailure struct {
	problems []string
}

func (f *permanentFailure) Error() string { return strings.Join(f.problems, "; ") }

// infrastructureFailure returns a permanentFailure for the conditions that
// the InfraCluster of cluster (none when nil) and the InfraMachines of the
// Machines in namespace selected by machines report, or nil. Only conditions that
// turned so since the wait began count: an earlier failure (the machines
// of the image this apply replaces, say) is what the apply may be fixing.
func infrastructureFailure(ctx context.Context, cl client.Reader, since time.Time, namespace string, cluster *clusterv1.Cluster, machines client.MatchingLabels) error {
	var problems []string
	if cluster == nil {
		// No InfraCluster to check.
	} else if cloud := cloudOfCluster(cluster); cloud != nil {
		c := cloud.Kinds().NewCluster()
		key := client.ObjectKey{Namespace: cluster.Namespace, Name: cluster.Spec.InfrastructureRef.Name}
		if err := get(ctx, cl, key, c); err == nil && c.GetName() != "" {
			problems = append(problems, permanentConditions(cloud, cloud.Kinds().Cluster+" "+c.GetName(), infrastructure.Conditions(c), since)...)
		}
	}
	if machines != nil {
		var list clusterv1.MachineList
		if err := cl.List(ctx, &list, client.InNamespace(namespace), machines); err == nil {
			for i := range list.Items {
				problems = append(problems, machineInfrastructureProblems(ctx, cl, since, &list.Items[i])...)
			}
		}
	}
	return asFailure(problems)
}

// machineInfrastructureFailure is infrastructureFailure for one Machine.
func machineInfrastructureFailure(ctx context.Context, cl client.Reader, since time.Time, m *clusterv1.Machine) error {
	return asFailure(machineInfrastructureProblems(ctx, cl, since, m))
}

func asFailure(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return &permanentFailure{problems: problems}
}

// machineInfrastructureProblems lists the permanent failures that a
// Machine's InfraMachine reports.
func machineInfrastructureProblems(ctx context.Context, cl client.Reader, since time.Time, m *clusterv1.Machine) []string {
	ref := m.Spec.InfrastructureRef
	cloud, ok := registry.ForMachineKind(ref.APIGroup, ref.Kind)
	if !ok || !m.DeletionTimestamp.IsZero() {
		return nil
	}
	im := cloud.Kinds().NewMachine()
	if err := get(ctx, cl, client.ObjectKey{Namespace: m.Namespace, Name: ref.Name}, im); err != nil || im.GetName() == "" {
		return nil
	}
	return permanentConditions(cloud, ref.Kind+" "+im.GetName()+" (Machine "+m.Name+")", infrastructure.Conditions(im), since)
}

// permanentConditions lists the conditions that report a permanent
// failure, once per message (Ready repeats the specific condition).
func permanentConditions(cloud infrastructure.Infrastructure, object string, conds []metav1.Condition, since time.Time) []string {
	seen := map[string]bool{}
	var out []string
	// Condition times have whole seconds.
	since = since.Truncate(time.Second)
	for _, c := range conds {
		if c.Status == metav1.ConditionTrue || !cloud.IsPermanentFailure(c.Reason) || seen[c.Message] || c.LastTransitionTime.Time.Before(since) {
			continue
		}
		seen[c.Message] = true
		out = append(out, fmt.Sprintf("%s: %s: %s", object, c.Reason, strings.TrimSpace(c.Message)))
	}
	return out
}

// waitReport is what a resource says about a wait that ended in err.
type waitReport struct {
	kind, id, target string
	timeout          time.Duration
	// hint says where to look (kubectl, clusterctl) and, for a timeout,
	// what the machines report.
	hint string
}

// reportWait turns the error of a create's or an update's wait into
// diagnostics, and says whether the wait is still pending (to be done
// again by the next apply).
//
// A permanent failure is an error at once. A create that runs out of time
// is a warning, not an error: Terraform taints a resource whose create
// fails and replaces it at the next apply, which for a cluster on a slow
// cloud is the worst outcome. Its objects are saved in the state as they
// are, and the next plan shows an update that waits again. An update that
// runs out of time is an error; its resource stays in the state untainted
// either way.
func reportWait(err error, creating bool, w waitReport, diags *diag.Diagnostics) bool {
	if err == nil {
		return false
	}
	var failure *permanentFailure
	if errors.As(err, &failure) {
		detail := fmt.Sprintf("Cluster API's reconcilers report an error that retrying cannot fix: %s. Change the configuration (or the "+
			"cloud account) and apply again.", failure)
		if creating {
			detail += fmt.Sprintf(" Terraform marks the new %s tainted, so the next apply replaces it.", w.kind)
			if w.kind != "Machine" {
				detail += " To change it in place instead, run `terraform untaint <address>` first."
			}
		}
		diags.AddError(fmt.Sprintf("%s %s failed", w.kind, w.id), detail+" "+w.hint)
		return true
	}
	summary := fmt.Sprintf("%s %s not %s in time", w.kind, w.id, w.target)
	// A create cut short (its timeout, or Terraform stopping the provider on
	// an interrupt) keeps its objects: an error would taint them.
	if creating && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		diags.AddWarning(summary, fmt.Sprintf("Waited %s: %s. The %s exists and is saved in the state (not tainted, so it is not replaced): "+
			"its reconcilers run again at the next apply, which shows it as an update and waits for %s again. %s",
			w.timeout, err, w.kind, w.target, w.hint))
		return true
	}
	diags.AddError(summary, fmt.Sprintf("Waited %s: %s. The %s is saved in the state as it is: the next plan shows an update, and "+
		"that apply waits for %s again. %s", w.timeout, err, w.kind, w.target, w.hint))
	return true
}

// setPendingWait records in private state whether the wait is pending.
func setPendingWait(ctx context.Context, private privateSetter, pending bool) diag.Diagnostics {
	if pending {
		return private.SetKey(ctx, pendingWaitKey, []byte(`true`))
	}
	return private.SetKey(ctx, pendingWaitKey, nil)
}

// waitPending says whether the resource's last wait did not finish.
func waitPending(ctx context.Context, private privateGetter, diags *diag.Diagnostics) bool {
	v, d := private.GetKey(ctx, pendingWaitKey)
	diags.Append(d...)
	return len(v) > 0
}

// planWaitAgain turns a resource whose last wait did not finish into a
// planned update: what the apply observes (every computed attribute but
// the identifiers) becomes unknown, and the plan says so. It says whether
// it did.
func planWaitAgain(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, kind, id, target string) bool {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() || !waitPending(ctx, req.Private, &resp.Diagnostics) {
		return false
	}
	unknownObserved(ctx, resp)
	resp.Diagnostics.AddWarning(fmt.Sprintf("%s %s: the last apply did not see it %s", kind, id, target),
		fmt.Sprintf("The last create or update of %s %s ended before it was %s. Applying runs Cluster API's reconcilers again and waits "+
			"for it; nothing is replaced.", kind, id, target))
	return true
}

// unknownObserved makes the plan's observed attributes (computed, not
// configurable, other than id and uid) unknown: the apply reads them anew.
// Those that do not change once known (an API server endpoint, a provider
// ID) keep their values, so that providers configured from them can plan.
func unknownObserved(ctx context.Context, resp *resource.ModifyPlanResponse) {
	stable := map[string]bool{"api_server_endpoint": true, "provider_id": true}
	for name, a := range resp.Plan.Schema.GetAttributes() {
		if !a.IsComputed() || a.IsOptional() || a.IsRequired() || name == "id" || name == "uid" {
			continue
		}
		if stable[name] {
			var v attr.Value
			if d := resp.Plan.GetAttribute(ctx, path.Root(name), &v); !d.HasError() && v != nil && !v.IsNull() && !v.IsUnknown() {
				continue
			}
		}
		unknown, err := a.GetType().ValueFromTerraform(ctx, tftypes.NewValue(a.GetType().TerraformType(ctx), tftypes.UnknownValue))
		if err != nil {
			resp.Diagnostics.AddError("Cannot plan "+name, err.Error())
			return
		}
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), unknown)...)
	}
}

// setState sets the state from m, with every value that is still unknown
// (a read after the write failed) made null: Terraform refuses unknown
// values after an apply.
func setState(ctx context.Context, state *tfsdk.State, m cloudModel, diags *diag.Diagnostics) {
	m.encodeBlocks()
	diags.Append(state.Set(ctx, m)...)
	known, err := tftypes.Transform(state.Raw, func(_ *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if !v.IsKnown() {
			return tftypes.NewValue(v.Type(), nil), nil
		}
		return v, nil
	})
	if err != nil {
		diags.AddError("Cannot record the state", err.Error())
		return
	}
	state.Raw = known
}

// keepPlannedObserved keeps in the state the observed attributes named
// whose planned value is known: their plan modifiers keep the prior state
// for an update that does not alter them (a label, a timeout), so that
// the plan does not list them as changing, and Terraform holds an apply
// to the values it planned. The next refresh reads them anew.
func keepPlannedObserved(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, diags *diag.Diagnostics, names ...string) {
	for _, name := range names {
		var v attr.Value
		if d := plan.GetAttribute(ctx, path.Root(name), &v); d.HasError() || v == nil || v.IsUnknown() {
			continue
		}
		diags.Append(state.SetAttribute(ctx, path.Root(name), v)...)
	}
}
