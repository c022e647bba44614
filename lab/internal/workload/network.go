package workload

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cniDaemonSets are the network plugins the lab recognises, by the name
// of the DaemonSet that installs each one on every node (in any
// namespace): its pods write the plugin's configuration into
// /etc/cni/net.d, and only then does the kubelet report the node's
// network ready. A cluster without one of them has NotReady nodes, as a
// kubeadm cluster has until a CNI is applied. Add a plugin here by its
// DaemonSet's name as its own manifest spells it.
var cniDaemonSets = map[string]string{
	"calico-node":           "Calico",
	"canal":                 "Canal",
	"cilium":                "Cilium",
	"kube-flannel-ds":       "Flannel",
	"kube-flannel-ds-amd64": "Flannel (older manifests)",
	"aws-node":              "Amazon VPC CNI",
	"kube-router":           "kube-router",
	"weave-net":             "Weave Net",
	"antrea-agent":          "Antrea",
	"kube-ovn-cni":          "Kube-OVN",
	"ovnkube-node":          "OVN-Kubernetes",
	"kindnet":               "kindnet",
}

// What the kubelet reports while no network plugin is configured.
const (
	kubeletNotReady    = "KubeletNotReady"
	cniNotReadyMessage = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady " +
		"message:Network plugin returns error: cni plugin not initialized"
)

// notReadyTaint is what the node lifecycle controller puts on a node whose
// Ready condition is False, and takes off once it is True.
var notReadyTaint = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}

// networkPlugin is the recognised network plugin the cluster runs, or "".
func (c *cluster) networkPlugin(ctx context.Context) (string, error) {
	owners, err := c.podOwners(ctx)
	if err != nil {
		return "", err
	}
	for _, o := range owners {
		if plugin, ok := cniDaemonSets[o.name]; ok && o.daemonSet {
			return plugin, nil
		}
	}
	return "", nil
}

// readyCondition is the kubelet's Ready condition: True once the network
// plugin is configured, else False with the container runtime's reason.
func readyCondition(networkReady bool) corev1.NodeCondition {
	now := metav1.Now()
	if networkReady {
		return corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "kubelet is posting ready status", LastTransitionTime: now, LastHeartbeatTime: now}
	}
	return corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: kubeletNotReady,
		Message: cniNotReadyMessage, LastTransitionTime: now, LastHeartbeatTime: now}
}

// nodeReady says whether the node's Ready condition is True.
func nodeReady(n *corev1.Node) bool {
	i := slices.IndexFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool { return c.Type == corev1.NodeReady })
	return i >= 0 && n.Status.Conditions[i].Status == corev1.ConditionTrue
}

// becomeReady is the kubelet seeing the network plugin's configuration,
// and the node lifecycle controller lifting the not-ready taint.
func becomeReady(n *corev1.Node) {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			n.Status.Conditions[i] = readyCondition(true)
		}
	}
	n.Spec.Taints = withoutTaint(n.Spec.Taints, notReadyTaint.Key)
}

// reconcileNetwork turns the cluster's NotReady nodes Ready once a
// network plugin runs.
func (s *Simulator) reconcileNetwork(ctx context.Context, c *cluster) error {
	plugin, err := c.networkPlugin(ctx)
	if err != nil || plugin == "" {
		return err
	}
	var nodes corev1.NodeList
	if err := list(ctx, c.client, &nodes); err != nil {
		return err
	}
	for _, n := range nodes.Items {
		// A stopped kubelet sees no configuration.
		if nodeReady(&n) || !s.kubeletRuns(c, n.Name) {
			continue
		}
		if err := c.updateNode(ctx, n.Name, becomeReady); err != nil {
			return err
		}
		s.log.Info("node ready: network plugin configured", "node", n.Name, "plugin", plugin, "endpoint", c.endpoint)
	}
	return nil
}
