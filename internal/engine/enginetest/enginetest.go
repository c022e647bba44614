// Package enginetest holds what the engine tests of every cloud do alike
// against a management cluster: create objects as the provider does, count
// warning events, and log what is left when a test fails.
package enginetest

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
)

// Create admits and creates objects in order, as the provider does.
func Create(t *testing.T, c client.Client, objects ...client.Object) {
	t.Helper()
	ctx := context.Background()
	for _, obj := range objects {
		if _, err := engine.Admit(ctx, c, obj, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
}

// Warnings counts the warning events with reason of the object name in
// namespace.
func Warnings(t *testing.T, c client.Client, namespace, name, reason string) int {
	t.Helper()
	var events corev1.EventList
	if err := c.List(context.Background(), &events, client.InNamespace(namespace), client.MatchingFields{"involvedObject.name": name}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range events.Items {
		if ev.Type == corev1.EventTypeWarning && ev.Reason == reason {
			n += int(ev.Count)
		}
	}
	return n
}

// DumpObjects logs the Clusters, control planes and Machines left, and
// the objects of the cloud's lists, with finalizers and conditions: what
// a failed test needs to be understood.
func DumpObjects(t *testing.T, c client.Client, cloudLists ...client.ObjectList) {
	ctx := context.Background()
	lists := append([]client.ObjectList{&clusterv1.ClusterList{}, &controlplanev1.KubeadmControlPlaneList{}, &clusterv1.MachineList{}}, cloudLists...)
	for _, l := range lists {
		if err := c.List(ctx, l); err != nil {
			t.Log(err)
			continue
		}
		items, _ := meta.ExtractList(l)
		for _, item := range items {
			o := item.(client.Object)
			t.Logf("%T %s finalizers=%v deleting=%v", o, o.GetName(), o.GetFinalizers(), o.GetDeletionTimestamp() != nil)
			if g, ok := o.(interface{ GetConditions() []metav1.Condition }); ok {
				for _, cond := range g.GetConditions() {
					t.Logf("    %s=%s %s: %s", cond.Type, cond.Status, cond.Reason, cond.Message)
				}
			}
		}
	}
}
