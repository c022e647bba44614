package capiobj

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// WatchFilterValue marks the objects whose reconcilers the provider runs
// (Cluster API's watch-filter label). It matches the engine's.
const WatchFilterValue = "terraform-provider-capi"

// RoleLabel tells the provider's templates apart.
const RoleLabel = "terraform-capi.io/role"

// AWSModel is the aws block of capi_cluster: an AWSCluster.
type AWSModel struct {
	Region            types.String `tfsdk:"region"`
	VPCID             types.String `tfsdk:"vpc_id"`
	VPCCIDR           types.String `tfsdk:"vpc_cidr"`
	AvailabilityZones types.List   `tfsdk:"availability_zones"`
	NATGatewayPerZone types.Bool   `tfsdk:"nat_gateway_per_zone"`
	// CloudControllerManager runs the AWS cloud controller manager as an
	// add-on, which initialises the nodes (kubelet's cloud-provider
	// external) instead of kubelet's provider-id.
	CloudControllerManager types.Bool `tfsdk:"cloud_controller_manager"`
}

// ControlPlaneModel is the control_plane block: a KubeadmControlPlane and
// the AWSMachineTemplate of its machines.
type ControlPlaneModel struct {
	Replicas types.Int32               `tfsdk:"replicas"`
	Version  types.String              `tfsdk:"version"`
	Machine  *AWSMachineModel          `tfsdk:"machine"`
	Kubeadm  *ControlPlaneKubeadmModel `tfsdk:"kubeadm"`
}

// AWSMachineModel is an EC2 instance's settings.
type AWSMachineModel struct {
	AMI                types.String      `tfsdk:"ami"`
	ImageLookup        *ImageLookupModel `tfsdk:"image_lookup"`
	InstanceType       types.String      `tfsdk:"instance_type"`
	RootVolumeSize     types.Int32       `tfsdk:"root_volume_size"`
	SSHKeyName         types.String      `tfsdk:"ssh_key_name"`
	IAMInstanceProfile types.String      `tfsdk:"iam_instance_profile"`
}

// ImageLookupModel finds a machine's AMI by its Kubernetes version when no
// ami is set; null fields take Cluster API's published images.
type ImageLookupModel struct {
	Owner      types.String `tfsdk:"owner"`
	NameFormat types.String `tfsdk:"name_format"`
	BaseOS     types.String `tfsdk:"base_os"`
}

func expandImageLookup(m *ImageLookupModel) *infrav1.ImageLookup {
	if m == nil {
		return nil
	}
	return &infrav1.ImageLookup{Owner: m.Owner.ValueString(), NameFormat: m.NameFormat.ValueString(), BaseOS: m.BaseOS.ValueString()}
}

// flattenMachineTemplate reads the instance settings of a machine template.
func flattenMachineTemplate(t *infrav1.AWSMachineTemplate) *AWSMachineModel {
	s := t.Spec.Template.Spec
	return &AWSMachineModel{
		AMI: optionalString(s.AMI), ImageLookup: flattenImageLookup(s.ImageLookup),
		InstanceType: types.StringValue(s.InstanceType), RootVolumeSize: optionalInt32(s.RootVolumeSizeGiB),
		SSHKeyName: optionalString(s.SSHKeyName), IAMInstanceProfile: optionalString(s.IAMInstanceProfile),
	}
}

func flattenImageLookup(l *infrav1.ImageLookup) *ImageLookupModel {
	if l == nil {
		return nil
	}
	return &ImageLookupModel{Owner: optionalString(l.Owner), NameFormat: optionalString(l.NameFormat), BaseOS: optionalString(l.BaseOS)}
}

// ClusterObjects are the objects a capi_cluster owns. Without an aws block
// only the Cluster exists.
type ClusterObjects struct {
	Cluster              *clusterv1.Cluster
	AWSCluster           *infrav1.AWSCluster
	ControlPlane         *controlplanev1.KubeadmControlPlane
	ControlPlaneTemplate *infrav1.AWSMachineTemplate
	// Addons are applied to the workload cluster by Cluster API's
	// ClusterResourceSet reconciler.
	Addons []Addon
}

// Managed reports whether the provider runs reconcilers for the cluster.
func (o ClusterObjects) Managed() bool { return o.AWSCluster != nil }

// DefaultControlPlaneReplicas is the size of a control plane whose
// configuration sets none.
const DefaultControlPlaneReplicas int32 = 1

// ControlPlaneName is the name of a cluster's KubeadmControlPlane.
func ControlPlaneName(cluster string) string { return cluster + "-control-plane" }

// ExpandCluster builds every object of a capi_cluster from a fully known
// plan.
func ExpandCluster(ctx context.Context, m ClusterModel) (ClusterObjects, diag.Diagnostics) {
	c, diags := expandClusterObject(ctx, m)
	objs := ClusterObjects{Cluster: c}
	if m.AWS == nil {
		return objs, diags
	}
	labels := map[string]string{clusterv1.WatchLabel: WatchFilterValue, clusterv1.ClusterNameLabel: c.Name}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	c.Labels[clusterv1.WatchLabel] = WatchFilterValue
	// What the cluster's ClusterResourceSets select it by.
	c.Labels[clusterv1.ClusterNameLabel] = c.Name
	ccm := m.AWS.CloudControllerManager.ValueBool()
	addons := m.Addons
	if ccm && m.ControlPlane != nil {
		addon, err := ccmAddon(m.ControlPlane.Version.ValueString())
		if err != nil {
			diags.AddAttributeError(path.Root("control_plane").AtName("version"), "Invalid control plane version", err.Error())
		}
		addons = make(map[string]AddonModel, len(m.Addons)+1)
		for name, a := range m.Addons {
			addons[name] = a
		}
		addons[CCMAddon] = addon
	}
	objs.Addons = expandAddons(c.Namespace, c.Name, addons)

	objs.AWSCluster = &infrav1.AWSCluster{
		TypeMeta:   metav1.TypeMeta{APIVersion: infrav1.GroupVersion.String(), Kind: "AWSCluster"},
		ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: c.Name, Labels: labels},
		Spec: infrav1.AWSClusterSpec{
			Region: m.AWS.Region.ValueString(),
			Network: infrav1.NetworkSpec{
				VPCID:             m.AWS.VPCID.ValueString(),
				CIDRBlock:         m.AWS.VPCCIDR.ValueString(),
				AvailabilityZones: expandStringList(ctx, m.AWS.AvailabilityZones, &diags),
				NATGatewayPerZone: m.AWS.NATGatewayPerZone.ValueBool(),
				APIServerPort:     c.Spec.ClusterNetwork.APIServerPort,
			},
		},
	}
	if ccm {
		objs.AWSCluster.Labels = map[string]string{CCMLabel: externalCloudProvider}
		for k, v := range labels {
			objs.AWSCluster.Labels[k] = v
		}
	}
	c.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "AWSCluster", Name: c.Name}

	if cp := m.ControlPlane; cp != nil {
		spec := expandMachine(cp.Machine)
		templateLabels := map[string]string{clusterv1.WatchLabel: WatchFilterValue, clusterv1.ClusterNameLabel: c.Name, RoleLabel: "control-plane"}
		objs.ControlPlaneTemplate = &infrav1.AWSMachineTemplate{
			TypeMeta: metav1.TypeMeta{APIVersion: infrav1.GroupVersion.String(), Kind: "AWSMachineTemplate"},
			// Templates are immutable by Cluster API convention: a new spec
			// is a new template, and KCP rolls its machines onto it.
			ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: ControlPlaneName(c.Name) + "-" + specHash(spec), Labels: templateLabels},
			Spec:       infrav1.AWSMachineTemplateSpec{Template: infrav1.AWSMachineTemplateResource{Spec: spec}},
		}
		kcp := &controlplanev1.KubeadmControlPlane{
			TypeMeta:   metav1.TypeMeta{APIVersion: controlplanev1.GroupVersion.String(), Kind: "KubeadmControlPlane"},
			ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: ControlPlaneName(c.Name), Labels: labels},
		}
		kcp.Spec.Replicas = ptr.To(DefaultControlPlaneReplicas)
		if !cp.Replicas.IsNull() {
			kcp.Spec.Replicas = ptr.To(cp.Replicas.ValueInt32())
		}
		kcp.Spec.Version = cp.Version.ValueString()
		kubeadm := &kcp.Spec.KubeadmConfigSpec
		kubeadm.InitConfiguration.NodeRegistration = awsNodeRegistration(nil)
		kubeadm.JoinConfiguration.NodeRegistration = awsNodeRegistration(nil)
		if ccm {
			kubeadm.InitConfiguration.NodeRegistration = ccmNodeRegistration()
			kubeadm.JoinConfiguration.NodeRegistration = ccmNodeRegistration()
			kubeadm.ClusterConfiguration.ControllerManager.ExtraArgs = []bootstrapv1.Arg{{Name: cloudProviderArg, Value: ptr.To(externalCloudProvider)}}
		}
		expandControlPlaneKubeadm(ctx, cp.Kubeadm, kubeadm, &diags)
		// Machines inherit these labels, so the engine reconciles them too.
		kcp.Spec.MachineTemplate.ObjectMeta.Labels = map[string]string{clusterv1.WatchLabel: WatchFilterValue}
		kcp.Spec.MachineTemplate.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{
			APIGroup: infrav1.GroupVersion.Group, Kind: "AWSMachineTemplate", Name: objs.ControlPlaneTemplate.Name}
		objs.ControlPlane = kcp
		c.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "KubeadmControlPlane", Name: kcp.Name}
	}
	return objs, diags
}

func expandMachine(m *AWSMachineModel) infrav1.AWSMachineSpec {
	if m == nil {
		return infrav1.AWSMachineSpec{}
	}
	return infrav1.AWSMachineSpec{
		AMI: m.AMI.ValueString(), ImageLookup: expandImageLookup(m.ImageLookup),
		InstanceType: m.InstanceType.ValueString(), RootVolumeSizeGiB: m.RootVolumeSize.ValueInt32(),
		SSHKeyName: m.SSHKeyName.ValueString(), IAMInstanceProfile: m.IAMInstanceProfile.ValueString(),
	}
}

// specHash is a short, stable digest of a template spec, for template names.
func specHash(spec any) string {
	data, _ := json.Marshal(spec)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:8]
}

// Nested attributes with defaults are not computed (Terraform would plan
// them as unknown on every change): a default value reads back as null
// unless the configuration had set it.

func flattenAWS(ctx context.Context, a *infrav1.AWSCluster, prior *AWSModel, diags *diag.Diagnostics) *AWSModel {
	if a == nil {
		return nil
	}
	natPerZone := types.BoolValue(a.Spec.Network.NATGatewayPerZone)
	if !a.Spec.Network.NATGatewayPerZone && (prior == nil || prior.NATGatewayPerZone.IsNull()) {
		natPerZone = types.BoolNull()
	}
	ccm := types.BoolValue(a.Labels[CCMLabel] == externalCloudProvider)
	if !ccm.ValueBool() && (prior == nil || prior.CloudControllerManager.IsNull()) {
		ccm = types.BoolNull()
	}
	return &AWSModel{
		CloudControllerManager: ccm,
		Region:                 types.StringValue(a.Spec.Region),
		VPCID:                  optionalString(a.Spec.Network.VPCID),
		VPCCIDR:                optionalString(a.Spec.Network.CIDRBlock),
		AvailabilityZones:      flattenStringList(ctx, a.Spec.Network.AvailabilityZones, diags),
		NATGatewayPerZone:      natPerZone,
	}
}

func flattenControlPlane(ctx context.Context, kcp *controlplanev1.KubeadmControlPlane, t *infrav1.AWSMachineTemplate, ccm bool, prior *ControlPlaneModel, diags *diag.Diagnostics) *ControlPlaneModel {
	if kcp == nil {
		return nil
	}
	replicas := types.Int32Value(ptr.Deref(kcp.Spec.Replicas, 1))
	if replicas.ValueInt32() == DefaultControlPlaneReplicas && (prior == nil || prior.Replicas.IsNull()) {
		replicas = types.Int32Null()
	}
	m := &ControlPlaneModel{Replicas: replicas, Version: types.StringValue(kcp.Spec.Version),
		Kubeadm: flattenControlPlaneKubeadm(ctx, kcp.Spec.KubeadmConfigSpec, ccm, diags)}
	if t != nil {
		m.Machine = flattenMachineTemplate(t)
	}
	return m
}
