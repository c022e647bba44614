package capiobj

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
)

// WatchFilterValue marks the objects whose reconcilers the provider runs
// (Cluster API's watch-filter label).
const WatchFilterValue = identity.WatchFilterValue

// RoleLabel tells the provider's templates apart.
const RoleLabel = identity.RoleLabel

// InfraBlock is a model's cloud and the cloud's block of it (the aws
// block, say). The zero value is no cloud.
type InfraBlock struct {
	Cloud infrastructure.Infrastructure
	Block types.Object
}

// Set reports whether the model has a cloud.
func (b InfraBlock) Set() bool { return b.Cloud != nil }

// ControlPlaneModel is the control_plane block: a KubeadmControlPlane and
// the machine template of its machines.
type ControlPlaneModel struct {
	Replicas types.Int32  `tfsdk:"replicas"`
	Version  types.String `tfsdk:"version"`
	// Machine is the cloud's machine settings (its
	// MachineTemplateAttributes).
	Machine types.Object              `tfsdk:"machine"`
	Kubeadm *ControlPlaneKubeadmModel `tfsdk:"kubeadm"`
}

// ClusterObjects are the objects a capi_cluster owns. Without a cloud only
// the Cluster exists.
type ClusterObjects struct {
	Cluster *clusterv1.Cluster
	// Cloud is the cluster's cloud, and Infrastructure its InfraCluster.
	Cloud                infrastructure.Infrastructure
	Infrastructure       client.Object
	ControlPlane         *controlplanev1.KubeadmControlPlane
	ControlPlaneTemplate client.Object
	// Addons are applied to the workload cluster by Cluster API's
	// ClusterResourceSet reconciler.
	Addons []Addon
}

// Managed reports whether the provider runs reconcilers for the cluster:
// whether it has an InfraCluster of one of the provider's clouds.
func (o ClusterObjects) Managed() bool { return o.Infrastructure != nil }

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
	cloud := m.Infrastructure.Cloud
	if cloud == nil {
		return objs, diags
	}
	objs.Cloud = cloud
	labels := map[string]string{clusterv1.WatchLabel: WatchFilterValue, clusterv1.ClusterNameLabel: c.Name}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	c.Labels[clusterv1.WatchLabel] = WatchFilterValue
	// What the cluster's ClusterResourceSets select it by.
	c.Labels[clusterv1.ClusterNameLabel] = c.Name

	infra, d := cloud.ExpandCluster(ctx, infrastructure.ClusterMeta{
		Namespace: c.Namespace, Name: c.Name, Labels: labels, APIServerPort: c.Spec.ClusterNetwork.APIServerPort,
	}, m.Infrastructure.Block)
	diags.Append(d...)
	objs.Infrastructure = infra
	kinds := cloud.Kinds()
	c.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: kinds.Group, Kind: kinds.Cluster, Name: c.Name}

	version := ""
	if m.ControlPlane != nil {
		version = m.ControlPlane.Version.ValueString()
	}
	nodes, err := cloud.Nodes(ctx, infra, version)
	if err != nil {
		diags.AddAttributeError(path.Root("control_plane").AtName("version"), "Invalid control plane version", err.Error())
	}
	addons := m.Addons
	if len(nodes.Addons) > 0 {
		addons = make(map[string]AddonModel, len(m.Addons)+len(nodes.Addons))
		for name, a := range m.Addons {
			addons[name] = a
		}
		for name, manifests := range nodes.Addons {
			addons[name] = AddonModel{Manifests: types.StringValue(manifests), Strategy: types.StringValue(AddonReconcile)}
		}
	}
	objs.Addons = expandAddons(c.Namespace, c.Name, addons)

	if cp := m.ControlPlane; cp != nil {
		templateLabels := map[string]string{clusterv1.WatchLabel: WatchFilterValue, clusterv1.ClusterNameLabel: c.Name, RoleLabel: "control-plane"}
		// Templates are immutable by Cluster API convention: a new spec is
		// a new template, and KCP rolls its machines onto it.
		machine, d := infrastructure.Narrow(cp.Machine, infrastructure.BlockType(cloud.MachineTemplateAttributes()))
		diags.Append(d...)
		template, d := cloud.ExpandMachineTemplate(ctx, metav1.ObjectMeta{Namespace: c.Namespace, Name: ControlPlaneName(c.Name), Labels: templateLabels}, machine)
		diags.Append(d...)
		objs.ControlPlaneTemplate = template
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
		kubeadm.InitConfiguration.NodeRegistration = nodes.ControlPlane
		kubeadm.JoinConfiguration.NodeRegistration = nodes.ControlPlane
		kubeadm.ClusterConfiguration.ControllerManager.ExtraArgs = nodes.ControllerManagerArgs
		expandControlPlaneKubeadm(ctx, cp.Kubeadm, kubeadm, &diags)
		// Machines inherit these labels, so the engine reconciles them too.
		kcp.Spec.MachineTemplate.ObjectMeta.Labels = map[string]string{clusterv1.WatchLabel: WatchFilterValue}
		kcp.Spec.MachineTemplate.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{
			APIGroup: kinds.Group, Kind: kinds.MachineTemplate, Name: template.GetName()}
		objs.ControlPlane = kcp
		c.Spec.ControlPlaneRef = clusterv1.ContractVersionedObjectReference{APIGroup: controlplanev1.GroupVersion.Group, Kind: "KubeadmControlPlane", Name: kcp.Name}
	}
	return objs, diags
}

// Nested attributes whose default the schema does not hold read back as
// null while they have the default value, unless the configuration had
// set them; those with a schema default (replicas) read back as values.

func flattenControlPlane(ctx context.Context, objs ClusterObjects, prior *ControlPlaneModel, diags *diag.Diagnostics) *ControlPlaneModel {
	kcp := objs.ControlPlane
	if kcp == nil {
		return nil
	}
	// replicas has a default in the schema: it reads back as a value
	// always, so that an import matches any configuration.
	replicas := types.Int32Value(ptr.Deref(kcp.Spec.Replicas, DefaultControlPlaneReplicas))
	m := &ControlPlaneModel{Replicas: replicas, Version: types.StringValue(kcp.Spec.Version),
		Machine: infrastructure.NullBlock(registry.ControlPlaneMachineAttributes())}
	var nodes infrastructure.Nodes
	if objs.Cloud != nil {
		// The version is not needed to tell the cloud's own settings.
		n, err := objs.Cloud.Nodes(ctx, objs.Infrastructure, "")
		if err != nil {
			diags.AddError("Reading the control plane", err.Error())
		}
		nodes = n
		if objs.ControlPlaneTemplate != nil {
			t, d := objs.Cloud.FlattenMachineTemplate(ctx, objs.ControlPlaneTemplate)
			diags.Append(d...)
			// control_plane.machine has every cloud's attributes.
			t, d = infrastructure.WidenWithDefaults(ctx, t, registry.ControlPlaneMachineAttributes())
			diags.Append(d...)
			m.Machine = t
		}
	}
	m.Kubeadm = flattenControlPlaneKubeadm(ctx, kcp.Spec.KubeadmConfigSpec, nodes, diags)
	return m
}
