package crds

import (
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestManifestsServeOneVersionWithContractLabels(t *testing.T) {
	ms, err := Manifests(registry.CRDs()...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"clusters.cluster.x-k8s.io": false, "machines.cluster.x-k8s.io": false,
		"machinedeployments.cluster.x-k8s.io": false, "machinesets.cluster.x-k8s.io": false,
		"machinehealthchecks.cluster.x-k8s.io": false, "kubeadmconfigs.bootstrap.cluster.x-k8s.io": false,
		"kubeadmconfigtemplates.bootstrap.cluster.x-k8s.io": false, "kubeadmcontrolplanes.controlplane.cluster.x-k8s.io": false,
		"awsclusters.infrastructure.terraform-capi.io": false, "awsmachines.infrastructure.terraform-capi.io": false,
		"awsmachinetemplates.infrastructure.terraform-capi.io": false,
	}
	digests := map[string]bool{}
	for _, m := range ms {
		if _, ok := want[m.Name]; ok {
			want[m.Name] = true
		}
		if v := m.Object.GetLabels()["cluster.x-k8s.io/v1beta2"]; v != "v1beta2" && v != "v1alpha1" {
			t.Errorf("%s: contract label missing: %v", m.Name, m.Object.GetLabels())
		}
		if m.Object.GetLabels()["cluster.x-k8s.io/provider"] == "" {
			t.Errorf("%s: provider label missing", m.Name)
		}
		if v, ok := m.Object.GetLabels()[ClusterctlLabel]; !ok || v != "" {
			t.Errorf("%s: clusterctl label %q (present %v), want it empty", m.Name, v, ok)
		}
		if m.Object.GetAnnotations()[DigestAnnotation] != m.Digest || len(m.Digest) != 24 {
			t.Errorf("%s: digest annotation %q, digest %q", m.Name, m.Object.GetAnnotations()[DigestAnnotation], m.Digest)
		}
		if digests[m.Digest] {
			t.Errorf("%s: digest %s not unique", m.Name, m.Digest)
		}
		digests[m.Digest] = true
		versions, _, _ := unstructured.NestedSlice(m.Object.Object, "spec", "versions")
		if len(versions) != 1 {
			t.Fatalf("%s: %d versions", m.Name, len(versions))
		}
		v := versions[0].(map[string]any)
		if v["name"] != m.Object.GetLabels()["cluster.x-k8s.io/v1beta2"] || v["served"] != true || v["storage"] != true {
			t.Errorf("%s: version %v served %v storage %v", m.Name, v["name"], v["served"], v["storage"])
		}
		if _, ok := m.Object.Object["spec"].(map[string]any)["conversion"]; ok {
			t.Errorf("%s: conversion stanza left in", m.Name)
		}
	}
	for name, found := range want {
		if !found {
			t.Errorf("CRD %s missing", name)
		}
	}
}
