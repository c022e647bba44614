package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/capiobj"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
	"github.com/terraform-capi/terraform-provider-capi/internal/validators"
)

// plannedCluster is what a plan says of a cluster that machines refer to:
// a capi_cluster of the same configuration, or a Cluster read from the
// management cluster. Empty values are unknown.
type plannedCluster struct {
	// cloud is the cluster's cloud (nil for a cluster without a cloud
	// block: no machine of it can ever be made).
	cloud infrastructure.Infrastructure
	// version is the control plane's Kubernetes version.
	version string
	// zones are the cluster's failure domains.
	zones []string
}

// declareCluster records what the plan of a capi_cluster says, for the
// plans of its machines that follow.
func (d *declarations) declareCluster(key string, c plannedCluster) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.clusters == nil {
		d.clusters = map[string]plannedCluster{}
	}
	d.clusters[key] = c
}

func (d *declarations) cluster(key string) (plannedCluster, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.clusters[key]
	return c, ok
}

// declaredCluster is what a capi_cluster's plan tells its machines.
func declaredCluster(ctx context.Context, m capiobj.ClusterModel) plannedCluster {
	c := plannedCluster{cloud: m.Infrastructure.Cloud}
	if m.ControlPlane != nil && tfconv.IsKnown(m.ControlPlane.Version) {
		c.version = m.ControlPlane.Version.ValueString()
	}
	if c.cloud != nil {
		c.zones = c.cloud.PlannedFailureDomains(ctx, m.Infrastructure.Block)
	}
	return c
}

// machinesPlan is what the plan of a deployment or a machine asks of its
// cluster.
type machinesPlan struct {
	kind string
	// cloud is the cloud whose block the machines set (nil: unknown).
	cloud              infrastructure.Infrastructure
	namespace, cluster types.String
	version, zone      types.String
	// zonePath is where the zone is set.
	zonePath path.Path
	// makesMachines says whether the change makes new machines (a create,
	// a new version or template, a scale up): only new machines are held
	// to the version skew rule Cluster API checks before making any.
	makesMachines bool
}

// checkClusterReference errors at plan time where Cluster API or the cloud
// would refuse the machines after the apply started: a cluster that
// neither exists nor is declared in the configuration, one without
// infrastructure, a zone that is not the cluster's, and a version that
// breaks Cluster API's version skew rules against the control plane.
func checkClusterReference(ctx context.Context, data *providerData, p machinesPlan, diags *diag.Diagnostics) {
	if data == nil || !tfconv.IsKnown(p.namespace) || !tfconv.IsKnown(p.cluster) {
		return
	}
	id := p.namespace.ValueString() + "/" + p.cluster.ValueString()
	c, declared := data.planned.cluster(id)
	if !declared {
		var found, ok bool
		c, found, ok = lookUpCluster(ctx, data, p.namespace.ValueString(), p.cluster.ValueString())
		if !ok {
			return
		}
		if !found {
			diags.AddAttributeError(path.Root("cluster"), "Cluster "+id+" not found",
				fmt.Sprintf("Attribute cluster names Cluster %s, which does not exist in the management cluster, and no capi_cluster of this "+
					"configuration declares it. If it does, refer to it (cluster = capi_cluster.<name>.name) so that Terraform creates it first.", id))
			return
		}
	}
	if c.cloud == nil {
		diags.AddAttributeError(path.Root("cluster"), "Cluster "+id+" has no infrastructure",
			fmt.Sprintf("Attribute cluster names Cluster %s, which has no %s block (no infrastructure): Cluster API can never make the %s's "+
				"machines. Give the cluster one, and a control_plane.", id, cloudNames(), p.kind))
		return
	}
	if p.cloud != nil && p.cloud != c.cloud {
		diags.AddAttributeError(path.Root(p.cloud.Name()), "Machines on another cloud",
			fmt.Sprintf("Attribute %s sets %s machines, but Cluster %s is on %s (its %s block): a cluster's machines are on its cloud. "+
				"Use a %s block instead.", p.cloud.Name(), p.cloud.Title(), id, c.cloud.Title(), c.cloud.Name(), c.cloud.Name()))
		return
	}
	if tfconv.IsKnown(p.zone) && c.cloud.FailureDomainAttribute() == "" {
		diags.AddAttributeError(p.zonePath, "No zones on "+c.cloud.Title(),
			fmt.Sprintf("Attribute %s is set, but Cluster %s is on %s, which has no zones: all of a cluster's machines run in its region. "+
				"Remove it.", p.zonePath, id, c.cloud.Title()))
		return
	}
	if tfconv.IsKnown(p.zone) && len(c.zones) > 0 && !slices.Contains(c.zones, p.zone.ValueString()) {
		diags.AddAttributeError(p.zonePath, "Zone not in the cluster",
			fmt.Sprintf("Attribute %s is %s, which is not one of Cluster %s's zones (%s): a machine there would have no subnet.",
				p.zonePath, p.zone.ValueString(), id, strings.Join(c.zones, ", ")))
	}
	if !tfconv.IsKnown(p.version) || c.version == "" {
		return
	}
	// A machine newer than its control plane is refused whatever the
	// change; an older one only stops new machines.
	err := validators.MachineVersionSkew(c.version, p.version.ValueString())
	if err != nil && (p.makesMachines || olderMinor(c.version, p.version.ValueString())) {
		diags.AddAttributeError(path.Root("version"), "Version skew with the control plane",
			fmt.Sprintf("Attribute version %s against the control plane's %s of Cluster %s: %s. Cluster API checks this before it makes "+
				"any machine (its MachineSet preflight checks), so the apply would wait forever.", p.version.ValueString(), c.version, id, err))
	}
}

// olderMinor says whether a's minor version is below b's (both valid).
func olderMinor(a, b string) bool {
	va, errA := validators.ParseKubernetesVersion(a)
	vb, errB := validators.ParseKubernetesVersion(b)
	return errA == nil && errB == nil && (va.Major < vb.Major || (va.Major == vb.Major && va.Minor < vb.Minor))
}

// lookUpCluster reads a cluster from the management cluster for a plan.
// ok is false when the management cluster cannot be read (the plan goes
// on; the apply re-checks).
func lookUpCluster(ctx context.Context, data *providerData, namespace, name string) (c plannedCluster, found, ok bool) {
	cl, err := data.kube.Reader()
	if err == nil {
		var objs capiobj.ClusterObjects
		objs, err = readClusterObjects(ctx, cl, client.ObjectKey{Namespace: namespace, Name: name})
		if kube.IsNotFound(err) {
			return c, false, true
		}
		if err == nil {
			if objs.Infrastructure != nil {
				c.cloud = objs.Cloud
				c.zones = objs.Cloud.FailureDomains(objs.Infrastructure)
			}
			if objs.ControlPlane != nil {
				c.version = objs.ControlPlane.Spec.Version
			}
			return c, true, true
		}
	}
	tflog.Warn(ctx, "cannot read the management cluster at plan time; the cluster reference is checked at apply", map[string]any{"error": err.Error()})
	return c, false, false
}

// onDeleteRollout refuses max_surge and max_unavailable with the OnDelete
// strategy: Cluster API has them for rolling updates only, and refuses
// them otherwise.
type onDeleteRollout struct{}

func (onDeleteRollout) Description(context.Context) string {
	return "rollout.max_surge and rollout.max_unavailable are for the RollingUpdate strategy only"
}

func (v onDeleteRollout) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (onDeleteRollout) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	rollout := path.Root("rollout")
	var strategy types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, rollout.AtName("strategy"), &strategy)...)
	if resp.Diagnostics.HasError() || strategy.ValueString() != capiobj.RolloutOnDelete {
		return
	}
	for _, attr := range []string{"max_surge", "max_unavailable"} {
		var v types.String
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, rollout.AtName(attr), &v)...)
		if !v.IsNull() {
			resp.Diagnostics.AddAttributeError(rollout.AtName(attr), "Setting of rolling updates with OnDelete",
				fmt.Sprintf("Attribute rollout.%s is for strategy RollingUpdate; with OnDelete a machine is replaced only when you delete it. "+
					"Remove it, or use RollingUpdate.", attr))
		}
	}
}

// positiveTimeouts refuses a timeout of zero or less, which would end the
// operation before it starts (the timeouts block itself checks only that
// each is a duration).
type positiveTimeouts struct{}

func (positiveTimeouts) Description(context.Context) string {
	return "timeouts.create, update and delete must be positive durations"
}

func (v positiveTimeouts) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (positiveTimeouts) ValidateResource(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	for _, op := range []string{"create", "update", "delete"} {
		p := path.Root("timeouts").AtName(op)
		var v types.String
		if d := req.Config.GetAttribute(ctx, p, &v); d.HasError() || !tfconv.IsKnown(v) {
			continue
		}
		if d, err := time.ParseDuration(v.ValueString()); err == nil && d <= 0 {
			resp.Diagnostics.AddAttributeError(p, "Invalid timeout",
				fmt.Sprintf("Attribute timeouts.%s must be a positive duration such as \"30m\", got %q.", op, v.ValueString()))
		}
	}
}

// rollingUpdateDefault plans a rolling update setting that the
// configuration leaves out: the default with strategy RollingUpdate, null
// with OnDelete (which has no such setting).
type rollingUpdateDefault string

func (d rollingUpdateDefault) Description(context.Context) string {
	return fmt.Sprintf("defaults to %q with strategy RollingUpdate, null with OnDelete", string(d))
}

func (d rollingUpdateDefault) MarkdownDescription(ctx context.Context) string {
	return d.Description(ctx)
}

func (d rollingUpdateDefault) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	var strategy types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, req.Path.ParentPath().AtName("strategy"), &strategy)...)
	switch {
	case strategy.IsUnknown():
		resp.PlanValue = types.StringUnknown()
	case strategy.ValueString() == capiobj.RolloutOnDelete:
		resp.PlanValue = types.StringNull()
	default:
		resp.PlanValue = types.StringValue(string(d))
	}
}
