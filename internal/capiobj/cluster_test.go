package capiobj

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

func stringList(values ...string) types.List {
	elems := make([]attr.Value, len(values))
	for i, v := range values {
		elems[i] = types.StringValue(v)
	}
	return types.ListValueMust(types.StringType, elems)
}

func stringMap(kv ...string) types.Map {
	elems := map[string]attr.Value{}
	for i := 0; i < len(kv); i += 2 {
		elems[kv[i]] = types.StringValue(kv[i+1])
	}
	return types.MapValueMust(types.StringType, elems)
}

func fullModel() ClusterModel {
	return ClusterModel{
		Name:        types.StringValue("demo"),
		Namespace:   types.StringValue("team-a"),
		Labels:      stringMap("env", "dev"),
		Annotations: stringMap("example.com/owner", "me"),
		Paused:      types.BoolValue(true),
		ClusterNetwork: &ClusterNetworkModel{
			PodCIDRs:      stringList("192.168.0.0/16"),
			ServiceCIDRs:  stringList("10.128.0.0/12", "fd00::/108"),
			ServiceDomain: types.StringValue("cluster.local"),
			APIServerPort: types.Int32Value(6443),
		},
		ControlPlaneEndpoint: types.ObjectValueMust(EndpointAttrTypes, map[string]attr.Value{"host": types.StringValue("10.0.0.1"), "port": types.Int32Value(6443)}),
	}
}

func TestExpandCluster(t *testing.T) {
	objs, diags := ExpandCluster(context.Background(), fullModel())
	if diags.HasError() {
		t.Fatal(diags)
	}
	if objs.Managed() || objs.Cloud != nil || objs.Infrastructure != nil || objs.ControlPlane != nil || objs.ControlPlaneTemplate != nil {
		t.Errorf("a cluster without a cloud made %+v", objs)
	}
	c := objs.Cluster
	if c.APIVersion != "cluster.x-k8s.io/v1beta2" || c.Kind != "Cluster" {
		t.Errorf("type meta = %s %s", c.APIVersion, c.Kind)
	}
	if c.Name != "demo" || c.Namespace != "team-a" {
		t.Errorf("name = %s/%s", c.Namespace, c.Name)
	}
	if c.Labels["env"] != "dev" || c.Annotations["example.com/owner"] != "me" {
		t.Errorf("labels %v annotations %v", c.Labels, c.Annotations)
	}
	if !ptr.Deref(c.Spec.Paused, false) {
		t.Error("paused not set")
	}
	n := c.Spec.ClusterNetwork
	if n.APIServerPort != 6443 || n.ServiceDomain != "cluster.local" || len(n.Pods.CIDRBlocks) != 1 || len(n.Services.CIDRBlocks) != 2 {
		t.Errorf("clusterNetwork = %+v", n)
	}
	if c.Spec.ControlPlaneEndpoint != (clusterv1.APIEndpoint{Host: "10.0.0.1", Port: 6443}) {
		t.Errorf("controlPlaneEndpoint = %+v", c.Spec.ControlPlaneEndpoint)
	}
}

func TestExpandClusterMinimalSetsOnlyPaused(t *testing.T) {
	m := ClusterModel{
		Name: types.StringValue("demo"), Namespace: types.StringValue("default"),
		Labels: types.MapNull(types.StringType), Annotations: types.MapNull(types.StringType),
		Paused: types.BoolValue(false), ControlPlaneEndpoint: types.ObjectNull(EndpointAttrTypes),
	}
	objs, diags := ExpandCluster(context.Background(), m)
	if diags.HasError() {
		t.Fatal(diags)
	}
	c := objs.Cluster
	// paused=false is applied explicitly so that a pause made by hand is undone.
	if c.Spec.Paused == nil || *c.Spec.Paused {
		t.Errorf("paused = %v, want explicit false", c.Spec.Paused)
	}
	if c.Labels != nil || c.Annotations != nil {
		t.Errorf("labels %v annotations %v, want nil", c.Labels, c.Annotations)
	}
	if c.Spec.ClusterNetwork.APIServerPort != 0 || c.Spec.ClusterNetwork.Pods.CIDRBlocks != nil {
		t.Errorf("clusterNetwork = %+v, want zero", c.Spec.ClusterNetwork)
	}
}

// What is expanded and applied reads back as the same model, which is what
// makes a plan after apply, and after import, empty.
func TestClusterRoundTrip(t *testing.T) {
	ctx := context.Background()
	in := fullModel()
	objs, diags := ExpandCluster(ctx, in)
	if diags.HasError() {
		t.Fatal(diags)
	}
	objs.Cluster.UID = "1234"
	for _, prior := range []*ClusterModel{&in, nil} {
		out, diags := FlattenCluster(ctx, objs, prior)
		if diags.HasError() {
			t.Fatal(diags)
		}
		if !out.Labels.Equal(in.Labels) || !out.Annotations.Equal(in.Annotations) || !out.Paused.Equal(in.Paused) {
			t.Errorf("prior %v: labels %v annotations %v paused %v", prior != nil, out.Labels, out.Annotations, out.Paused)
		}
		n, want := out.ClusterNetwork, in.ClusterNetwork
		if !n.PodCIDRs.Equal(want.PodCIDRs) || !n.ServiceCIDRs.Equal(want.ServiceCIDRs) ||
			!n.ServiceDomain.Equal(want.ServiceDomain) || !n.APIServerPort.Equal(want.APIServerPort) {
			t.Errorf("cluster_network = %+v, want %+v", *out.ClusterNetwork, *in.ClusterNetwork)
		}
		if !out.ControlPlaneEndpoint.Equal(in.ControlPlaneEndpoint) {
			t.Errorf("control_plane_endpoint = %v", out.ControlPlaneEndpoint)
		}
		if out.ID.ValueString() != "team-a/demo" || out.UID.ValueString() != "1234" {
			t.Errorf("id %s uid %s", out.ID, out.UID)
		}
	}
}

func TestFlattenClusterLabelsAndAnnotations(t *testing.T) {
	ctx := context.Background()
	c := &clusterv1.Cluster{}
	c.Name, c.Namespace = "demo", "default"
	c.Labels = map[string]string{"env": "dev", "added-by-hand": "x", "cluster.x-k8s.io/cluster-name": "demo"}
	c.Annotations = map[string]string{"terraform-capi.io/internal": "x"}

	// Import: every key but the system ones.
	out, _ := FlattenCluster(ctx, ClusterObjects{Cluster: c}, nil)
	if !out.Labels.Equal(stringMap("env", "dev", "added-by-hand", "x")) {
		t.Errorf("import labels = %v", out.Labels)
	}
	if !out.Annotations.IsNull() {
		t.Errorf("import annotations = %v, want null", out.Annotations)
	}

	// Refresh: only the keys Terraform manages; a key removed by hand shows.
	prior := ClusterModel{Labels: stringMap("env", "dev", "gone", "y"), Annotations: types.MapNull(types.StringType)}
	out, _ = FlattenCluster(ctx, ClusterObjects{Cluster: c}, &prior)
	if !out.Labels.Equal(stringMap("env", "dev")) {
		t.Errorf("refresh labels = %v", out.Labels)
	}
	if !out.Annotations.IsNull() {
		t.Errorf("refresh annotations = %v, want null", out.Annotations)
	}

	// An empty map in the configuration stays an empty map.
	prior = ClusterModel{Labels: stringMap(), Annotations: types.MapNull(types.StringType)}
	out, _ = FlattenCluster(ctx, ClusterObjects{Cluster: c}, &prior)
	if out.Labels.IsNull() || len(out.Labels.Elements()) != 0 {
		t.Errorf("labels = %v, want {}", out.Labels)
	}
}

func TestFlattenClusterUnsetSpec(t *testing.T) {
	c := &clusterv1.Cluster{}
	c.Name, c.Namespace = "demo", "default"
	out, diags := FlattenCluster(context.Background(), ClusterObjects{Cluster: c}, nil)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if out.ClusterNetwork != nil || !out.ControlPlaneEndpoint.IsNull() {
		t.Errorf("network %v endpoint %v, want nil", out.ClusterNetwork, out.ControlPlaneEndpoint)
	}
	if out.Paused.ValueBool() {
		t.Error("paused = true")
	}
	if out.Phase.ValueString() != "" || len(out.Conditions.Elements()) != 0 {
		t.Errorf("phase %v conditions %v", out.Phase, out.Conditions)
	}
}

func TestFlattenConditions(t *testing.T) {
	c := &clusterv1.Cluster{}
	c.Status.Phase = "Provisioned"
	c.Status.Conditions = []metav1.Condition{
		{Type: "Available", Status: metav1.ConditionFalse, Reason: "NotAvailable", Message: "* ControlPlaneAvailable: waiting"},
		{Type: "Paused", Status: metav1.ConditionFalse, Reason: "NotPaused"},
	}
	out, diags := FlattenCluster(context.Background(), ClusterObjects{Cluster: c}, nil)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if out.Phase.ValueString() != "Provisioned" {
		t.Errorf("phase = %v", out.Phase)
	}
	elems := out.Conditions.Elements()
	if len(elems) != 2 {
		t.Fatalf("conditions = %v", out.Conditions)
	}
	first := elems[0].(types.Object).Attributes()
	if first["type"].(types.String).ValueString() != "Available" || first["status"].(types.String).ValueString() != "False" ||
		first["reason"].(types.String).ValueString() != "NotAvailable" {
		t.Errorf("first condition = %v", first)
	}
}

func TestParseNamespacedID(t *testing.T) {
	ns, name, err := ParseNamespacedID("team-a/demo")
	if err != nil || ns != "team-a" || name != "demo" {
		t.Errorf("got %q %q %v", ns, name, err)
	}
	for _, bad := range []string{"demo", "a/b/c", "/demo", "team-a/", ""} {
		if _, _, err := ParseNamespacedID(bad); err == nil {
			t.Errorf("ParseNamespacedID(%q) accepted", bad)
		}
	}
}
