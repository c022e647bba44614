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
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
)

// MachineModel is the Terraform shape of a standalone Machine.
type MachineModel struct {
	ID          types.String  `tfsdk:"id"`
	Name        types.String  `tfsdk:"name"`
	Namespace   types.String  `tfsdk:"namespace"`
	Cluster     types.String  `tfsdk:"cluster"`
	Version     types.String  `tfsdk:"version"`
	Labels      types.Map     `tfsdk:"labels"`
	Annotations types.Map     `tfsdk:"annotations"`
	Kubeadm     *KubeadmModel `tfsdk:"kubeadm"`
	// Infrastructure is the machine's cloud and its block, which the
	// resource's model holds under the cloud's name.
	Infrastructure InfraBlock `tfsdk:"-"`
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

// MachineObjects are the objects a capi_machine owns.
type MachineObjects struct {
	Machine *clusterv1.Machine
	// Cloud is the machine's cloud, and Infrastructure its InfraMachine.
	Cloud          infrastructure.Infrastructure
	Infrastructure client.Object
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
	machine.Labels = tfconv.StringMap(ctx, m.Labels, &diags)
	if machine.Labels == nil {
		machine.Labels = map[string]string{}
	}
	for k, v := range labels {
		machine.Labels[k] = v
	}
	machine.Annotations = tfconv.StringMap(ctx, m.Annotations, &diags)
	machine.Spec.ClusterName = cluster
	machine.Spec.Version = m.Version.ValueString()
	objs := MachineObjects{Machine: machine}

	var nodes infrastructure.Nodes
	if cloud := m.Infrastructure.Cloud; cloud != nil {
		infra, failureDomain, d := cloud.ExpandMachine(ctx, metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}, m.Infrastructure.Block)
		diags.Append(d...)
		objs.Cloud, objs.Infrastructure = cloud, infra
		kinds := cloud.Kinds()
		machine.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: kinds.Group, Kind: kinds.Machine, Name: name}
		machine.Spec.FailureDomain = failureDomain
		nodes = workerNodes(ctx, cloud, &diags)
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
		if nodes.Worker != nil {
			objs.KubeadmConfig.Spec.JoinConfiguration.NodeRegistration = nodes.Worker(nil)
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
		Version:    tfconv.OptionalString(mc.Spec.Version),
		UID:        types.StringValue(string(mc.UID)),
		ProviderID: tfconv.OptionalString(mc.Spec.ProviderID),
		Phase:      types.StringValue(mc.Status.Phase),
		NodeReady:  types.BoolNull(),
	}
	var priorLabels, priorAnnotations *types.Map
	if prior != nil {
		priorLabels, priorAnnotations = &prior.Labels, &prior.Annotations
	}
	m.Labels = flattenStringMap(ctx, mc.Labels, priorLabels, &diags)
	m.Annotations = flattenStringMap(ctx, mc.Annotations, priorAnnotations, &diags)
	var own bootstrapv1.NodeRegistrationOptions
	if cloud := objs.Cloud; cloud != nil {
		m.Infrastructure.Cloud = cloud
		m.Infrastructure.Block = infrastructure.NullBlock(cloud.MachineAttributes())
		if objs.Infrastructure != nil {
			block, d := cloud.FlattenMachine(ctx, objs.Infrastructure, mc.Spec.FailureDomain)
			diags.Append(d...)
			m.Infrastructure.Block = block
		}
		if nodes := workerNodes(ctx, cloud, &diags); nodes.Worker != nil {
			own = nodes.Worker(nil)
		}
	}
	if k := objs.KubeadmConfig; k != nil {
		m.Kubeadm = flattenKubeadm(ctx, k.Spec, k.Spec.JoinConfiguration.NodeRegistration, own, &diags)
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

// workerNodes is how a cloud's worker nodes register. A worker's
// registration does not depend on the cluster.
func workerNodes(ctx context.Context, cloud infrastructure.Infrastructure, diags *diag.Diagnostics) infrastructure.Nodes {
	nodes, err := cloud.Nodes(ctx, nil, "")
	if err != nil {
		diags.AddError("Node settings of "+cloud.Name(), err.Error())
	}
	return nodes
}
