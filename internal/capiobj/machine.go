package capiobj

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// MachineModel is the Terraform shape of a standalone Machine.
type MachineModel struct {
	ID          types.String     `tfsdk:"id"`
	Name        types.String     `tfsdk:"name"`
	Namespace   types.String     `tfsdk:"namespace"`
	Cluster     types.String     `tfsdk:"cluster"`
	Version     types.String     `tfsdk:"version"`
	Labels      types.Map        `tfsdk:"labels"`
	Annotations types.Map        `tfsdk:"annotations"`
	AWS         *MachineAWSModel `tfsdk:"aws"`
	Kubeadm     *KubeadmModel    `tfsdk:"kubeadm"`
	// BootstrapScript, when set, replaces kubeadm: Cluster API's
	// dataSecretName path.
	BootstrapScript types.String `tfsdk:"bootstrap_script"`
	UID             types.String `tfsdk:"uid"`
	ProviderID      types.String `tfsdk:"provider_id"`
	Phase           types.String `tfsdk:"phase"`
	Conditions      types.List   `tfsdk:"conditions"`
	// NodeReady is observed at refresh in the workload cluster; null until
	// the machine has a node.
	NodeReady types.Bool `tfsdk:"node_ready"`
}

// MachineAWSModel is the EC2 instance of a Machine.
type MachineAWSModel struct {
	AMI                types.String      `tfsdk:"ami"`
	ImageLookup        *ImageLookupModel `tfsdk:"image_lookup"`
	InstanceType       types.String      `tfsdk:"instance_type"`
	RootVolumeSize     types.Int32       `tfsdk:"root_volume_size"`
	SSHKeyName         types.String      `tfsdk:"ssh_key_name"`
	IAMInstanceProfile types.String      `tfsdk:"iam_instance_profile"`
	AvailabilityZone   types.String      `tfsdk:"availability_zone"`
}

// MachineObjects are the objects a capi_machine owns.
type MachineObjects struct {
	Machine    *clusterv1.Machine
	AWSMachine *infrav1.AWSMachine
	// One of these two.
	KubeadmConfig   *bootstrapv1.KubeadmConfig
	BootstrapSecret *corev1.Secret
}

// BootstrapSecretName is the Secret holding a Machine's user-supplied
// bootstrap script.
func BootstrapSecretName(machine string) string { return machine + "-bootstrap" }

// ExpandMachine builds the objects of a capi_machine from a fully known plan.
func ExpandMachine(ctx context.Context, m MachineModel) (MachineObjects, diag.Diagnostics) {
	var diags diag.Diagnostics
	ns, name, cluster := m.Namespace.ValueString(), m.Name.ValueString(), m.Cluster.ValueString()
	labels := map[string]string{clusterv1.WatchLabel: WatchFilterValue, clusterv1.ClusterNameLabel: cluster}
	machine := &clusterv1.Machine{
		TypeMeta:   metav1.TypeMeta{APIVersion: clusterv1.GroupVersion.String(), Kind: "Machine"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
	}
	machine.Labels = expandStringMap(ctx, m.Labels, &diags)
	if machine.Labels == nil {
		machine.Labels = map[string]string{}
	}
	for k, v := range labels {
		machine.Labels[k] = v
	}
	machine.Annotations = expandStringMap(ctx, m.Annotations, &diags)
	machine.Spec.ClusterName = cluster
	machine.Spec.Version = m.Version.ValueString()
	objs := MachineObjects{Machine: machine}

	if a := m.AWS; a != nil {
		objs.AWSMachine = &infrav1.AWSMachine{
			TypeMeta:   metav1.TypeMeta{APIVersion: infrav1.GroupVersion.String(), Kind: "AWSMachine"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
			Spec: infrav1.AWSMachineSpec{AMI: a.AMI.ValueString(), ImageLookup: expandImageLookup(a.ImageLookup), InstanceType: a.InstanceType.ValueString(),
				RootVolumeSizeGiB: a.RootVolumeSize.ValueInt32(), SSHKeyName: a.SSHKeyName.ValueString(), IAMInstanceProfile: a.IAMInstanceProfile.ValueString()},
		}
		machine.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.GroupVersion.Group, Kind: "AWSMachine", Name: name}
		machine.Spec.FailureDomain = a.AvailabilityZone.ValueString()
	}
	if !m.BootstrapScript.IsNull() {
		objs.BootstrapSecret = &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: BootstrapSecretName(name), Labels: labels},
			Type:       clusterv1.ClusterSecretType,
			Data:       map[string][]byte{"value": []byte(m.BootstrapScript.ValueString()), "format": []byte("cloud-config")},
		}
		machine.Spec.Bootstrap.DataSecretName = ptr.To(objs.BootstrapSecret.Name)
	} else {
		// CABPK makes a KubeadmConfig a kubeadm join of the cluster once the
		// control plane is initialized.
		objs.KubeadmConfig = &bootstrapv1.KubeadmConfig{
			TypeMeta:   metav1.TypeMeta{APIVersion: bootstrapv1.GroupVersion.String(), Kind: "KubeadmConfig"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		}
		if m.AWS != nil {
			objs.KubeadmConfig.Spec.JoinConfiguration.NodeRegistration = awsNodeRegistration(nil)
		}
		spec := &objs.KubeadmConfig.Spec
		expandKubeadm(ctx, m.Kubeadm, spec, &diags, &spec.JoinConfiguration.NodeRegistration)
		machine.Spec.Bootstrap.ConfigRef = clusterv1.ContractVersionedObjectReference{APIGroup: bootstrapv1.GroupVersion.Group, Kind: "KubeadmConfig", Name: name}
	}
	return objs, diags
}

// FlattenMachine maps the objects read back to the model; prior filters
// labels and annotations as for clusters.
func FlattenMachine(ctx context.Context, objs MachineObjects, prior *MachineModel) (MachineModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	mc := objs.Machine
	m := MachineModel{
		ID:         types.StringValue(NamespacedID(mc.Namespace, mc.Name)),
		Name:       types.StringValue(mc.Name),
		Namespace:  types.StringValue(mc.Namespace),
		Cluster:    types.StringValue(mc.Spec.ClusterName),
		Version:    optionalString(mc.Spec.Version),
		UID:        types.StringValue(string(mc.UID)),
		ProviderID: optionalString(mc.Spec.ProviderID),
		Phase:      types.StringValue(mc.Status.Phase),
		NodeReady:  types.BoolNull(),
	}
	var priorLabels, priorAnnotations *types.Map
	if prior != nil {
		priorLabels, priorAnnotations = &prior.Labels, &prior.Annotations
	}
	m.Labels = flattenStringMap(ctx, mc.Labels, priorLabels, &diags)
	m.Annotations = flattenStringMap(ctx, mc.Annotations, priorAnnotations, &diags)
	if a := objs.AWSMachine; a != nil {
		m.AWS = &MachineAWSModel{
			AMI: optionalString(a.Spec.AMI), ImageLookup: flattenImageLookup(a.Spec.ImageLookup), InstanceType: types.StringValue(a.Spec.InstanceType),
			RootVolumeSize: optionalInt32(a.Spec.RootVolumeSizeGiB), SSHKeyName: optionalString(a.Spec.SSHKeyName),
			IAMInstanceProfile: optionalString(a.Spec.IAMInstanceProfile), AvailabilityZone: optionalString(mc.Spec.FailureDomain),
		}
	}
	if k := objs.KubeadmConfig; k != nil {
		m.Kubeadm = flattenKubeadm(ctx, k.Spec, k.Spec.JoinConfiguration.NodeRegistration, awsNodeRegistration(nil), &diags)
	}
	m.BootstrapScript = types.StringNull()
	if objs.BootstrapSecret != nil {
		m.BootstrapScript = types.StringValue(string(objs.BootstrapSecret.Data["value"]))
	}
	m.Conditions = FlattenConditions(mc.Status.Conditions, &diags)
	if mc.Status.NodeRef.IsDefined() {
		m.NodeReady = types.BoolValue(meta.IsStatusConditionTrue(mc.Status.Conditions, clusterv1.MachineNodeReadyCondition))
	}
	return m, diags
}
