package workload

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// uninitializedTaint is what a kubelet with cloud-provider=external
// registers its node with; the cloud controller manager removes it once
// it has set the node's provider ID, zone and instance type
// (k8s.io/cloud-provider's TaintExternalCloudProvider).
var uninitializedTaint = corev1.Taint{Key: "node.cloudprovider.kubernetes.io/uninitialized", Value: "true", Effect: corev1.TaintEffectNoSchedule}

// registerNode is the kubelet registering its node. The node's provider
// ID is the kubelet's provider-id flag or nothing: no cloud labels it
// here, a cloud controller manager may later. Its kubelet is the image's.
// It is Ready only if a network plugin already runs in the cluster.
func (c *cluster) registerNode(ctx context.Context, i Instance, b *Bootstrap, name string, controlPlane bool) error {
	plugin, err := c.networkPlugin(ctx)
	if err != nil {
		return err
	}
	now := metav1.Now()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			corev1.LabelHostname: name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64",
			"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
		}},
		Spec: corev1.NodeSpec{ProviderID: b.ProviderIDArg(), Taints: registrationTaints(b, controlPlane, plugin != "")},
		Status: corev1.NodeStatus{
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: i.PrivateIP}, {Type: corev1.NodeHostName, Address: name}},
			NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: i.KubernetesVersion, OperatingSystem: "linux", Architecture: "amd64", ContainerRuntimeVersion: "containerd://2.1.0"},
			Conditions: []corev1.NodeCondition{
				readyCondition(plugin != ""),
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastTransitionTime: now, LastHeartbeatTime: now},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", LastTransitionTime: now, LastHeartbeatTime: now},
				{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", LastTransitionTime: now, LastHeartbeatTime: now},
			},
		},
	}
	if controlPlane {
		n.Labels[controlPlaneRole] = ""
	}
	return createIfMissing(ctx, c.client, n)
}

// registrationTaints are kubeadm's (the configured ones, else the control
// plane taint on control plane nodes), with an external cloud provider
// the kubelet's uninitialized taint, and on a node without network the
// node lifecycle controller's not-ready taint.
func registrationTaints(b *Bootstrap, controlPlane, networkReady bool) []corev1.Taint {
	var taints []corev1.Taint
	switch {
	case b.Taints != nil:
		taints = append(taints, *b.Taints...)
	case controlPlane:
		taints = append(taints, corev1.Taint{Key: controlPlaneRole, Effect: corev1.TaintEffectNoSchedule})
	}
	if b.ExternalCloudProvider() {
		taints = append(taints, uninitializedTaint)
	}
	if !networkReady {
		taints = append(taints, notReadyTaint)
	}
	return taints
}
