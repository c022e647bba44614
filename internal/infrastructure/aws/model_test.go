package aws

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

func testStrings(values ...string) types.List {
	elems := make([]attr.Value, len(values))
	for i, v := range values {
		elems[i] = types.StringValue(v)
	}
	return types.ListValueMust(types.StringType, elems)
}

func mustEncode(t *testing.T, attrs map[string]attr.Type, m any) types.Object {
	t.Helper()
	v, diags := types.ObjectValueFrom(context.Background(), attrs, m)
	if diags.HasError() {
		t.Fatal(diags)
	}
	return v
}

func clusterBlock(t *testing.T, m clusterModel) types.Object {
	t.Helper()
	return mustEncode(t, infrastructure.BlockType(Infrastructure{}.ClusterAttribute().Attributes), m)
}

func machineTemplateBlock(t *testing.T, m machineTemplateModel) types.Object {
	t.Helper()
	return mustEncode(t, infrastructure.BlockType(Infrastructure{}.MachineTemplateAttributes()), m)
}

func machineBlock(t *testing.T, m machineModel) types.Object {
	t.Helper()
	return mustEncode(t, infrastructure.BlockType(Infrastructure{}.MachineAttributes()), m)
}

// A cluster block expands to its AWSCluster and reads back the same;
// settings left at their defaults read back as null unless the prior
// block had set them, so a configuration that leaves them out (or an
// import) shows no drift, and one that sets them keeps them.
func TestClusterBlockRoundTrip(t *testing.T) {
	ctx := context.Background()
	i := Infrastructure{}
	meta := infrastructure.ClusterMeta{Namespace: "team-a", Name: "demo",
		Labels: map[string]string{clusterv1.WatchLabel: "w", clusterv1.ClusterNameLabel: "demo"}, APIServerPort: 6443}
	full := clusterModel{Region: types.StringValue("eu-west-1"), VPCID: types.StringNull(), SubnetIDs: types.ListNull(types.StringType), VPCCIDR: types.StringValue("10.1.0.0/16"),
		AvailabilityZones: testStrings("eu-west-1a", "eu-west-1b"), NATGatewayPerZone: types.BoolValue(true),
		CloudControllerManager: types.BoolValue(true)}
	obj, diags := i.ExpandCluster(ctx, meta, clusterBlock(t, full))
	if diags.HasError() {
		t.Fatal(diags)
	}
	a, ok := obj.(*infrav1.AWSCluster)
	if !ok {
		t.Fatalf("expanded %T", obj)
	}
	if a.Kind != "AWSCluster" || a.APIVersion != infrav1.GroupVersion.String() || a.Namespace != "team-a" || a.Name != "demo" {
		t.Errorf("object = %s %s %s/%s", a.APIVersion, a.Kind, a.Namespace, a.Name)
	}
	n := a.Spec.Network
	if a.Spec.Region != "eu-west-1" || n.VPCID != "" || n.CIDRBlock != "10.1.0.0/16" ||
		!reflect.DeepEqual(n.AvailabilityZones, []string{"eu-west-1a", "eu-west-1b"}) || !n.NATGatewayPerZone || n.APIServerPort != 6443 {
		t.Errorf("spec = %+v", a.Spec)
	}
	want := map[string]string{clusterv1.WatchLabel: "w", clusterv1.ClusterNameLabel: "demo", CCMLabel: externalCloudProvider}
	if !reflect.DeepEqual(a.Labels, want) {
		t.Errorf("labels = %v, want %v", a.Labels, want)
	}
	if _, ok := meta.Labels[CCMLabel]; ok {
		t.Error("the cloud controller manager's label was added to the caller's labels")
	}
	// Values that are not defaults read back whatever the prior block.
	for _, prior := range []types.Object{clusterBlock(t, full), infrastructure.NullBlock(i.ClusterAttribute().Attributes)} {
		out, diags := i.FlattenCluster(ctx, a, prior)
		if diags.HasError() {
			t.Fatal(diags)
		}
		if !out.Equal(clusterBlock(t, full)) {
			t.Errorf("prior null %v: read back %v\nwant %v", prior.IsNull(), out, clusterBlock(t, full))
		}
	}

	// Defaults: false reads back as null, unless the prior block set it.
	minimal := clusterModel{Region: types.StringValue("us-east-1"), VPCID: types.StringValue("vpc-0123456789abcdef0"), SubnetIDs: testStrings("subnet-0123456789abcdef0", "subnet-0123456789abcdef1"), VPCCIDR: types.StringNull(),
		AvailabilityZones: types.ListNull(types.StringType), NATGatewayPerZone: types.BoolNull(), CloudControllerManager: types.BoolNull()}
	obj, diags = i.ExpandCluster(ctx, meta, clusterBlock(t, minimal))
	if diags.HasError() {
		t.Fatal(diags)
	}
	a = obj.(*infrav1.AWSCluster)
	if a.Spec.Network.VPCID != "vpc-0123456789abcdef0" || a.Spec.Network.AvailabilityZones != nil || a.Spec.Network.NATGatewayPerZone {
		t.Errorf("spec = %+v", a.Spec)
	}
	if _, ok := a.Labels[CCMLabel]; ok {
		t.Errorf("labels = %v, want no cloud controller manager", a.Labels)
	}
	for _, prior := range []types.Object{clusterBlock(t, minimal), infrastructure.NullBlock(i.ClusterAttribute().Attributes)} {
		out, diags := i.FlattenCluster(ctx, a, prior)
		if diags.HasError() {
			t.Fatal(diags)
		}
		if !out.Equal(clusterBlock(t, minimal)) {
			t.Errorf("prior null %v: read back %v\nwant %v", prior.IsNull(), out, clusterBlock(t, minimal))
		}
	}
	explicit := minimal
	explicit.NATGatewayPerZone, explicit.CloudControllerManager = types.BoolValue(false), types.BoolValue(false)
	out, diags := i.FlattenCluster(ctx, a, clusterBlock(t, explicit))
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !out.Equal(clusterBlock(t, explicit)) {
		t.Errorf("explicit defaults read back as %v", out)
	}

	// No AWSCluster: a null block.
	for _, none := range []client.Object{nil, (*infrav1.AWSCluster)(nil)} {
		out, diags := i.FlattenCluster(ctx, none, infrastructure.NullBlock(i.ClusterAttribute().Attributes))
		if diags.HasError() || !out.IsNull() || !out.Equal(infrastructure.NullBlock(i.ClusterAttribute().Attributes)) {
			t.Errorf("no AWSCluster (%T) read back as %v, %v", none, out, diags)
		}
	}
}

// A machine template's settings, image lookup included, expand to an
// AWSMachineTemplate named by its spec's hash and read back the same.
func TestMachineTemplateRoundTrip(t *testing.T) {
	ctx := context.Background()
	i := Infrastructure{}
	in := machineTemplateModel{InsecureSkipSecretsManager: types.BoolValue(false), AMI: types.StringNull(), InstanceType: types.StringValue("t3.large"), RootVolumeSize: types.Int32Value(40),
		SSHKeyName: types.StringValue("ops"), IAMInstanceProfile: types.StringValue("nodes"),
		ImageLookup: &imageLookupModel{Owner: types.StringValue("123456789012"), NameFormat: types.StringNull(), BaseOS: types.StringValue("ubuntu-24.04")}}
	meta := metav1.ObjectMeta{Namespace: "default", Name: "workers", Labels: map[string]string{"role": "x"}}
	obj, diags := i.ExpandMachineTemplate(ctx, meta, machineTemplateBlock(t, in))
	if diags.HasError() {
		t.Fatal(diags)
	}
	tmpl, ok := obj.(*infrav1.AWSMachineTemplate)
	if !ok {
		t.Fatalf("expanded %T", obj)
	}
	s := tmpl.Spec.Template.Spec
	if tmpl.Kind != "AWSMachineTemplate" || tmpl.APIVersion != infrav1.GroupVersion.String() || tmpl.Namespace != "default" ||
		tmpl.Labels["role"] != "x" || tmpl.Name != "workers-"+infrastructure.SpecHash(s) {
		t.Errorf("template = %s %s %s/%s %v", tmpl.APIVersion, tmpl.Kind, tmpl.Namespace, tmpl.Name, tmpl.Labels)
	}
	if s.AMI != "" || s.InstanceType != "t3.large" || s.RootVolumeSizeGiB != 40 || s.SSHKeyName != "ops" || s.IAMInstanceProfile != "nodes" ||
		s.ImageLookup == nil || *s.ImageLookup != (infrav1.ImageLookup{Owner: "123456789012", BaseOS: "ubuntu-24.04"}) {
		t.Errorf("spec = %+v, image lookup %+v", s, s.ImageLookup)
	}
	if meta.Name != "workers" {
		t.Errorf("the caller's meta was renamed %s", meta.Name)
	}
	out, diags := i.FlattenMachineTemplate(ctx, tmpl)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !out.Equal(machineTemplateBlock(t, in)) {
		t.Errorf("read back %v\nwant %v", out, machineTemplateBlock(t, in))
	}

	// The same spec is the same template; another spec (a different image
	// lookup, say) is a new one.
	again, _ := i.ExpandMachineTemplate(ctx, meta, machineTemplateBlock(t, in))
	if again.GetName() != tmpl.Name {
		t.Errorf("template name not stable: %s, %s", tmpl.Name, again.GetName())
	}
	changed := in
	changed.ImageLookup = &imageLookupModel{Owner: types.StringValue("123456789012"), NameFormat: types.StringValue("custom-{{.K8sVersion}}-*"), BaseOS: types.StringValue("ubuntu-24.04")}
	other, _ := i.ExpandMachineTemplate(ctx, meta, machineTemplateBlock(t, changed))
	if other.GetName() == tmpl.Name || !strings.HasPrefix(other.GetName(), "workers-") {
		t.Errorf("a changed image lookup kept the template name %s", other.GetName())
	}

	// Without an image lookup or the optional settings: null again.
	plain := machineTemplateModel{InsecureSkipSecretsManager: types.BoolValue(false), AMI: types.StringValue("ami-0123456789abcdef0"), InstanceType: types.StringValue("t3.large"),
		RootVolumeSize: types.Int32Null(), SSHKeyName: types.StringNull(), IAMInstanceProfile: types.StringNull()}
	obj, diags = i.ExpandMachineTemplate(ctx, meta, machineTemplateBlock(t, plain))
	if diags.HasError() {
		t.Fatal(diags)
	}
	if s := obj.(*infrav1.AWSMachineTemplate).Spec.Template.Spec; s.ImageLookup != nil || s.AMI != "ami-0123456789abcdef0" {
		t.Errorf("spec = %+v", s)
	}
	out, diags = i.FlattenMachineTemplate(ctx, obj)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !out.Equal(machineTemplateBlock(t, plain)) {
		t.Errorf("read back %v\nwant %v", out, machineTemplateBlock(t, plain))
	}
	if !out.Attributes()["image_lookup"].IsNull() {
		t.Errorf("image_lookup = %v, want null", out.Attributes()["image_lookup"])
	}
}

// A capi_machine's availability zone is its Machine's failure domain, not
// part of the AWSMachine, and reads back from the failure domain.
func TestMachineAvailabilityZoneIsTheFailureDomain(t *testing.T) {
	ctx := context.Background()
	i := Infrastructure{}
	in := machineModel{
		machineTemplateModel: machineTemplateModel{InsecureSkipSecretsManager: types.BoolValue(false), AMI: types.StringValue("ami-0123456789abcdef0"), InstanceType: types.StringValue("t3.large"),
			RootVolumeSize: types.Int32Null(), SSHKeyName: types.StringNull(), IAMInstanceProfile: types.StringNull(),
			ImageLookup: &imageLookupModel{Owner: types.StringNull(), NameFormat: types.StringNull(), BaseOS: types.StringValue("ubuntu-22.04")}},
		AvailabilityZone: types.StringValue("eu-west-1b"),
	}
	if i.FailureDomainAttribute() != "availability_zone" {
		t.Errorf("failure domain attribute = %q", i.FailureDomainAttribute())
	}
	meta := metav1.ObjectMeta{Namespace: "default", Name: "m1", Labels: map[string]string{"a": "b"}}
	obj, failureDomain, diags := i.ExpandMachine(ctx, meta, machineBlock(t, in))
	if diags.HasError() {
		t.Fatal(diags)
	}
	a, ok := obj.(*infrav1.AWSMachine)
	if !ok {
		t.Fatalf("expanded %T", obj)
	}
	if failureDomain != "eu-west-1b" {
		t.Errorf("failure domain = %q", failureDomain)
	}
	if a.Kind != "AWSMachine" || a.APIVersion != infrav1.GroupVersion.String() || a.Name != "m1" || a.Namespace != "default" || a.Labels["a"] != "b" {
		t.Errorf("machine = %s %s %s/%s %v", a.APIVersion, a.Kind, a.Namespace, a.Name, a.Labels)
	}
	if a.Spec.AMI != "ami-0123456789abcdef0" || a.Spec.InstanceType != "t3.large" || a.Spec.ImageLookup == nil || a.Spec.ImageLookup.BaseOS != "ubuntu-22.04" {
		t.Errorf("spec = %+v", a.Spec)
	}
	out, diags := i.FlattenMachine(ctx, a, failureDomain)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !out.Equal(machineBlock(t, in)) {
		t.Errorf("read back %v\nwant %v", out, machineBlock(t, in))
	}

	// No zone: Cluster API's choice, and null again.
	in.AvailabilityZone = types.StringNull()
	obj, failureDomain, diags = i.ExpandMachine(ctx, meta, machineBlock(t, in))
	if diags.HasError() {
		t.Fatal(diags)
	}
	if failureDomain != "" {
		t.Errorf("failure domain = %q, want none", failureDomain)
	}
	out, diags = i.FlattenMachine(ctx, obj, "")
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !out.Equal(machineBlock(t, in)) {
		t.Errorf("read back %v\nwant %v", out, machineBlock(t, in))
	}
}

// Without the cloud controller manager every node reports its provider ID
// through kubelet; with it the control plane leaves that to the CCM, which
// comes as the cloud's add-on, and workers keep kubelet's provider ID.
func TestNodes(t *testing.T) {
	ctx := context.Background()
	i := Infrastructure{}
	withProviderID := bootstrapv1.NodeRegistrationOptions{Name: "{{ ds.meta_data.local_hostname }}",
		KubeletExtraArgs: []bootstrapv1.Arg{{Name: "provider-id", Value: ptr.To("aws:///{{ ds.meta_data.placement.availability_zone }}/{{ ds.meta_data.instance_id }}")}}}
	taints := &[]corev1.Taint{{Key: "dedicated", Value: "batch", Effect: corev1.TaintEffectNoSchedule}}
	withTaints := withProviderID
	withTaints.Taints = taints
	checkWorkers := func(n infrastructure.Nodes) {
		t.Helper()
		if n.Worker == nil {
			t.Fatal("no worker registration")
		}
		if got := n.Worker(nil); !reflect.DeepEqual(got, withProviderID) {
			t.Errorf("worker = %+v", got)
		}
		if got := n.Worker(taints); !reflect.DeepEqual(got, withTaints) {
			t.Errorf("tainted worker = %+v", got)
		}
	}

	plain := &infrav1.AWSCluster{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{clusterv1.ClusterNameLabel: "demo"}}}
	for _, cluster := range []*infrav1.AWSCluster{plain, nil} {
		n, err := i.Nodes(ctx, infrastructureObject(cluster), "v1.36.0")
		if err != nil {
			t.Fatal(err)
		}
		checkWorkers(n)
		if !reflect.DeepEqual(n.ControlPlane, withProviderID) || n.ControllerManagerArgs != nil || n.Addons != nil {
			t.Errorf("cluster %v: nodes = %+v", cluster != nil, n)
		}
	}

	ccm := &infrav1.AWSCluster{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{CCMLabel: "external"}}}
	n, err := i.Nodes(ctx, ccm, "v1.36.3")
	if err != nil {
		t.Fatal(err)
	}
	checkWorkers(n)
	external := []bootstrapv1.Arg{{Name: "cloud-provider", Value: ptr.To("external")}}
	if !reflect.DeepEqual(n.ControlPlane, bootstrapv1.NodeRegistrationOptions{Name: "{{ ds.meta_data.local_hostname }}", KubeletExtraArgs: external}) {
		t.Errorf("control plane = %+v", n.ControlPlane)
	}
	if !reflect.DeepEqual(n.ControllerManagerArgs, external) {
		t.Errorf("controller manager args = %+v", n.ControllerManagerArgs)
	}
	if len(n.Addons) != 1 || !strings.Contains(n.Addons[CCMAddon], "registry.k8s.io/provider-aws/cloud-controller-manager:v1.36.0") {
		t.Errorf("addons = %v", n.Addons)
	}
	if !reflect.DeepEqual(i.ReservedAddons(), []string{CCMAddon}) {
		t.Errorf("reserved add-ons = %v", i.ReservedAddons())
	}

	// Without a version (reading back) the settings are the same, without
	// the add-on; a version without a minor is an error.
	n, err = i.Nodes(ctx, ccm, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(n.ControllerManagerArgs, external) || n.Addons != nil {
		t.Errorf("nodes without a version = %+v", n)
	}
	if _, err := i.Nodes(ctx, ccm, "v1"); err == nil {
		t.Error("a version without a minor was accepted")
	}
}

// infrastructureObject is c as a client.Object, a nil interface for nil
// (as the callers pass no cluster).
func infrastructureObject(c *infrav1.AWSCluster) client.Object {
	if c == nil {
		return nil
	}
	return c
}

// The hardening settings expand to the AWSMachine's spec and read back
// the same; left out, they stay out of the spec (the reconciler's defaults
// apply: IMDSv2 required, hop limit 1, Secrets Manager).
func TestMachineTemplateHardeningRoundTrip(t *testing.T) {
	ctx := context.Background()
	i := Infrastructure{}
	in := machineTemplateModel{AMI: types.StringValue("ami-0123456789abcdef0"), InstanceType: types.StringValue("t3.large"),
		RootVolumeSize: types.Int32Null(), SSHKeyName: types.StringNull(), IAMInstanceProfile: types.StringNull(),
		RootVolumeKMSKeyID:         types.StringValue("alias/nodes"),
		MetadataOptions:            &metadataModel{HTTPTokens: types.StringValue("optional"), HTTPHopLimit: types.Int32Value(2)},
		InsecureSkipSecretsManager: types.BoolValue(true)}
	obj, diags := i.ExpandMachineTemplate(ctx, metav1.ObjectMeta{Namespace: "default", Name: "w"}, machineTemplateBlock(t, in))
	if diags.HasError() {
		t.Fatal(diags)
	}
	s := obj.(*infrav1.AWSMachineTemplate).Spec.Template.Spec
	if s.RootVolumeKMSKeyID != "alias/nodes" || s.InstanceMetadataOptions == nil || *s.InstanceMetadataOptions != (infrav1.InstanceMetadataOptions{HTTPTokens: "optional", HTTPPutResponseHopLimit: 2}) ||
		!s.CloudInit.InsecureSkipSecretsManager {
		t.Errorf("spec = %+v", s)
	}
	if out, _ := i.FlattenMachineTemplate(ctx, obj); !out.Equal(machineTemplateBlock(t, in)) {
		t.Errorf("read back %v\nwant %v", out, machineTemplateBlock(t, in))
	}
	in.RootVolumeKMSKeyID, in.MetadataOptions, in.InsecureSkipSecretsManager = types.StringNull(), nil, types.BoolValue(false)
	obj, _ = i.ExpandMachineTemplate(ctx, metav1.ObjectMeta{Namespace: "default", Name: "w"}, machineTemplateBlock(t, in))
	if s := obj.(*infrav1.AWSMachineTemplate).Spec.Template.Spec; s.InstanceMetadataOptions != nil || s.RootVolumeKMSKeyID != "" || s.CloudInit != (infrav1.CloudInit{}) {
		t.Errorf("defaults written into the spec: %+v", s)
	}
}
