package provider

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
)

func TestTakenBy(t *testing.T) {
	applied := []metav1.ManagedFieldsEntry{{Manager: kube.FieldManager, Operation: metav1.ManagedFieldsOperationApply}}
	byKubectl := []metav1.ManagedFieldsEntry{{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate}}
	now := metav1.NewTime(time.Now())
	cases := []struct {
		name        string
		fields      []metav1.ManagedFieldsEntry
		annotations map[string]string
		deleting    bool
		want        string
	}{
		{"made with kubectl", byKubectl, nil, false, "Cluster default/c already exists"},
		{"created for another state", applied, nil, false, "Cluster default/c already exists in another Terraform state"},
		{"interrupted create", applied, map[string]string{creatingAnnotation: "2026-12-02T15:00:00Z"}, false, ""},
		{"interrupted create being deleted", applied, map[string]string{creatingAnnotation: "x"}, true, "Cluster default/c is being deleted"},
		{"kubectl's, even marked", byKubectl, map[string]string{creatingAnnotation: "x"}, false, "Cluster default/c already exists"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj := &clusterv1.Cluster{}
			obj.Namespace, obj.Name, obj.ManagedFields, obj.Annotations = "default", "c", c.fields, c.annotations
			if c.deleting {
				obj.DeletionTimestamp = &now
			}
			if got, _ := takenBy(obj, "Cluster"); got != c.want {
				t.Errorf("takenBy = %q, want %q", got, c.want)
			}
		})
	}
}

func TestDeclarations(t *testing.T) {
	var d declarations
	if ok, _ := d.declare("Cluster/default/a", false); !ok {
		t.Fatal("first declaration refused")
	}
	if ok, _ := d.declare("Cluster/default/a", false); ok {
		t.Error("a second new resource declaring the same object was accepted")
	}
	// A resource that is replaced is planned with its state, then without.
	if ok, replanned := d.declare("Cluster/default/b", true); !ok || replanned {
		t.Fatalf("existing resource: ok %v, replanned %v", ok, replanned)
	}
	if ok, replanned := d.declare("Cluster/default/b", false); !ok || !replanned {
		t.Errorf("the plan of a replacement: ok %v, replanned %v", ok, replanned)
	}
	if ok, _ := d.declare("Cluster/default/b", false); ok {
		t.Error("another new resource declaring a replaced object was accepted")
	}
}
