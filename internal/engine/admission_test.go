package engine

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

func TestAdmitDefaultsMachineDeployment(t *testing.T) {
	md := &clusterv1.MachineDeployment{}
	md.Name, md.Namespace = "workers", "default"
	md.Spec.ClusterName = "demo"
	md.Spec.Template.Spec.ClusterName = "demo"
	md.Spec.Template.Spec.Version = "1.36.0"
	md.Spec.Template.Spec.InfrastructureRef = clusterv1.ContractVersionedObjectReference{APIGroup: "infrastructure.terraform-capi.io", Kind: "AWSMachineTemplate", Name: "workers"}
	md.Spec.Template.Spec.Bootstrap.ConfigRef = clusterv1.ContractVersionedObjectReference{APIGroup: "bootstrap.cluster.x-k8s.io", Kind: "KubeadmConfigTemplate", Name: "workers"}
	if _, err := Admit(context.Background(), nil, md, nil); err != nil {
		t.Fatal(err)
	}
	// Without these the MachineDeployment reconciler fails with
	// `unexpected deployment strategy type: ""`.
	if md.Spec.Rollout.Strategy.Type != clusterv1.RollingUpdateMachineDeploymentStrategyType {
		t.Errorf("rollout strategy = %q", md.Spec.Rollout.Strategy.Type)
	}
	if md.Spec.Template.Spec.Version != "v1.36.0" {
		t.Errorf("version = %q, want the v prefix", md.Spec.Template.Spec.Version)
	}
	if md.Labels[clusterv1.ClusterNameLabel] != "demo" || md.Spec.Selector.MatchLabels[clusterv1.ClusterNameLabel] != "demo" {
		t.Errorf("labels %v selector %v", md.Labels, md.Spec.Selector.MatchLabels)
	}
}

func TestAdmitRejectsAsTheWebhooksDo(t *testing.T) {
	c := &clusterv1.Cluster{}
	c.Name, c.Namespace = "demo", "default"
	_, err := Admit(context.Background(), nil, c, nil)
	if err == nil || !strings.Contains(err.Error(), "one of spec.controlPlaneRef, spec.infrastructureRef or spec.topology must be set") {
		t.Errorf("Cluster without references: %v", err)
	}

	kcp := &controlplanev1.KubeadmControlPlane{}
	kcp.Name, kcp.Namespace = "cp", "default"
	kcp.Spec.Replicas = ptr.To[int32](2)
	kcp.Spec.Version = "v1.36.0"
	_, err = Admit(context.Background(), nil, kcp, nil)
	if err == nil || !strings.Contains(err.Error(), "replicas") {
		t.Errorf("KubeadmControlPlane with 2 replicas (etcd needs an odd number): %v", err)
	}
}

// Machines that KCP and MachineSets create arrive as server-side applies
// of unstructured content; the engine defaults them there.
func TestDefaultApplyConfigurationOfAMachine(t *testing.T) {
	scheme, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	m := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine",
		"metadata": map[string]any{"name": "cp-1", "namespace": "default"},
		"spec": map[string]any{"clusterName": "demo", "version": "1.36.0",
			"bootstrap":         map[string]any{"dataSecretName": "x"},
			"infrastructureRef": map[string]any{"apiGroup": "g", "kind": "K", "name": "n"}},
	}}
	ac := client.ApplyConfigurationFromUnstructured(m)
	if err := defaultApplyConfiguration(context.Background(), scheme, nil, ac); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedInt64(m.Object, "spec", "deletion", "nodeDeletionTimeoutSeconds"); v == 0 {
		t.Errorf("nodeDeletionTimeoutSeconds not defaulted: %v", m.Object["spec"])
	}
	if v, _, _ := unstructured.NestedString(m.Object, "spec", "version"); v != "v1.36.0" {
		t.Errorf("version = %q", v)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(m.Object, "metadata", "creationTimestamp"); found {
		t.Error("creationTimestamp would be applied")
	}
	if _, found := m.Object["status"]; found {
		t.Error("status would be applied")
	}
}
