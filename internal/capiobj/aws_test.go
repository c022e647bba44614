package capiobj

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

func awsModel() ClusterModel {
	m := fullModel()
	m.ControlPlaneEndpoint = types.ObjectNull(EndpointAttrTypes)
	m.AWS = &AWSModel{Region: types.StringValue("eu-west-1"), VPCID: types.StringNull(), VPCCIDR: types.StringValue("10.1.0.0/16"),
		AvailabilityZones: stringList("eu-west-1a", "eu-west-1b"), NATGatewayPerZone: types.BoolValue(true)}
	m.ControlPlane = &ControlPlaneModel{Replicas: types.Int32Value(3), Version: types.StringValue("v1.36.0"),
		Machine: &AWSMachineModel{AMI: types.StringValue("ami-0123456789abcdef0"), InstanceType: types.StringValue("t3.large"),
			RootVolumeSize: types.Int32Null(), SSHKeyName: types.StringValue("ops"), IAMInstanceProfile: types.StringNull()}}
	return m
}

func TestExpandClusterWithAWSAndControlPlane(t *testing.T) {
	objs, diags := ExpandCluster(context.Background(), awsModel())
	if diags.HasError() {
		t.Fatal(diags)
	}
	c, a, kcp, tmpl := objs.Cluster, objs.AWSCluster, objs.ControlPlane, objs.ControlPlaneTemplate
	if !objs.Managed() || a == nil || kcp == nil || tmpl == nil {
		t.Fatalf("objects = %+v", objs)
	}
	for _, labels := range []map[string]string{c.Labels, a.Labels, kcp.Labels, tmpl.Labels, kcp.Spec.MachineTemplate.ObjectMeta.Labels} {
		if labels[clusterv1.WatchLabel] != WatchFilterValue {
			t.Errorf("watch-filter label missing: %v", labels)
		}
	}
	if c.Spec.InfrastructureRef.Kind != "AWSCluster" || c.Spec.InfrastructureRef.Name != c.Name {
		t.Errorf("infrastructureRef = %+v", c.Spec.InfrastructureRef)
	}
	if c.Spec.ControlPlaneRef.Kind != "KubeadmControlPlane" || c.Spec.ControlPlaneRef.Name != kcp.Name {
		t.Errorf("controlPlaneRef = %+v", c.Spec.ControlPlaneRef)
	}
	if kcp.Spec.MachineTemplate.Spec.InfrastructureRef.Name != tmpl.Name || *kcp.Spec.Replicas != 3 || kcp.Spec.Version != "v1.36.0" {
		t.Errorf("KubeadmControlPlane = %+v", kcp.Spec)
	}
	if a.Spec.Region != "eu-west-1" || a.Spec.Network.CIDRBlock != "10.1.0.0/16" || len(a.Spec.Network.AvailabilityZones) != 2 ||
		!a.Spec.Network.NATGatewayPerZone || a.Spec.Network.APIServerPort != 6443 {
		t.Errorf("AWSCluster spec = %+v", a.Spec)
	}

	// A new machine spec is a new template, which is what rolls the
	// control plane; the same spec keeps the name.
	again, _ := ExpandCluster(context.Background(), awsModel())
	if again.ControlPlaneTemplate.Name != tmpl.Name {
		t.Errorf("template name not stable: %s, %s", tmpl.Name, again.ControlPlaneTemplate.Name)
	}
	changed := awsModel()
	changed.ControlPlane.Machine.InstanceType = types.StringValue("m5.xlarge")
	other, _ := ExpandCluster(context.Background(), changed)
	if other.ControlPlaneTemplate.Name == tmpl.Name {
		t.Error("a changed machine spec kept the template name")
	}
}

func TestAWSRoundTrip(t *testing.T) {
	ctx := context.Background()
	in := awsModel()
	objs, _ := ExpandCluster(ctx, in)
	out, diags := FlattenCluster(ctx, objs, nil)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if out.AWS == nil || !out.AWS.Region.Equal(in.AWS.Region) || !out.AWS.VPCCIDR.Equal(in.AWS.VPCCIDR) || !out.AWS.VPCID.IsNull() ||
		!out.AWS.AvailabilityZones.Equal(in.AWS.AvailabilityZones) || !out.AWS.NATGatewayPerZone.Equal(in.AWS.NATGatewayPerZone) {
		t.Errorf("aws = %+v", out.AWS)
	}
	cp := out.ControlPlane
	if cp == nil || !cp.Replicas.Equal(in.ControlPlane.Replicas) || !cp.Version.Equal(in.ControlPlane.Version) || cp.Machine == nil ||
		!cp.Machine.AMI.Equal(in.ControlPlane.Machine.AMI) || !cp.Machine.SSHKeyName.Equal(in.ControlPlane.Machine.SSHKeyName) ||
		!cp.Machine.RootVolumeSize.IsNull() || !cp.Machine.IAMInstanceProfile.IsNull() {
		t.Errorf("control_plane = %+v, machine %+v", cp, cp.Machine)
	}
	if _, ok := out.Labels.Elements()[clusterv1.WatchLabel]; ok {
		t.Error("the watch-filter label shows in labels")
	}
}
