package capiobj

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
)

// awsCloud is the cloud of the AWS-backed models below.
var awsCloud = aws.Infrastructure{}

// awsClusterBlock is capi_cluster's aws block, as a plan holds it.
type awsClusterBlock struct {
	Region                 types.String `tfsdk:"region"`
	VPCID                  types.String `tfsdk:"vpc_id"`
	SubnetIDs              types.List   `tfsdk:"subnet_ids"`
	VPCCIDR                types.String `tfsdk:"vpc_cidr"`
	AvailabilityZones      types.List   `tfsdk:"availability_zones"`
	NATGatewayPerZone      types.Bool   `tfsdk:"nat_gateway_per_zone"`
	CloudControllerManager types.Bool   `tfsdk:"cloud_controller_manager"`
}

// awsImageLookupBlock is a machine's aws image_lookup block.
type awsImageLookupBlock struct {
	Owner      types.String `tfsdk:"owner"`
	NameFormat types.String `tfsdk:"name_format"`
	BaseOS     types.String `tfsdk:"base_os"`
}

// awsMachineBlock is an EC2 instance's settings: control_plane.machine and
// a deployment's aws block.
type awsMachineBlock struct {
	AMI                types.String         `tfsdk:"ami"`
	ImageLookup        *awsImageLookupBlock `tfsdk:"image_lookup"`
	InstanceType       types.String         `tfsdk:"instance_type"`
	RootVolumeSize     types.Int32          `tfsdk:"root_volume_size"`
	SSHKeyName         types.String         `tfsdk:"ssh_key_name"`
	IAMInstanceProfile types.String         `tfsdk:"iam_instance_profile"`
	RootVolumeKMSKeyID types.String         `tfsdk:"root_volume_kms_key_id"`
	MetadataOptions    *awsMetadataBlock    `tfsdk:"metadata_options"`
	// InsecureSkipSecretsManager puts the bootstrap data in user data.
	InsecureSkipSecretsManager types.Bool `tfsdk:"insecure_skip_secrets_manager"`
}

// awsMetadataBlock is a machine's aws metadata_options block.
type awsMetadataBlock struct {
	HTTPTokens   types.String `tfsdk:"http_tokens"`
	HTTPHopLimit types.Int32  `tfsdk:"http_put_response_hop_limit"`
}

// encodeBlock makes a block value with the given attributes from v.
func encodeBlock(attrs map[string]schema.Attribute, v any) types.Object {
	obj, diags := types.ObjectValueFrom(context.Background(), infrastructure.BlockType(attrs), v)
	if diags.HasError() {
		panic(diags)
	}
	return obj
}

// decodeBlock reads a block value into out.
func decodeBlock(t *testing.T, block types.Object, out any) {
	t.Helper()
	if block.IsNull() || block.IsUnknown() {
		t.Fatalf("block = %v, want a value", block)
	}
	if diags := block.As(context.Background(), out, basetypes.ObjectAsOptions{}); diags.HasError() {
		t.Fatal(diags)
	}
}

func awsClusterSettings() awsClusterBlock {
	return awsClusterBlock{Region: types.StringValue("eu-west-1"), VPCID: types.StringNull(), SubnetIDs: types.ListNull(types.StringType), VPCCIDR: types.StringValue("10.1.0.0/16"),
		AvailabilityZones: stringList("eu-west-1a", "eu-west-1b"), NATGatewayPerZone: types.BoolValue(true),
		CloudControllerManager: types.BoolNull()}
}

func awsClusterBlockValue(b awsClusterBlock) types.Object {
	return encodeBlock(awsCloud.ClusterAttribute().Attributes, b)
}

func awsControlPlaneMachine() awsMachineBlock {
	return awsMachineBlock{AMI: types.StringValue("ami-0123456789abcdef0"), InstanceType: types.StringValue("t3.large"),
		RootVolumeSize: types.Int32Null(), SSHKeyName: types.StringValue("ops"), IAMInstanceProfile: types.StringNull(),
		InsecureSkipSecretsManager: types.BoolValue(false)}
}

func awsMachineTemplateValue(b awsMachineBlock) types.Object {
	return encodeBlock(awsCloud.MachineTemplateAttributes(), b)
}

func awsModel() ClusterModel {
	m := fullModel()
	m.ControlPlaneEndpoint = types.ObjectNull(EndpointAttrTypes)
	m.Infrastructure = InfraBlock{Cloud: awsCloud, Block: awsClusterBlockValue(awsClusterSettings())}
	m.ControlPlane = &ControlPlaneModel{Replicas: types.Int32Value(3), Version: types.StringValue("v1.36.0"),
		Machine: controlPlaneMachineValue(awsMachineTemplateValue(awsControlPlaneMachine()))}
	return m
}

// controlPlaneMachineValue is a cloud's machine settings as
// control_plane.machine holds them: with every cloud's attributes.
func controlPlaneMachineValue(machine types.Object) types.Object {
	v, diags := infrastructure.Widen(machine, infrastructure.BlockType(registry.ControlPlaneMachineAttributes()))
	if diags.HasError() {
		panic(diags)
	}
	return v
}

func TestExpandClusterWithAWSAndControlPlane(t *testing.T) {
	objs, diags := ExpandCluster(context.Background(), awsModel())
	if diags.HasError() {
		t.Fatal(diags)
	}
	c, kcp := objs.Cluster, objs.ControlPlane
	a, _ := objs.Infrastructure.(*infrav1.AWSCluster)
	tmpl, _ := objs.ControlPlaneTemplate.(*infrav1.AWSMachineTemplate)
	if !objs.Managed() || objs.Cloud != awsCloud || a == nil || kcp == nil || tmpl == nil {
		t.Fatalf("objects = %+v", objs)
	}
	for _, labels := range []map[string]string{c.Labels, a.Labels, kcp.Labels, tmpl.Labels, kcp.Spec.MachineTemplate.ObjectMeta.Labels} {
		if labels[clusterv1.WatchLabel] != WatchFilterValue {
			t.Errorf("watch-filter label missing: %v", labels)
		}
	}
	if c.Spec.InfrastructureRef.Kind != "AWSCluster" || c.Spec.InfrastructureRef.APIGroup != infrav1.GroupVersion.Group ||
		c.Spec.InfrastructureRef.Name != c.Name {
		t.Errorf("infrastructureRef = %+v", c.Spec.InfrastructureRef)
	}
	if c.Spec.ControlPlaneRef.Kind != "KubeadmControlPlane" || c.Spec.ControlPlaneRef.Name != kcp.Name {
		t.Errorf("controlPlaneRef = %+v", c.Spec.ControlPlaneRef)
	}
	if ref := kcp.Spec.MachineTemplate.Spec.InfrastructureRef; ref.Name != tmpl.Name || ref.Kind != "AWSMachineTemplate" ||
		*kcp.Spec.Replicas != 3 || kcp.Spec.Version != "v1.36.0" {
		t.Errorf("KubeadmControlPlane = %+v", kcp.Spec)
	}
	if a.Spec.Region != "eu-west-1" || a.Spec.Network.CIDRBlock != "10.1.0.0/16" || len(a.Spec.Network.AvailabilityZones) != 2 ||
		!a.Spec.Network.NATGatewayPerZone || a.Spec.Network.APIServerPort != 6443 {
		t.Errorf("AWSCluster spec = %+v", a.Spec)
	}
	if s := tmpl.Spec.Template.Spec; s.AMI != "ami-0123456789abcdef0" || s.InstanceType != "t3.large" || s.SSHKeyName != "ops" {
		t.Errorf("AWSMachineTemplate spec = %+v", s)
	}

	// A new machine spec is a new template, which is what rolls the
	// control plane; the same spec keeps the name.
	again, _ := ExpandCluster(context.Background(), awsModel())
	if again.ControlPlaneTemplate.GetName() != tmpl.Name {
		t.Errorf("template name not stable: %s, %s", tmpl.Name, again.ControlPlaneTemplate.GetName())
	}
	changed := awsModel()
	machine := awsControlPlaneMachine()
	machine.InstanceType = types.StringValue("m5.xlarge")
	changed.ControlPlane.Machine = awsMachineTemplateValue(machine)
	other, _ := ExpandCluster(context.Background(), changed)
	if other.ControlPlaneTemplate.GetName() == tmpl.Name {
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
	if out.Infrastructure.Cloud != awsCloud {
		t.Fatalf("cloud = %v", out.Infrastructure.Cloud)
	}
	want := awsClusterSettings()
	var got awsClusterBlock
	decodeBlock(t, out.Infrastructure.Block, &got)
	if !got.Region.Equal(want.Region) || !got.VPCCIDR.Equal(want.VPCCIDR) || !got.VPCID.IsNull() ||
		!got.AvailabilityZones.Equal(want.AvailabilityZones) || !got.NATGatewayPerZone.Equal(want.NATGatewayPerZone) {
		t.Errorf("aws = %+v", got)
	}
	cp := out.ControlPlane
	if cp == nil || !cp.Replicas.Equal(in.ControlPlane.Replicas) || !cp.Version.Equal(in.ControlPlane.Version) || cp.Machine.IsNull() {
		t.Fatalf("control_plane = %+v", cp)
	}
	if want := infrastructure.BlockType(registry.ControlPlaneMachineAttributes()); !cp.Machine.Type(context.Background()).Equal(types.ObjectType{AttrTypes: want}) {
		t.Fatalf("control_plane.machine has type %s, not the schema's (every cloud's settings)", cp.Machine.Type(context.Background()))
	}
	wantMachine := awsControlPlaneMachine()
	var machine awsMachineBlock
	narrow, diags := infrastructure.Narrow(cp.Machine, infrastructure.BlockType(awsCloud.MachineTemplateAttributes()))
	if diags.HasError() {
		t.Fatal(diags)
	}
	decodeBlock(t, narrow, &machine)
	if !machine.AMI.Equal(wantMachine.AMI) || !machine.SSHKeyName.Equal(wantMachine.SSHKeyName) ||
		!machine.RootVolumeSize.IsNull() || !machine.IAMInstanceProfile.IsNull() {
		t.Errorf("control_plane = %+v, machine %+v", cp, machine)
	}
	if _, ok := out.Labels.Elements()[clusterv1.WatchLabel]; ok {
		t.Error("the watch-filter label shows in labels")
	}
}
