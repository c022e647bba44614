package provider

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
)

// settledCluster is a cluster of 3 control plane machines and a
// deployment of 2 workers whose statuses all agree.
func settledCluster() clusterStatuses {
	owner := func(kind, name string) []metav1.OwnerReference {
		group := clusterv1.GroupVersion.String()
		if kind == "KubeadmControlPlane" {
			group = controlplanev1.GroupVersion.String()
		}
		return []metav1.OwnerReference{{APIVersion: group, Kind: kind, Name: name, Controller: ptr.To(true)}}
	}
	healthy := []metav1.Condition{{Type: clusterv1.MachineReadyCondition, Status: metav1.ConditionTrue},
		{Type: clusterv1.MachineAvailableCondition, Status: metav1.ConditionTrue}, {Type: clusterv1.MachineUpToDateCondition, Status: metav1.ConditionTrue}}
	machine := func(name string, labels map[string]string, owners []metav1.OwnerReference) clusterv1.Machine {
		m := clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, OwnerReferences: owners}}
		m.Status.Conditions = healthy
		return m
	}
	s := clusterStatuses{
		cluster: &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "c", Generation: 2,
			Labels: map[string]string{clusterv1.WatchLabel: identity.WatchFilterValue}}},
		controlPlane: &controlplanev1.KubeadmControlPlane{ObjectMeta: metav1.ObjectMeta{Name: "c", Generation: 1}},
		deployments:  []clusterv1.MachineDeployment{{ObjectMeta: metav1.ObjectMeta{Name: "md", Generation: 1}}},
		machineSets:  []clusterv1.MachineSet{{ObjectMeta: metav1.ObjectMeta{Name: "md-1", Generation: 1, OwnerReferences: owner("MachineDeployment", "md")}}},
		healthChecks: []clusterv1.MachineHealthCheck{{ObjectMeta: metav1.ObjectMeta{Name: "md", Generation: 1},
			Status: clusterv1.MachineHealthCheckStatus{ObservedGeneration: 1}}},
	}
	three, two := ptr.To[int32](3), ptr.To[int32](2)
	s.cluster.Status.ObservedGeneration = 2
	s.cluster.Status.ControlPlane = &clusterv1.ClusterControlPlaneStatus{DesiredReplicas: three, Replicas: three, ReadyReplicas: three, AvailableReplicas: three, UpToDateReplicas: three}
	s.cluster.Status.Workers = &clusterv1.WorkersStatus{DesiredReplicas: two, Replicas: two, ReadyReplicas: two, AvailableReplicas: two, UpToDateReplicas: two}
	s.controlPlane.Spec.Replicas = three
	s.controlPlane.Status = controlplanev1.KubeadmControlPlaneStatus{ObservedGeneration: 1, Replicas: three, ReadyReplicas: three, AvailableReplicas: three, UpToDateReplicas: three}
	s.deployments[0].Spec.Replicas = two
	s.deployments[0].Status = clusterv1.MachineDeploymentStatus{ObservedGeneration: 1, Replicas: two, ReadyReplicas: two, AvailableReplicas: two, UpToDateReplicas: two}
	s.machineSets[0].Spec.Replicas = two
	s.machineSets[0].Status = clusterv1.MachineSetStatus{ObservedGeneration: 1, Replicas: two, ReadyReplicas: two, AvailableReplicas: two, UpToDateReplicas: two}
	for _, n := range []string{"cp-0", "cp-1", "cp-2"} {
		s.machines = append(s.machines, machine(n, map[string]string{clusterv1.MachineControlPlaneLabel: ""}, owner("KubeadmControlPlane", "c")))
	}
	for _, n := range []string{"md-1-a", "md-1-b"} {
		s.machines = append(s.machines, machine(n, map[string]string{clusterv1.MachineSetNameLabel: "md-1"}, owner("MachineSet", "md-1")))
	}
	return s
}

func TestStatusesSettled(t *testing.T) {
	if why := settledCluster().unsettled(); why != "" {
		t.Fatalf("agreeing statuses unsettled: %s", why)
	}
	for _, c := range []struct {
		name   string
		change func(*clusterStatuses)
		want   string
	}{
		{"cluster behind its spec", func(s *clusterStatuses) { s.cluster.Status.ObservedGeneration = 1 }, "the Cluster's reconciler to observe generation 2"},
		{"a worker's node not Ready yet in the machine set's counters", func(s *clusterStatuses) { s.machineSets[0].Status.ReadyReplicas = ptr.To[int32](1) },
			"MachineSet md-1 to count its machines"},
		{"deployment behind its machine set", func(s *clusterStatuses) { s.deployments[0].Status.AvailableReplicas = ptr.To[int32](0) },
			"MachineDeployment md to count its machine sets"},
		{"cluster behind its deployments", func(s *clusterStatuses) { s.cluster.Status.Workers.AvailableReplicas = ptr.To[int32](0) },
			"the Cluster to count its workers (reports 2 desired, 2 current, 2 ready, 0 available"},
		{"deployment deleted, cluster still counting it", func(s *clusterStatuses) {
			s.deployments, s.machineSets, s.machines = nil, nil, s.machines[:3]
		}, "the Cluster to count its workers (reports 2 desired"},
		{"a deployment's new label not on its machines yet", func(s *clusterStatuses) {
			s.machineSets[0].Spec.Template.Labels = map[string]string{"tier": "web"}
		}, "Machine md-1-a to get label tier=web of MachineSet md-1"},
		{"a deployment's new drain timeout not on its machines yet", func(s *clusterStatuses) {
			s.machineSets[0].Spec.Template.Spec.Deletion.NodeDrainTimeoutSeconds = ptr.To[int32](300)
		}, "Machine md-1-a to get the node drain timeout of MachineSet md-1"},
		{"control plane machine updating", func(s *clusterStatuses) { s.controlPlane.Status.UpToDateReplicas = ptr.To[int32](2) },
			"KubeadmControlPlane c to count its machines"},
		{"cluster behind its control plane", func(s *clusterStatuses) { s.cluster.Status.ControlPlane.ReadyReplicas = ptr.To[int32](2) },
			"the Cluster to count its control plane"},
		{"a new health check only told it is not paused", func(s *clusterStatuses) { s.healthChecks[0].Status.ObservedGeneration = 0 },
			"MachineHealthCheck md to observe its generation"},
	} {
		s := settledCluster()
		c.change(&s)
		if why := s.unsettled(); !strings.Contains(why, c.want) {
			t.Errorf("%s: unsettled() = %q, want it to say %q", c.name, why, c.want)
		}
	}
	for name, change := range map[string]func(*clusterStatuses){
		"a taint of someone else's besides the template's": func(s *clusterStatuses) {
			taint := clusterv1.MachineTaint{Key: "dedicated", Value: "batch", Effect: "NoSchedule"}
			s.machineSets[0].Spec.Template.Spec.Taints = []clusterv1.MachineTaint{taint}
			for i := range s.machines {
				s.machines[i].Spec.Taints = []clusterv1.MachineTaint{{Key: "example.com/other", Effect: "NoExecute"}, taint}
			}
		},
		"a deployment paused by annotation, its status behind": func(s *clusterStatuses) {
			s.deployments[0].Annotations = map[string]string{clusterv1.PausedAnnotation: ""}
			s.deployments[0].Status.AvailableReplicas = ptr.To[int32](0)
		},
		"a MachineSet of the Cluster's own, which the Cluster's reconciler does not watch": func(s *clusterStatuses) {
			ms := s.machineSets[0].DeepCopy()
			ms.Name, ms.OwnerReferences = "standalone", []metav1.OwnerReference{{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster", Name: "c"}}
			ms.Status = clusterv1.MachineSetStatus{ObservedGeneration: 1}
			ms.Spec.Replicas = ptr.To[int32](1) // not in the Cluster's counters yet
			s.machineSets = append(s.machineSets, *ms)
		},
	} {
		s := settledCluster()
		change(&s)
		if why := s.unsettled(); why != "" {
			t.Errorf("%s: unsettled() = %q, want settled", name, why)
		}
	}
	other := settledCluster()
	other.cluster.Labels = nil
	other.cluster.Status.ObservedGeneration = 0
	if why := other.unsettled(); why != "" {
		t.Errorf("a cluster no reconciler here labels waits for %q", why)
	}
}
