package capiobj

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
)

// MachineDeploymentModel is the Terraform shape of a MachineDeployment.
type MachineDeploymentModel struct {
	ID               types.String `tfsdk:"id"`
	Name             types.String `tfsdk:"name"`
	Namespace        types.String `tfsdk:"namespace"`
	Cluster          types.String `tfsdk:"cluster"`
	Replicas         types.Int32  `tfsdk:"replicas"`
	Version          types.String `tfsdk:"version"`
	Labels           types.Map    `tfsdk:"labels"`
	Taints           []TaintModel `tfsdk:"taints"`
	AvailabilityZone types.String `tfsdk:"availability_zone"`
	// Infrastructure is the machines' cloud and its block, which the
	// resource's model holds under the cloud's name.
	Infrastructure InfraBlock        `tfsdk:"-"`
	Kubeadm        *KubeadmModel     `tfsdk:"kubeadm"`
	Rollout        *RolloutModel     `tfsdk:"rollout"`
	DeletionOrder  types.String      `tfsdk:"deletion_order"`
	HealthCheck    *HealthCheckModel `tfsdk:"health_check"`
	UID            types.String      `tfsdk:"uid"`
	// ReadyReplicas is observed at refresh: machines whose node is in the
	// workload cluster and Ready.
	ReadyReplicas types.Int32 `tfsdk:"ready_replicas"`
}

// TaintModel is a node taint that kubeadm registers the node with.
type TaintModel struct {
	Key    types.String `tfsdk:"key"`
	Value  types.String `tfsdk:"value"`
	Effect types.String `tfsdk:"effect"`
}

// RolloutModel is spec.rollout.strategy.
type RolloutModel struct {
	Strategy       types.String `tfsdk:"strategy"`
	MaxSurge       types.String `tfsdk:"max_surge"`
	MaxUnavailable types.String `tfsdk:"max_unavailable"`
}

// HealthCheckModel configures the deployment's MachineHealthCheck.
type HealthCheckModel struct {
	Enabled            types.Bool   `tfsdk:"enabled"`
	NodeStartupTimeout types.String `tfsdk:"node_startup_timeout"`
	UnhealthyTimeout   types.String `tfsdk:"unhealthy_timeout"`
	MaxUnhealthy       types.String `tfsdk:"max_unhealthy"`
}

// Rollout strategies and deletion orders, as Cluster API names them.
const (
	RolloutRollingUpdate = string(clusterv1.RollingUpdateMachineDeploymentStrategyType)
	RolloutOnDelete      = string(clusterv1.OnDeleteMachineDeploymentStrategyType)
)

// Health check defaults: those of Cluster API's documentation examples.
const (
	DefaultNodeStartupTimeout = 10 * time.Minute
	DefaultUnhealthyTimeout   = 5 * time.Minute
	// As the state spells them.
	DefaultNodeStartupTimeoutText = "10m"
	DefaultUnhealthyTimeoutText   = "5m"
)

// Rolling update defaults: Cluster API's.
const (
	DefaultMaxSurge       = "1"
	DefaultMaxUnavailable = "0"
)

var (
	rolloutAttrTypes     = map[string]attr.Type{"strategy": types.StringType, "max_surge": types.StringType, "max_unavailable": types.StringType}
	healthCheckAttrTypes = map[string]attr.Type{"enabled": types.BoolType, "node_startup_timeout": types.StringType, "unhealthy_timeout": types.StringType, "max_unhealthy": types.StringType}
)

// DefaultRollout is the rollout block of a configuration without one.
func DefaultRollout() types.Object {
	return types.ObjectValueMust(rolloutAttrTypes, map[string]attr.Value{
		"strategy": types.StringValue(RolloutRollingUpdate), "max_surge": types.StringValue(DefaultMaxSurge), "max_unavailable": types.StringValue(DefaultMaxUnavailable),
	})
}

// DefaultHealthCheck is the health_check block of a configuration without
// one.
func DefaultHealthCheck() types.Object {
	return types.ObjectValueMust(healthCheckAttrTypes, map[string]attr.Value{
		"enabled": types.BoolValue(true), "node_startup_timeout": types.StringValue(DefaultNodeStartupTimeoutText),
		"unhealthy_timeout": types.StringValue(DefaultUnhealthyTimeoutText), "max_unhealthy": types.StringNull(),
	})
}

// MachineDeploymentObjects are the objects a capi_machine_deployment owns.
type MachineDeploymentObjects struct {
	MachineDeployment *clusterv1.MachineDeployment
	// Cloud is the machines' cloud.
	Cloud infrastructure.Infrastructure
	// Templates are immutable: a changed spec is a new template (named by
	// its hash), and the deployment rolls its machines onto it.
	InfrastructureTemplate client.Object
	BootstrapTemplate      *bootstrapv1.KubeadmConfigTemplate
	// HealthCheck is nil when disabled.
	HealthCheck *clusterv1.MachineHealthCheck
}

// DeploymentLabel marks a deployment's templates with its name.
const DeploymentLabel = identity.Prefix + "machine-deployment"

// ExpandMachineDeployment builds the objects of a capi_machine_deployment
// from a fully known plan.
func ExpandMachineDeployment(ctx context.Context, m MachineDeploymentModel) (MachineDeploymentObjects, diag.Diagnostics) {
	var diags diag.Diagnostics
	ns, name, cluster := m.Namespace.ValueString(), m.Name.ValueString(), m.Cluster.ValueString()
	labels := map[string]string{clusterv1.WatchLabel: WatchFilterValue, clusterv1.ClusterNameLabel: cluster}
	templateLabels := map[string]string{clusterv1.WatchLabel: WatchFilterValue, clusterv1.ClusterNameLabel: cluster, DeploymentLabel: name}

	var infra client.Object
	var kinds infrastructure.Kinds
	var nodes infrastructure.Nodes
	if cloud := m.Infrastructure.Cloud; cloud != nil {
		t, d := cloud.ExpandMachineTemplate(ctx, metav1.ObjectMeta{Namespace: ns, Name: name, Labels: templateLabels}, m.Infrastructure.Block)
		diags.Append(d...)
		infra, kinds, nodes = t, cloud.Kinds(), workerNodes(ctx, cloud, &diags)
	}
	var taints *[]corev1.Taint
	if len(m.Taints) > 0 {
		list := make([]corev1.Taint, 0, len(m.Taints))
		for _, t := range m.Taints {
			list = append(list, corev1.Taint{Key: t.Key.ValueString(), Value: t.Value.ValueString(), Effect: corev1.TaintEffect(t.Effect.ValueString())})
		}
		taints = &list
	}
	var kubeadm bootstrapv1.KubeadmConfigSpec
	kubeadm.JoinConfiguration.NodeRegistration.Taints = taints
	if nodes.Worker != nil {
		kubeadm.JoinConfiguration.NodeRegistration = nodes.Worker(taints)
	}
	expandKubeadm(ctx, m.Kubeadm, &kubeadm, &diags, &kubeadm.JoinConfiguration.NodeRegistration)
	bootstrap := &bootstrapv1.KubeadmConfigTemplate{
		TypeMeta:   metav1.TypeMeta{APIVersion: bootstrapv1.GroupVersion.String(), Kind: "KubeadmConfigTemplate"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-" + infrastructure.SpecHash(kubeadm), Labels: templateLabels},
		Spec:       bootstrapv1.KubeadmConfigTemplateSpec{Template: bootstrapv1.KubeadmConfigTemplateResource{Spec: kubeadm}},
	}

	md := &clusterv1.MachineDeployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: clusterv1.GroupVersion.String(), Kind: "MachineDeployment"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
	}
	md.Spec.ClusterName = cluster
	md.Spec.Replicas = ptr.To(m.Replicas.ValueInt32())
	machineLabels := tfconv.StringMap(ctx, m.Labels, &diags)
	if machineLabels == nil {
		machineLabels = map[string]string{}
	}
	// Machines inherit the watch label, so the engine reconciles them.
	machineLabels[clusterv1.WatchLabel] = WatchFilterValue
	md.Spec.Template.Labels = machineLabels
	md.Spec.Template.Spec = clusterv1.MachineSpec{
		ClusterName:   cluster,
		Version:       m.Version.ValueString(),
		FailureDomain: m.AvailabilityZone.ValueString(),
		Bootstrap: clusterv1.Bootstrap{ConfigRef: clusterv1.ContractVersionedObjectReference{
			APIGroup: bootstrapv1.GroupVersion.Group, Kind: "KubeadmConfigTemplate", Name: bootstrap.Name}},
	}
	if infra != nil {
		md.Spec.Template.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{
			APIGroup: kinds.Group, Kind: kinds.MachineTemplate, Name: infra.GetName()}
	}
	if r := m.Rollout; r != nil {
		strategy := &md.Spec.Rollout.Strategy
		strategy.Type = clusterv1.MachineDeploymentRolloutStrategyType(r.Strategy.ValueString())
		if strategy.Type == "" {
			strategy.Type = clusterv1.RollingUpdateMachineDeploymentStrategyType
		}
		if strategy.Type == clusterv1.RollingUpdateMachineDeploymentStrategyType {
			strategy.RollingUpdate.MaxSurge = expandIntOrPercent(r.MaxSurge)
			strategy.RollingUpdate.MaxUnavailable = expandIntOrPercent(r.MaxUnavailable)
		}
	}
	md.Spec.Deletion.Order = clusterv1.MachineSetDeletionOrder(m.DeletionOrder.ValueString())

	objs := MachineDeploymentObjects{MachineDeployment: md, Cloud: m.Infrastructure.Cloud, InfrastructureTemplate: infra, BootstrapTemplate: bootstrap}
	if hc := m.HealthCheck; hc == nil || hc.Enabled.IsNull() || hc.Enabled.ValueBool() {
		objs.HealthCheck = expandHealthCheck(ns, name, cluster, labels, hc, &diags)
	}
	return objs, diags
}

func expandHealthCheck(ns, name, cluster string, labels map[string]string, hc *HealthCheckModel, diags *diag.Diagnostics) *clusterv1.MachineHealthCheck {
	startup, unhealthy := DefaultNodeStartupTimeout, DefaultUnhealthyTimeout
	var maxUnhealthy *intstr.IntOrString
	if hc != nil {
		startup = durationOr(hc.NodeStartupTimeout, startup, "health_check.node_startup_timeout", diags)
		unhealthy = durationOr(hc.UnhealthyTimeout, unhealthy, "health_check.unhealthy_timeout", diags)
		maxUnhealthy = expandIntOrPercent(hc.MaxUnhealthy)
	}
	mhc := &clusterv1.MachineHealthCheck{
		TypeMeta:   metav1.TypeMeta{APIVersion: clusterv1.GroupVersion.String(), Kind: "MachineHealthCheck"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
	}
	mhc.Spec.ClusterName = cluster
	mhc.Spec.Selector = metav1.LabelSelector{MatchLabels: map[string]string{clusterv1.MachineDeploymentNameLabel: name}}
	mhc.Spec.Checks.NodeStartupTimeoutSeconds = ptr.To(int32(startup / time.Second))
	seconds := ptr.To(int32(unhealthy / time.Second))
	mhc.Spec.Checks.UnhealthyNodeConditions = []clusterv1.UnhealthyNodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionFalse, TimeoutSeconds: seconds},
		{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, TimeoutSeconds: seconds},
	}
	mhc.Spec.Remediation.TriggerIf.UnhealthyLessThanOrEqualTo = maxUnhealthy
	return mhc
}

func durationOr(v types.String, def time.Duration, attr string, diags *diag.Diagnostics) time.Duration {
	if v.IsNull() || v.IsUnknown() {
		return def
	}
	d, err := time.ParseDuration(v.ValueString())
	if err != nil {
		diags.AddError("Invalid "+attr, err.Error())
		return def
	}
	return d
}

// expandIntOrPercent reads "1" or "25%"; null is nil (Cluster API's
// default).
func expandIntOrPercent(v types.String) *intstr.IntOrString {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	s := v.ValueString()
	if n, err := strconv.Atoi(s); err == nil {
		return ptr.To(intstr.FromInt32(int32(n)))
	}
	return ptr.To(intstr.FromString(s))
}

func flattenIntOrPercent(v *intstr.IntOrString) types.String {
	if v == nil {
		return types.StringNull()
	}
	return types.StringValue(v.String())
}

// FlattenMachineDeployment maps the objects read back to the model.
// Optional blocks the prior state did not set stay unset when the stored
// values are Cluster API's defaults; prior nil (an import) reports them.
func FlattenMachineDeployment(ctx context.Context, objs MachineDeploymentObjects, prior *MachineDeploymentModel) (MachineDeploymentModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	md := objs.MachineDeployment
	spec := md.Spec.Template.Spec
	m := MachineDeploymentModel{
		ID:               types.StringValue(NamespacedID(md.Namespace, md.Name)),
		Name:             types.StringValue(md.Name),
		Namespace:        types.StringValue(md.Namespace),
		Cluster:          types.StringValue(md.Spec.ClusterName),
		Replicas:         types.Int32Value(ptr.Deref(md.Spec.Replicas, 1)),
		Version:          types.StringValue(spec.Version),
		AvailabilityZone: tfconv.OptionalString(spec.FailureDomain),
		UID:              types.StringValue(string(md.UID)),
		ReadyReplicas:    types.Int32Value(ptr.Deref(md.Status.ReadyReplicas, 0)),
	}
	var priorLabels *types.Map
	if prior != nil {
		priorLabels = &prior.Labels
		m.ReadyReplicas = prior.ReadyReplicas
	}
	userLabels := map[string]string{}
	for k, v := range md.Spec.Template.Labels {
		// Cluster API's own labels are not the user's.
		if k != clusterv1.WatchLabel && k != clusterv1.ClusterNameLabel && k != clusterv1.MachineDeploymentNameLabel {
			userLabels[k] = v
		}
	}
	m.Labels = flattenStringMap(ctx, userLabels, priorLabels, &diags)

	var own bootstrapv1.NodeRegistrationOptions
	if cloud := objs.Cloud; cloud != nil {
		m.Infrastructure.Cloud = cloud
		m.Infrastructure.Block = infrastructure.NullBlock(cloud.MachineTemplateAttributes())
		if t := objs.InfrastructureTemplate; t != nil {
			block, d := cloud.FlattenMachineTemplate(ctx, t)
			diags.Append(d...)
			m.Infrastructure.Block = block
		}
		if nodes := workerNodes(ctx, cloud, &diags); nodes.Worker != nil {
			own = nodes.Worker(nil)
		}
	}
	if t := objs.BootstrapTemplate; t != nil {
		spec := t.Spec.Template.Spec
		m.Kubeadm = flattenKubeadm(ctx, spec, spec.JoinConfiguration.NodeRegistration, own, &diags)
		if taints := t.Spec.Template.Spec.JoinConfiguration.NodeRegistration.Taints; taints != nil {
			for _, tt := range *taints {
				m.Taints = append(m.Taints, TaintModel{Key: types.StringValue(tt.Key), Value: tfconv.OptionalString(tt.Value), Effect: types.StringValue(string(tt.Effect))})
			}
		}
	}

	// Every setting is reported, configured or not (the schema's defaults
	// fill the plan the same way), so that an import reads what a create
	// stores.
	m.Rollout = flattenRollout(md.Spec.Rollout.Strategy)
	m.DeletionOrder = tfconv.OptionalString(string(md.Spec.Deletion.Order))
	if prior != nil && prior.DeletionOrder.IsNull() && md.Spec.Deletion.Order == clusterv1.RandomMachineSetDeletionOrder {
		m.DeletionOrder = types.StringNull()
	}
	m.HealthCheck = flattenHealthCheck(objs.HealthCheck, prior)
	return m, diags
}

func flattenRollout(strategy clusterv1.MachineDeploymentRolloutStrategy) *RolloutModel {
	if strategy.Type == clusterv1.OnDeleteMachineDeploymentStrategyType {
		return &RolloutModel{Strategy: types.StringValue(RolloutOnDelete), MaxSurge: types.StringNull(), MaxUnavailable: types.StringNull()}
	}
	r := &RolloutModel{
		Strategy:       types.StringValue(RolloutRollingUpdate),
		MaxSurge:       flattenIntOrPercent(strategy.RollingUpdate.MaxSurge),
		MaxUnavailable: flattenIntOrPercent(strategy.RollingUpdate.MaxUnavailable),
	}
	if r.MaxSurge.IsNull() {
		r.MaxSurge = types.StringValue(DefaultMaxSurge)
	}
	if r.MaxUnavailable.IsNull() {
		r.MaxUnavailable = types.StringValue(DefaultMaxUnavailable)
	}
	return r
}

// flattenHealthCheck reports every setting of the health check; durations
// in the prior state's spelling when they mean the same ("600s" and "10m"
// are one timeout).
func flattenHealthCheck(mhc *clusterv1.MachineHealthCheck, prior *MachineDeploymentModel) *HealthCheckModel {
	var p *HealthCheckModel
	if prior != nil {
		p = prior.HealthCheck
	}
	if mhc == nil {
		// Disabled, or deleted out of band: the configured settings stay,
		// with enabled false.
		off := HealthCheckModel{NodeStartupTimeout: types.StringValue(DefaultNodeStartupTimeoutText),
			UnhealthyTimeout: types.StringValue(DefaultUnhealthyTimeoutText), MaxUnhealthy: types.StringNull()}
		if p != nil {
			off = *p
		}
		off.Enabled = types.BoolValue(false)
		return &off
	}
	startup := time.Duration(ptr.Deref(mhc.Spec.Checks.NodeStartupTimeoutSeconds, 0)) * time.Second
	unhealthy := time.Duration(0)
	if c := mhc.Spec.Checks.UnhealthyNodeConditions; len(c) > 0 {
		unhealthy = time.Duration(ptr.Deref(c[0].TimeoutSeconds, 0)) * time.Second
	}
	h := &HealthCheckModel{
		Enabled:            types.BoolValue(true),
		NodeStartupTimeout: types.StringValue(formatDuration(startup)),
		UnhealthyTimeout:   types.StringValue(formatDuration(unhealthy)),
		MaxUnhealthy:       flattenIntOrPercent(mhc.Spec.Remediation.TriggerIf.UnhealthyLessThanOrEqualTo),
	}
	if p != nil {
		h.NodeStartupTimeout = sameDuration(p.NodeStartupTimeout, startup)
		h.UnhealthyTimeout = sameDuration(p.UnhealthyTimeout, unhealthy)
	}
	return h
}

// sameDuration is the configured spelling when it means actual, else
// actual spelled the short way.
func sameDuration(configured types.String, actual time.Duration) types.String {
	if !configured.IsNull() && !configured.IsUnknown() {
		if d, err := time.ParseDuration(configured.ValueString()); err == nil && d == actual {
			return configured
		}
	}
	return types.StringValue(formatDuration(actual))
}

// formatDuration spells a duration the short way: 10m, 90s, 1h30m.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// RolloutSummary says in words what applying a change to a deployment's
// machines does, for the plan.
func RolloutSummary(m MachineDeploymentModel) string {
	replicas := m.Replicas.ValueInt32()
	if r := m.Rollout; r != nil && r.Strategy.ValueString() == RolloutOnDelete {
		return fmt.Sprintf("Strategy OnDelete: the apply puts the new template in place and returns; the %d machines keep running the old one. "+
			"Each machine you delete is replaced with one on the new template: kubectl delete machine -n %s NAME, one at a time to keep capacity "+
			"(kubectl get machines -n %s -l %s=%s lists them).", replicas, m.Namespace.ValueString(), m.Namespace.ValueString(), clusterv1.MachineDeploymentNameLabel, m.Name.ValueString())
	}
	surge, unavailable := "1", "0"
	if r := m.Rollout; r != nil {
		if !r.MaxSurge.IsNull() {
			surge = r.MaxSurge.ValueString()
		}
		if !r.MaxUnavailable.IsNull() {
			unavailable = r.MaxUnavailable.ValueString()
		}
	}
	return fmt.Sprintf("Cluster API replaces the %d machines in place, rolling: at most %s extra machine(s) at a time (max_surge) and at most %s unavailable (max_unavailable). The Terraform resource is updated, not replaced.",
		replicas, surge, unavailable)
}
