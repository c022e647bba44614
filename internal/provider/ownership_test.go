package provider

import (
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apitypes "k8s.io/apimachinery/pkg/types"

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

// The state follows a copy of its object (clusterctl move: same metadata,
// new UID) and drops an object made anew under the same name.
func TestReplacedOutOfBand(t *testing.T) {
	recorded := types.StringValue("uid-1")
	obj := func(uid string, annotations map[string]string) *clusterv1.Cluster {
		c := &clusterv1.Cluster{}
		c.UID, c.Annotations = apitypes.UID(uid), annotations
		return c
	}
	for _, c := range []struct {
		name           string
		state          types.String
		obj            *clusterv1.Cluster
		replaced, copy bool
	}{
		{"the same object", recorded, obj("uid-1", map[string]string{createdUIDAnnotation: "uid-1"}), false, false},
		{"moved: a copy carrying the recorded UID", recorded, obj("uid-2", map[string]string{createdUIDAnnotation: "uid-1"}), false, true},
		{"made anew by this provider", recorded, obj("uid-2", map[string]string{createdUIDAnnotation: "uid-2"}), true, false},
		{"made anew by hand", recorded, obj("uid-2", nil), true, false},
		{"no UID recorded (an old state)", types.StringNull(), obj("uid-2", nil), false, false},
	} {
		if got := replacedOutOfBand(c.state, c.obj); got != c.replaced {
			t.Errorf("%s: replaced = %v, want %v", c.name, got, c.replaced)
		}
		if got := copiedFrom(c.state, c.obj); got != c.copy {
			t.Errorf("%s: copied = %v, want %v", c.name, got, c.copy)
		}
	}
}
