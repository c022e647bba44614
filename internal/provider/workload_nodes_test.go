package provider

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

func testNode(name string, ready bool, labels map[string]string) corev1.Node {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}}}
}

func testMachine(name, node string, deleting bool) clusterv1.Machine {
	m := clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if node != "" {
		m.Status.NodeRef = clusterv1.MachineNodeReference{Name: node}
	}
	if deleting {
		m.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	}
	return m
}

// A machine counts when it is not being deleted and its node is there and
// Ready; only the labels Cluster API syncs to nodes are waited for.
func TestReadyMachinesAndUnsyncedLabel(t *testing.T) {
	tier := map[string]string{"node.cluster.x-k8s.io/tier": "gold", "team": "a"}
	nodes := []corev1.Node{testNode("n1", true, tier), testNode("n2", false, nil), testNode("n3", true, nil)}
	machines := []clusterv1.Machine{testMachine("m1", "n1", false), testMachine("m2", "n2", false),
		testMachine("m3", "n3", true), testMachine("m4", "", false), testMachine("m5", "gone", false)}
	if got := readyMachines(machines, nodes, nil); got != 1 {
		t.Errorf("readyMachines = %d, want 1 (m1)", got)
	}
	if got := readyMachines(machines, nodes, func(m *clusterv1.Machine) bool { return m.Name != "m1" }); got != 0 {
		t.Errorf("readyMachines without m1 = %d, want 0", got)
	}
	if got := unsyncedLabel(machines[:1], nodes, tier); got != "" {
		t.Errorf("unsyncedLabel of a synced node = %q", got)
	}
	if got := unsyncedLabel(machines[:2], nodes, tier); got != "node n2 to get label node.cluster.x-k8s.io/tier=gold" {
		t.Errorf("unsyncedLabel = %q", got)
	}
	// team is no label Cluster API syncs; m3 is being deleted.
	if got := unsyncedLabel(machines[2:3], nodes, tier); got != "" {
		t.Errorf("unsyncedLabel of a deleting machine = %q", got)
	}
	if got := unsyncedLabel(machines[1:2], nodes, map[string]string{"team": "a"}); got != "" {
		t.Errorf("unsyncedLabel of unsynced labels = %q", got)
	}
}
