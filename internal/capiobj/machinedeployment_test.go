package capiobj

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// deploymentMachine is the aws block of deploymentModel.
func deploymentMachine() awsMachineBlock {
	return awsMachineBlock{AMI: types.StringValue("ami-0123456789abcdef0"), InstanceType: types.StringValue("t3.large"),
		RootVolumeSize: types.Int32Null(), SSHKeyName: types.StringNull(), IAMInstanceProfile: types.StringNull()}
}

func deploymentModel() MachineDeploymentModel {
	return MachineDeploymentModel{
		Name: types.StringValue("workers"), Namespace: types.StringValue("default"), Cluster: types.StringValue("c1"),
		Replicas: types.Int32Value(3), Version: types.StringValue("v1.36.0"),
		Labels:           types.MapValueMust(types.StringType, map[string]attr.Value{"node-role.kubernetes.io/worker": types.StringValue("")}),
		Taints:           []TaintModel{{Key: types.StringValue("dedicated"), Value: types.StringValue("batch"), Effect: types.StringValue("NoSchedule")}},
		Infrastructure:   InfraBlock{Cloud: awsCloud, Block: awsMachineTemplateValue(deploymentMachine())},
		AvailabilityZone: types.StringNull(), DeletionOrder: types.StringNull(),
		Rollout: &RolloutModel{Strategy: types.StringNull(), MaxSurge: types.StringValue("25%"), MaxUnavailable: types.StringValue("1")},
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
// empty plan; unset blocks stay unset when the stored values are defaults.
func TestFlattenMachineDeploymentRoundTrip(t *testing.T) {
	ctx := context.Background()
	m := deploymentModel()
	objs, _ := ExpandMachineDeployment(ctx, m)
	flat, diags := FlattenMachineDeployment(ctx, objs, &m)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !flat.Version.Equal(m.Version) || !flat.Labels.Equal(m.Labels) || !reflect.DeepEqual(flat.Rollout, m.Rollout) ||
		flat.HealthCheck != nil || !reflect.DeepEqual(flat.Taints, m.Taints) || !flat.DeletionOrder.IsNull() {
		t.Errorf("flattened = %+v, rollout %+v, health check %+v", flat, flat.Rollout, flat.HealthCheck)
	}
	if flat.Infrastructure.Cloud != awsCloud || !flat.Infrastructure.Block.Equal(m.Infrastructure.Block) {
		t.Errorf("aws = %v, want %v", flat.Infrastructure.Block, m.Infrastructure.Block)
	}

	// Defaults as CAPI's webhook sets them, for a configuration without a
	// rollout block: still no rollout block.
	m.Rollout = nil
	objs, _ = ExpandMachineDeployment(ctx, m)
	objs.MachineDeployment.Spec.Rollout.Strategy.Type = clusterv1.RollingUpdateMachineDeploymentStrategyType
	objs.MachineDeployment.Spec.Deletion.Order = clusterv1.RandomMachineSetDeletionOrder
	if flat, _ := FlattenMachineDeployment(ctx, objs, &m); flat.Rollout != nil || !flat.DeletionOrder.IsNull() {
		t.Errorf("defaults read back as rollout %+v, deletion order %s", flat.Rollout, flat.DeletionOrder)
	}

	// A health check with the configuration's own spelling of a timeout.
	m.HealthCheck = &HealthCheckModel{Enabled: types.BoolNull(), NodeStartupTimeout: types.StringValue("600s"),
		UnhealthyTimeout: types.StringValue("2m"), MaxUnhealthy: types.StringValue("40%")}
	objs, _ = ExpandMachineDeployment(ctx, m)
	if flat, _ := FlattenMachineDeployment(ctx, objs, &m); !reflect.DeepEqual(flat.HealthCheck, m.HealthCheck) {
		t.Errorf("health check read back as %+v", flat.HealthCheck)
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
