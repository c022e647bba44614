package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/kubeconfig"
	capilabels "sigs.k8s.io/cluster-api/util/labels"
)

// workloadTimeout bounds a look into a workload cluster: a refresh must not
// hang on an unreachable API server.
const workloadTimeout = 10 * time.Second

// countReadyMachines counts the machines matching selector and keep (nil:
// all) that are not being deleted and whose node is in the workload
// cluster and Ready. It reads the workload cluster itself, not the Machines' status, which only
// the reconcilers update: an instance terminated behind Cluster API's back
// shows here once its node is gone or unreachable, while status still says Ready
// until the next apply runs the reconcilers.
func countReadyMachines(ctx context.Context, cl client.Reader, namespace, cluster string, selector client.MatchingLabels, keep func(*clusterv1.Machine) bool) (int32, error) {
	var machines clusterv1.MachineList
	if err := cl.List(ctx, &machines, client.InNamespace(namespace), selector); err != nil {
		return 0, err
	}
	nodes, err := listWorkloadNodes(ctx, cl, namespace, cluster)
	if err != nil {
		return 0, err
	}
	return readyMachines(machines.Items, nodes, keep), nil
}

// readyMachines counts the machines kept by keep (nil: all) that are not
// being deleted and whose node is among nodes and Ready.
func readyMachines(machines []clusterv1.Machine, nodes []corev1.Node, keep func(*clusterv1.Machine) bool) int32 {
	ready := readyNodeNames(nodes)
	var count int32
	for i := range machines {
		m := &machines[i]
		if keep != nil && !keep(m) {
			continue
		}
		if m.DeletionTimestamp.IsZero() && m.Status.NodeRef.IsDefined() && ready[m.Status.NodeRef.Name] {
			count++
		}
	}
	return count
}

// readyNodes lists the names of the workload cluster's Ready nodes, through
// the kubeconfig Secret Cluster API writes.
func readyNodes(ctx context.Context, cl client.Reader, namespace, cluster string) (map[string]bool, error) {
	nodes, err := listWorkloadNodes(ctx, cl, namespace, cluster)
	if err != nil {
		return nil, err
	}
	return readyNodeNames(nodes), nil
}

// readyNodeNames are the names of the Ready nodes among nodes.
func readyNodeNames(nodes []corev1.Node) map[string]bool {
	ready := map[string]bool{}
	for _, n := range nodes {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready[n.Name] = true
			}
		}
	}
	return ready
}

// unsyncedNodeLabel names the first label that Cluster API syncs from a
// machine to its node (node-role.kubernetes.io/, node-restriction and
// node.cluster.x-k8s.io domains) among labels that the node of one of the
// machines does not have yet, or "" when every node has them all. labels
// are what the machines are to carry (a deployment's template, a
// machine's own): a reconcile puts them on the machines, the next on the
// nodes. Machines without a node, or being deleted, are not judged.
func unsyncedNodeLabel(ctx context.Context, cl client.Reader, namespace, cluster string, machines []clusterv1.Machine, labels map[string]string) (string, error) {
	if len(capilabels.GetManagedLabels(labels)) == 0 {
		return "", nil
	}
	nodes, err := listWorkloadNodes(ctx, cl, namespace, cluster)
	if err != nil {
		return "", err
	}
	return unsyncedLabel(machines, nodes, labels), nil
}

// unsyncedLabel is unsyncedNodeLabel on nodes already listed.
func unsyncedLabel(machines []clusterv1.Machine, nodes []corev1.Node, labels map[string]string) string {
	synced := capilabels.GetManagedLabels(labels)
	want := map[string]map[string]string{}
	for i := range machines {
		m := &machines[i]
		if !m.DeletionTimestamp.IsZero() || !m.Status.NodeRef.IsDefined() || len(synced) == 0 {
			continue
		}
		want[m.Status.NodeRef.Name] = synced
	}
	for _, n := range nodes {
		for k, v := range want[n.Name] {
			if got, ok := n.Labels[k]; !ok || got != v {
				return fmt.Sprintf("node %s to get label %s=%s", n.Name, k, v)
			}
		}
	}
	return ""
}

// listWorkloadNodes lists the workload cluster's nodes, through the kubeconfig
// Secret Cluster API writes.
func listWorkloadNodes(ctx context.Context, cl client.Reader, namespace, cluster string) ([]corev1.Node, error) {
	ctx, cancel := context.WithTimeout(ctx, workloadTimeout)
	defer cancel()
	data, err := kubeconfig.FromSecret(ctx, cl, client.ObjectKey{Namespace: namespace, Name: cluster})
	if err != nil {
		return nil, fmt.Errorf("kubeconfig of cluster %s/%s: %w", namespace, cluster, err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		return nil, err
	}
	cfg.Timeout = workloadTimeout
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the nodes of cluster %s/%s: %w", namespace, cluster, err)
	}
	return nodes.Items, nil
}

// observeMachineNode says whether a machine's node is in the workload
// cluster and Ready: null while the machine has no node, fallback when the
// workload cluster cannot be reached.
func observeMachineNode(ctx context.Context, cl client.Reader, m *clusterv1.Machine, fallback types.Bool) types.Bool {
	if !m.Status.NodeRef.IsDefined() {
		return types.BoolNull()
	}
	ready, err := readyNodes(ctx, cl, m.Namespace, m.Spec.ClusterName)
	if err != nil {
		tflog.Warn(ctx, "cannot see the workload cluster's nodes; node_ready is Cluster API's last status", map[string]any{"error": err.Error()})
		return fallback
	}
	return types.BoolValue(ready[m.Status.NodeRef.Name])
}
