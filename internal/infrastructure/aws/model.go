package aws

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
)

// clusterModel is capi_cluster's aws block: an AWSCluster.
type clusterModel struct {
	Region            types.String `tfsdk:"region"`
	VPCID             types.String `tfsdk:"vpc_id"`
	SubnetIDs         types.List   `tfsdk:"subnet_ids"`
	VPCCIDR           types.String `tfsdk:"vpc_cidr"`
	AvailabilityZones types.List   `tfsdk:"availability_zones"`
	NATGatewayPerZone types.Bool   `tfsdk:"nat_gateway_per_zone"`
	// CloudControllerManager runs the AWS cloud controller manager as an
	// add-on, which initialises the nodes (kubelet's cloud-provider
	// external) instead of kubelet's provider-id.
	CloudControllerManager types.Bool `tfsdk:"cloud_controller_manager"`
}

// machineTemplateModel is an EC2 instance's settings.
type machineTemplateModel struct {
	AMI                types.String      `tfsdk:"ami"`
	ImageLookup        *imageLookupModel `tfsdk:"image_lookup"`
	InstanceType       types.String      `tfsdk:"instance_type"`
	RootVolumeSize     types.Int32       `tfsdk:"root_volume_size"`
	SSHKeyName         types.String      `tfsdk:"ssh_key_name"`
	IAMInstanceProfile types.String      `tfsdk:"iam_instance_profile"`
	RootVolumeKMSKeyID types.String      `tfsdk:"root_volume_kms_key_id"`
	MetadataOptions    *metadataModel    `tfsdk:"metadata_options"`
	// InsecureSkipSecretsManager puts the bootstrap data in user data.
	InsecureSkipSecretsManager types.Bool `tfsdk:"insecure_skip_secrets_manager"`
}

// metadataModel is an instance's metadata options; null fields take the
// hardened defaults (IMDSv2 required, hop limit 1).
type metadataModel struct {
	HTTPTokens   types.String `tfsdk:"http_tokens"`
	HTTPHopLimit types.Int32  `tfsdk:"http_put_response_hop_limit"`
}

// machineModel is capi_machine's aws block: an instance and its zone.
type machineModel struct {
	machineTemplateModel
	AvailabilityZone types.String `tfsdk:"availability_zone"`
}

// imageLookupModel finds a machine's AMI by its Kubernetes version when no
// ami is set; null fields take Cluster API's published images.
type imageLookupModel struct {
	Owner      types.String `tfsdk:"owner"`
	NameFormat types.String `tfsdk:"name_format"`
	BaseOS     types.String `tfsdk:"base_os"`
}

// ExpandCluster builds the AWSCluster.
func (i Infrastructure) ExpandCluster(ctx context.Context, c infrastructure.ClusterMeta, block types.Object) (client.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	m, _ := tfconv.Decode[clusterModel](ctx, block, &diags)
	a := &infrav1.AWSCluster{
		TypeMeta:   metav1.TypeMeta{APIVersion: infrav1.GroupVersion.String(), Kind: clusterKind},
		ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: c.Name, Labels: map[string]string{}},
		Spec: infrav1.AWSClusterSpec{
			Region: m.Region.ValueString(),
			Network: infrav1.NetworkSpec{
				VPCID:             m.VPCID.ValueString(),
				SubnetIDs:         tfconv.Strings(ctx, m.SubnetIDs, &diags),
				CIDRBlock:         m.VPCCIDR.ValueString(),
				AvailabilityZones: tfconv.Strings(ctx, m.AvailabilityZones, &diags),
				NATGatewayPerZone: m.NATGatewayPerZone.ValueBool(),
				APIServerPort:     c.APIServerPort,
			},
		},
	}
	for k, v := range c.Labels {
		a.Labels[k] = v
	}
	if m.CloudControllerManager.ValueBool() {
		a.Labels[CCMLabel] = externalCloudProvider
	}
	return a, diags
}

// Nested attributes with defaults are not computed (Terraform would plan
// them as unknown on every change): a default value reads back as null
// unless the configuration had set it.

// FlattenCluster reads the aws block back from an AWSCluster.
func (i Infrastructure) FlattenCluster(ctx context.Context, obj client.Object, prior types.Object) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	a, ok := obj.(*infrav1.AWSCluster)
	if !ok || a == nil {
		return infrastructure.NullBlock(i.ClusterAttribute().Attributes), diags
	}
	p, hasPrior := tfconv.Decode[clusterModel](ctx, prior, &diags)
	natPerZone := types.BoolValue(a.Spec.Network.NATGatewayPerZone)
	if !a.Spec.Network.NATGatewayPerZone && (!hasPrior || p.NATGatewayPerZone.IsNull()) {
		natPerZone = types.BoolNull()
	}
	ccm := types.BoolValue(usesCCM(a))
	if !ccm.ValueBool() && (!hasPrior || p.CloudControllerManager.IsNull()) {
		ccm = types.BoolNull()
	}
	m := clusterModel{
		CloudControllerManager: ccm,
		Region:                 types.StringValue(a.Spec.Region),
		VPCID:                  tfconv.OptionalString(a.Spec.Network.VPCID),
		SubnetIDs:              tfconv.StringList(ctx, a.Spec.Network.SubnetIDs, &diags),
		VPCCIDR:                tfconv.OptionalString(a.Spec.Network.CIDRBlock),
		AvailabilityZones:      tfconv.StringList(ctx, a.Spec.Network.AvailabilityZones, &diags),
		NATGatewayPerZone:      natPerZone,
	}
	return infrastructure.EncodeBlock(ctx, i.ClusterAttribute().Attributes, m, &diags), diags
}

func expandMachineSpec(m machineTemplateModel) infrav1.AWSMachineSpec {
	s := infrav1.AWSMachineSpec{
		AMI: m.AMI.ValueString(), InstanceType: m.InstanceType.ValueString(), RootVolumeSizeGiB: m.RootVolumeSize.ValueInt32(),
		SSHKeyName: m.SSHKeyName.ValueString(), IAMInstanceProfile: m.IAMInstanceProfile.ValueString(),
		RootVolumeKMSKeyID: m.RootVolumeKMSKeyID.ValueString(),
		CloudInit:          infrav1.CloudInit{InsecureSkipSecretsManager: m.InsecureSkipSecretsManager.ValueBool()},
	}
	if l := m.ImageLookup; l != nil {
		s.ImageLookup = &infrav1.ImageLookup{Owner: l.Owner.ValueString(), NameFormat: l.NameFormat.ValueString(), BaseOS: l.BaseOS.ValueString()}
	}
	if o := m.MetadataOptions; o != nil {
		s.InstanceMetadataOptions = &infrav1.InstanceMetadataOptions{HTTPTokens: o.HTTPTokens.ValueString(), HTTPPutResponseHopLimit: o.HTTPHopLimit.ValueInt32()}
	}
	return s
}

func flattenMachineSpec(s infrav1.AWSMachineSpec) machineTemplateModel {
	m := machineTemplateModel{
		AMI: tfconv.OptionalString(s.AMI), InstanceType: types.StringValue(s.InstanceType), RootVolumeSize: tfconv.OptionalInt32(s.RootVolumeSizeGiB),
		SSHKeyName: tfconv.OptionalString(s.SSHKeyName), IAMInstanceProfile: tfconv.OptionalString(s.IAMInstanceProfile),
		RootVolumeKMSKeyID:         tfconv.OptionalString(s.RootVolumeKMSKeyID),
		InsecureSkipSecretsManager: types.BoolValue(s.CloudInit.InsecureSkipSecretsManager),
	}
	if l := s.ImageLookup; l != nil {
		m.ImageLookup = &imageLookupModel{Owner: tfconv.OptionalString(l.Owner), NameFormat: tfconv.OptionalString(l.NameFormat), BaseOS: tfconv.OptionalString(l.BaseOS)}
	}
	if o := s.InstanceMetadataOptions; o != nil {
		m.MetadataOptions = &metadataModel{HTTPTokens: tfconv.OptionalString(o.HTTPTokens), HTTPHopLimit: tfconv.OptionalInt32(o.HTTPPutResponseHopLimit)}
	}
	return m
}

// ExpandMachineTemplate builds an AWSMachineTemplate.
func (i Infrastructure) ExpandMachineTemplate(ctx context.Context, meta metav1.ObjectMeta, block types.Object) (client.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	m, _ := tfconv.Decode[machineTemplateModel](ctx, block, &diags)
	spec := expandMachineSpec(m)
	meta.Name += "-" + infrastructure.SpecHash(spec)
	return &infrav1.AWSMachineTemplate{
		TypeMeta:   metav1.TypeMeta{APIVersion: infrav1.GroupVersion.String(), Kind: machineTemplateKind},
		ObjectMeta: meta,
		Spec:       infrav1.AWSMachineTemplateSpec{Template: infrav1.AWSMachineTemplateResource{Spec: spec}},
	}, diags
}

// FlattenMachineTemplate reads an AWSMachineTemplate's settings.
func (i Infrastructure) FlattenMachineTemplate(ctx context.Context, obj client.Object) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	t, ok := obj.(*infrav1.AWSMachineTemplate)
	if !ok || t == nil {
		return infrastructure.NullBlock(i.MachineTemplateAttributes()), diags
	}
	return infrastructure.EncodeBlock(ctx, i.MachineTemplateAttributes(), flattenMachineSpec(t.Spec.Template.Spec), &diags), diags
}

// ExpandMachine builds a capi_machine's AWSMachine.
func (i Infrastructure) ExpandMachine(ctx context.Context, meta metav1.ObjectMeta, block types.Object) (client.Object, string, diag.Diagnostics) {
	var diags diag.Diagnostics
	m, _ := tfconv.Decode[machineModel](ctx, block, &diags)
	return &infrav1.AWSMachine{
		TypeMeta:   metav1.TypeMeta{APIVersion: infrav1.GroupVersion.String(), Kind: machineKind},
		ObjectMeta: meta,
		Spec:       expandMachineSpec(m.machineTemplateModel),
	}, m.AvailabilityZone.ValueString(), diags
}

// FlattenMachine reads a capi_machine's aws block back.
func (i Infrastructure) FlattenMachine(ctx context.Context, obj client.Object, failureDomain string) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	a, ok := obj.(*infrav1.AWSMachine)
	if !ok || a == nil {
		return infrastructure.NullBlock(i.MachineAttributes()), diags
	}
	m := machineModel{machineTemplateModel: flattenMachineSpec(a.Spec), AvailabilityZone: tfconv.OptionalString(failureDomain)}
	return infrastructure.EncodeBlock(ctx, i.MachineAttributes(), m, &diags), diags
}
