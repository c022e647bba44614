package capiobj

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	corev1 "k8s.io/api/core/v1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// deploymentMachine is the aws block of deploymentModel.
func deploymentMachine() awsMachineBlock {
	return awsMachineBlock{AMI: types.StringValue("ami-0123456789abcdef0"), InstanceType: types.StringValue("t3.large"),
		RootVolumeSize: types.Int32Null(), SSHKeyName: types.StringNull(), IAMInstanceProfile: types.StringNull(),
		InsecureSkipSecretsManager: types.BoolValue(false)}
}

func deploymentModel() MachineDeploymentModel {
	return MachineDeploymentModel{
		Name: types.StringValue("workers"), Namespace: types.StringValue("default"), Cluster: types.StringValue("c1"),
		Replicas: types.Int32Value(3), Version: types.StringValue("v1.36.0"),
		Labels:           types.MapValueMust(types.StringType, map[string]attr.Value{"node-role.kubernetes.io/worker": types.StringValue("")}),
		Taints:           []TaintModel{{Key: types.StringValue("dedicated"), Value: types.StringValue("batch"), Effect: types.StringValue("NoSchedule")}},
		Infrastructure:   InfraBlock{Cloud: awsCloud, Block: awsMachineTemplateValue(deploymentMachine())},
		AvailabilityZone: types.StringNull(), DeletionOrder: types.StringNull(),
		// As the schema's defaults fill a plan.
		Rollout: &RolloutModel{Strategy: types.StringValue(RolloutRollingUpdate), MaxSurge: types.StringValue("25%"), MaxUnavailable: types.StringValue("1")},
		HealthCheck: &HealthCheckModel{Enabled: types.BoolValue(true), NodeStartupTimeout: types.StringValue(DefaultNodeStartupTimeoutText),
			UnhealthyTimeout: types.StringValue(DefaultUnhealthyTimeoutText), MaxUnhealthy: types.StringNull()},
	}
}

func TestExpandMachineDeployment(t *testing.T) {
	objs, diags := ExpandMachineDeployment(context.Background(), deploymentModel())
	if diags.HasError() {
		t.Fatal(diags)
	}
	md := objs.MachineDeployment
	spec := md.Spec.Template.Spec
	tmpl, _ := objs.InfrastructureTemplate.(*infrav1.AWSMachineTemplate)
	if objs.Cloud != awsCloud || tmpl == nil {
		t.Fatalf("cloud %v, infrastructure template %+v", objs.Cloud, objs.InfrastructureTemplate)
	}
	if spec.InfrastructureRef.Name != tmpl.Name || spec.InfrastructureRef.Kind != "AWSMachineTemplate" ||
		spec.InfrastructureRef.APIGroup != infrav1.GroupVersion.Group || spec.Bootstrap.ConfigRef.Name != objs.BootstrapTemplate.Name {
		t.Errorf("refs = %+v / %+v", spec.InfrastructureRef, spec.Bootstrap.ConfigRef)
	}
	if s := tmpl.Spec.Template.Spec; s.AMI != "ami-0123456789abcdef0" || s.InstanceType != "t3.large" || tmpl.Labels[DeploymentLabel] != "workers" {
		t.Errorf("AWSMachineTemplate = %+v", tmpl)
	}
	if md.Spec.Template.Labels[clusterv1.WatchLabel] != WatchFilterValue || md.Spec.Template.Labels["node-role.kubernetes.io/worker"] != "" {
		t.Errorf("machine labels = %v", md.Spec.Template.Labels)
	}
	ru := md.Spec.Rollout.Strategy.RollingUpdate
	if md.Spec.Rollout.Strategy.Type != clusterv1.RollingUpdateMachineDeploymentStrategyType || ru.MaxSurge.String() != "25%" || ru.MaxUnavailable.IntValue() != 1 {
		t.Errorf("rollout = %+v", md.Spec.Rollout)
	}
	taints := objs.BootstrapTemplate.Spec.Template.Spec.JoinConfiguration.NodeRegistration.Taints
	if taints == nil || !reflect.DeepEqual(*taints, []corev1.Taint{{Key: "dedicated", Value: "batch", Effect: corev1.TaintEffectNoSchedule}}) {
		t.Errorf("taints = %v", taints)
	}
	if h := objs.HealthCheck; h == nil || *h.Spec.Checks.NodeStartupTimeoutSeconds != 600 || len(h.Spec.Checks.UnhealthyNodeConditions) != 2 ||
		h.Spec.Selector.MatchLabels[clusterv1.MachineDeploymentNameLabel] != "workers" {
		t.Errorf("health check = %+v", objs.HealthCheck)
	}

	// A version change keeps the templates (the version is the
	// deployment's); a machine change makes a new infrastructure template.
	m := deploymentModel()
	m.Version = types.StringValue("v1.36.3")
	upgraded, _ := ExpandMachineDeployment(context.Background(), m)
	if upgraded.InfrastructureTemplate.GetName() != tmpl.Name || upgraded.BootstrapTemplate.Name != objs.BootstrapTemplate.Name {
		t.Error("a version change renamed the templates")
	}
	machine := deploymentMachine()
	machine.InstanceType = types.StringValue("t3.xlarge")
	m.Infrastructure.Block = awsMachineTemplateValue(machine)
	resized, _ := ExpandMachineDeployment(context.Background(), m)
	if name := resized.InfrastructureTemplate.GetName(); name == tmpl.Name || !strings.HasPrefix(name, "workers-") {
		t.Errorf("instance type change kept template %s", name)
	}

	m.HealthCheck = &HealthCheckModel{Enabled: types.BoolValue(false)}
	if off, _ := ExpandMachineDeployment(context.Background(), m); off.HealthCheck != nil {
		t.Error("health_check.enabled = false still makes a MachineHealthCheck")
	}
}

// What a plan holds reads back the same, so an apply is followed by an
// empty plan; an import (no prior state) reads the same values, defaults
// included, as the schema's defaults put in a plan.
func TestFlattenMachineDeploymentRoundTrip(t *testing.T) {
	ctx := context.Background()
	m := deploymentModel()
	objs, _ := ExpandMachineDeployment(ctx, m)
	for _, prior := range []*MachineDeploymentModel{&m, nil} {
		flat, diags := FlattenMachineDeployment(ctx, objs, prior)
		if diags.HasError() {
			t.Fatal(diags)
		}
		if !flat.Version.Equal(m.Version) || !flat.Labels.Equal(m.Labels) || !reflect.DeepEqual(flat.Rollout, m.Rollout) ||
			!reflect.DeepEqual(flat.HealthCheck, m.HealthCheck) || !reflect.DeepEqual(flat.Taints, m.Taints) || !flat.DeletionOrder.IsNull() {
			t.Errorf("prior %v: flattened = %+v, rollout %+v, health check %+v", prior != nil, flat, flat.Rollout, flat.HealthCheck)
		}
		if flat.Infrastructure.Cloud != awsCloud || !flat.Infrastructure.Block.Equal(m.Infrastructure.Block) {
			t.Errorf("aws = %v, want %v", flat.Infrastructure.Block, m.Infrastructure.Block)
		}
	}

	// OnDelete has no rolling update settings; a deletion order Cluster
	// API defaulted stays out of a configuration without one.
	m.Rollout = &RolloutModel{Strategy: types.StringValue(RolloutOnDelete), MaxSurge: types.StringNull(), MaxUnavailable: types.StringNull()}
	objs, _ = ExpandMachineDeployment(ctx, m)
	if ru := objs.MachineDeployment.Spec.Rollout.Strategy.RollingUpdate; ru.MaxSurge != nil || ru.MaxUnavailable != nil {
		t.Errorf("OnDelete expanded with rolling update settings %+v", ru)
	}
	objs.MachineDeployment.Spec.Deletion.Order = clusterv1.RandomMachineSetDeletionOrder
	if flat, _ := FlattenMachineDeployment(ctx, objs, &m); !reflect.DeepEqual(flat.Rollout, m.Rollout) || !flat.DeletionOrder.IsNull() {
		t.Errorf("read back as rollout %+v, deletion order %s", flat.Rollout, flat.DeletionOrder)
	}

	// Rolling update settings Cluster API left unset read as its defaults.
	objs.MachineDeployment.Spec.Rollout.Strategy.Type = ""
	if flat, _ := FlattenMachineDeployment(ctx, objs, nil); !reflect.DeepEqual(flat.Rollout, capiobjDefaultRollout()) {
		t.Errorf("unset rollout read back as %+v", flat.Rollout)
	}

	// A health check with the configuration's own spelling of a timeout.
	m.HealthCheck = &HealthCheckModel{Enabled: types.BoolValue(true), NodeStartupTimeout: types.StringValue("600s"),
		UnhealthyTimeout: types.StringValue("2m"), MaxUnhealthy: types.StringValue("40%")}
	objs, _ = ExpandMachineDeployment(ctx, m)
	if flat, _ := FlattenMachineDeployment(ctx, objs, &m); !reflect.DeepEqual(flat.HealthCheck, m.HealthCheck) {
		t.Errorf("health check read back as %+v", flat.HealthCheck)
	}
	// Disabled: the configured settings stay, with enabled false; after
	// an import, the defaults.
	m.HealthCheck.Enabled = types.BoolValue(false)
	objs, _ = ExpandMachineDeployment(ctx, m)
	if flat, _ := FlattenMachineDeployment(ctx, objs, &m); !reflect.DeepEqual(flat.HealthCheck, m.HealthCheck) {
		t.Errorf("disabled health check read back as %+v", flat.HealthCheck)
	}
	if flat, _ := FlattenMachineDeployment(ctx, objs, nil); flat.HealthCheck.Enabled.ValueBool() || flat.HealthCheck.NodeStartupTimeout.ValueString() != DefaultNodeStartupTimeoutText {
		t.Errorf("disabled health check imported as %+v", flat.HealthCheck)
	}
}

func capiobjDefaultRollout() *RolloutModel {
	return &RolloutModel{Strategy: types.StringValue(RolloutRollingUpdate), MaxSurge: types.StringValue(DefaultMaxSurge), MaxUnavailable: types.StringValue(DefaultMaxUnavailable)}
}

// The schema's object defaults and the models agree.
func TestDefaultObjectsMatchModels(t *testing.T) {
	ctx := context.Background()
	var r RolloutModel
	if d := DefaultRollout().As(ctx, &r, basetypes.ObjectAsOptions{}); d.HasError() || !reflect.DeepEqual(&r, capiobjDefaultRollout()) {
		t.Errorf("default rollout %+v %v", r, d)
	}
	var h HealthCheckModel
	if d := DefaultHealthCheck().As(ctx, &h, basetypes.ObjectAsOptions{}); d.HasError() || !h.Enabled.ValueBool() || h.UnhealthyTimeout.ValueString() != "5m" {
		t.Errorf("default health check %+v %v", h, d)
	}
}

func TestRolloutSummary(t *testing.T) {
	m := deploymentModel()
	if s := RolloutSummary(m); !strings.Contains(s, "at most 25% extra") || !strings.Contains(s, "at most 1 unavailable") {
		t.Errorf("summary = %q", s)
	}
	m.Rollout = &RolloutModel{Strategy: types.StringValue(RolloutOnDelete), MaxSurge: types.StringNull(), MaxUnavailable: types.StringNull()}
	if s := RolloutSummary(m); !strings.Contains(s, "OnDelete") {
		t.Errorf("summary = %q", s)
	}
}
