package capiobj

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/utils/ptr"

	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws"
)

func strList(values ...string) types.List {
	elems := make([]attr.Value, 0, len(values))
	for _, v := range values {
		elems = append(elems, types.StringValue(v))
	}
	return types.ListValueMust(types.StringType, elems)
}

func strMap(kv ...string) types.Map {
	elems := map[string]attr.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		elems[kv[i]] = types.StringValue(kv[i+1])
	}
	return types.MapValueMust(types.StringType, elems)
}

func kubeadmModel() *KubeadmModel {
	return &KubeadmModel{
		Files: []KubeadmFileModel{
			{Path: types.StringValue("/etc/motd"), Content: types.StringValue("hello"), Permissions: types.StringValue("0644"),
				Owner: types.StringNull(), Encoding: types.StringNull()},
			{Path: types.StringValue("/etc/secret"), Content: types.StringNull(), Permissions: types.StringNull(), Owner: types.StringValue("root:root"),
				Encoding: types.StringNull(), ContentFromSecret: &SecretKeyRefModel{Name: types.StringValue("s"), Key: types.StringValue("k")}},
		},
		PreKubeadmCommands:  strList("echo pre"),
		PostKubeadmCommands: strList("echo post"),
		Users: []KubeadmUserModel{{Name: types.StringValue("admin"), SSHAuthorizedKeys: strList("ssh-ed25519 AAAA admin"),
			Sudo: types.StringValue("ALL=(ALL) NOPASSWD:ALL"), Groups: strList("adm", "docker")}},
		NTPServers:       strList("time.aws.com"),
		KubeletExtraArgs: strMap("max-pods", "50"),
		NodeLabels:       strMap("pool", "a", "tier", "web"),
	}
}

// Every machine kind gets kubelet's provider ID and the instance's name,
// and the user's kubeadm settings reach the spec and read back unchanged.
func TestKubeadmRoundTrip(t *testing.T) {
	ctx := context.Background()
	m := deploymentModel()
	m.Kubeadm = kubeadmModel()
	objs, diags := ExpandMachineDeployment(ctx, m)
	if diags.HasError() {
		t.Fatal(diags)
	}
	spec := objs.BootstrapTemplate.Spec.Template.Spec
	reg := spec.JoinConfiguration.NodeRegistration
	if reg.Name != "{{ ds.meta_data.local_hostname }}" {
		t.Errorf("node name = %q", reg.Name)
	}
	wantArgs := []bootstrapv1.Arg{
		{Name: "provider-id", Value: ptr.To("aws:///{{ ds.meta_data.placement.availability_zone }}/{{ ds.meta_data.instance_id }}")},
		{Name: "max-pods", Value: ptr.To("50")},
		{Name: "node-labels", Value: ptr.To("pool=a,tier=web")},
	}
	if !reflect.DeepEqual(reg.KubeletExtraArgs, wantArgs) {
		t.Errorf("kubelet args = %+v", reg.KubeletExtraArgs)
	}
	if len(spec.Files) != 2 || spec.Files[1].ContentFrom.Secret.Key != "k" || spec.Users[0].Groups != "adm, docker" ||
		!reflect.DeepEqual(spec.NTP.Servers, []string{"time.aws.com"}) || spec.PreKubeadmCommands[0] != "echo pre" {
		t.Errorf("spec = %+v", spec)
	}
	flat, diags := FlattenMachineDeployment(ctx, objs, &m)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !reflect.DeepEqual(flat.Kubeadm, m.Kubeadm) {
		t.Errorf("flattened = %+v\nwant %+v", flat.Kubeadm, m.Kubeadm)
	}

	// A kubeadm change is a new bootstrap template, so the machines roll.
	m2 := m
	m2.Kubeadm = kubeadmModel()
	m2.Kubeadm.PreKubeadmCommands = strList("echo changed")
	changed, _ := ExpandMachineDeployment(ctx, m2)
	if changed.BootstrapTemplate.Name == objs.BootstrapTemplate.Name {
		t.Errorf("template name %s did not change with the kubeadm settings", changed.BootstrapTemplate.Name)
	}

	// Without a kubeadm block only the provider's identity is set, which
	// reads back as no block.
	plain, _ := ExpandMachineDeployment(ctx, deploymentModel())
	nodes, err := awsCloud.Nodes(ctx, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if k := flattenKubeadm(ctx, plain.BootstrapTemplate.Spec.Template.Spec, plain.BootstrapTemplate.Spec.Template.Spec.JoinConfiguration.NodeRegistration, nodes.Worker(nil), &diags); k != nil {
		t.Errorf("no kubeadm block read back as %+v", k)
	}
}

func TestControlPlaneKubeadm(t *testing.T) {
	ctx := context.Background()
	m := awsModel()
	m.ControlPlane.Kubeadm = &ControlPlaneKubeadmModel{
		KubeadmModel: KubeadmModel{PreKubeadmCommands: types.ListNull(types.StringType), PostKubeadmCommands: types.ListNull(types.StringType),
			NTPServers: types.ListNull(types.StringType), KubeletExtraArgs: strMap("cloud-provider", "external"), NodeLabels: types.MapNull(types.StringType)},
		APIServerExtraArgs:         strMap("audit-log-maxage", "30"),
		APIServerCertSANs:          strList("api.example.com"),
		ControllerManagerExtraArgs: strMap("cloud-provider", "external"),
		SchedulerExtraArgs:         types.MapNull(types.StringType),
		EtcdExtraArgs:              types.MapNull(types.StringType),
	}
	objs, diags := ExpandCluster(ctx, m)
	if diags.HasError() {
		t.Fatal(diags)
	}
	spec := objs.ControlPlane.Spec.KubeadmConfigSpec
	for _, reg := range []bootstrapv1.NodeRegistrationOptions{spec.InitConfiguration.NodeRegistration, spec.JoinConfiguration.NodeRegistration} {
		if len(reg.KubeletExtraArgs) != 2 || reg.KubeletExtraArgs[1].Name != "cloud-provider" || reg.Name == "" {
			t.Errorf("node registration = %+v", reg)
		}
	}
	cc := spec.ClusterConfiguration
	if cc.APIServer.CertSANs[0] != "api.example.com" || *cc.APIServer.ExtraArgs[0].Value != "30" || cc.ControllerManager.ExtraArgs[0].Name != "cloud-provider" {
		t.Errorf("cluster configuration = %+v", cc)
	}
	flat, diags := FlattenCluster(ctx, objs, &m)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !reflect.DeepEqual(flat.ControlPlane.Kubeadm, m.ControlPlane.Kubeadm) {
		t.Errorf("flattened = %+v\nwant %+v", flat.ControlPlane.Kubeadm, m.ControlPlane.Kubeadm)
	}
}

// Each add-on is a ConfigMap and a ClusterResourceSet that selects its
// cluster alone, by a label the Cluster carries.
func TestExpandAddons(t *testing.T) {
	ctx := context.Background()
	m := awsModel()
	m.Addons = map[string]AddonModel{
		"cni": {Manifests: types.StringValue("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n"), Strategy: types.StringNull()},
		"ccm": {Manifests: types.StringValue("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: y\n"), Strategy: types.StringValue(AddonReconcile)},
	}
	objs, diags := ExpandCluster(ctx, m)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if len(objs.Addons) != 2 || objs.Addons[0].ResourceSet.Name != "demo-addon-ccm" || objs.Addons[1].ConfigMap.Name != "demo-addon-cni" {
		t.Fatalf("addons = %+v", objs.Addons)
	}
	cni := objs.Addons[1].ResourceSet
	if cni.Spec.Strategy != AddonApplyOnce || cni.Spec.Resources[0].Name != "demo-addon-cni" || cni.Spec.Resources[0].Kind != "ConfigMap" {
		t.Errorf("cni = %+v", cni.Spec)
	}
	for k, v := range cni.Spec.ClusterSelector.MatchLabels {
		if objs.Cluster.Labels[k] != v {
			t.Errorf("the Cluster's labels %v do not match the selector %v", objs.Cluster.Labels, cni.Spec.ClusterSelector)
		}
	}
	flat, _ := FlattenCluster(ctx, objs, &m)
	if !reflect.DeepEqual(flat.Addons, m.Addons) {
		t.Errorf("addons read back as %+v", flat.Addons)
	}
}

// With the cloud controller manager, control plane nodes leave their
// provider ID to it (cloud-provider external), the CCM comes as an add-on
// of the provider's, and none of that reads back as the user's settings.
func TestCloudControllerManager(t *testing.T) {
	ctx := context.Background()
	m := awsModel()
	settings := awsClusterSettings()
	settings.CloudControllerManager = types.BoolValue(true)
	m.Infrastructure.Block = awsClusterBlockValue(settings)
	objs, diags := ExpandCluster(ctx, m)
	if diags.HasError() {
		t.Fatal(diags)
	}
	spec := objs.ControlPlane.Spec.KubeadmConfigSpec
	for _, reg := range []bootstrapv1.NodeRegistrationOptions{spec.InitConfiguration.NodeRegistration, spec.JoinConfiguration.NodeRegistration} {
		if !reflect.DeepEqual(reg.KubeletExtraArgs, []bootstrapv1.Arg{{Name: "cloud-provider", Value: ptr.To("external")}}) {
			t.Errorf("kubelet args = %+v", reg.KubeletExtraArgs)
		}
	}
	if args := spec.ClusterConfiguration.ControllerManager.ExtraArgs; len(args) != 1 || *args[0].Value != "external" {
		t.Errorf("controller manager args = %+v", args)
	}
	if len(objs.Addons) != 1 || objs.Addons[0].ResourceSet.Labels[AddonLabel] != aws.CCMAddon ||
		!strings.Contains(objs.Addons[0].ConfigMap.Data[addonManifestsKey], "registry.k8s.io/provider-aws/cloud-controller-manager:v1.36.0") {
		t.Fatalf("addons = %+v", objs.Addons)
	}
	if objs.Infrastructure.GetLabels()[aws.CCMLabel] != "external" || objs.Cluster.Labels[aws.CCMLabel] != "" {
		t.Errorf("labels: AWSCluster %v, Cluster %v", objs.Infrastructure.GetLabels(), objs.Cluster.Labels)
	}
	flat, diags := FlattenCluster(ctx, objs, &m)
	if diags.HasError() {
		t.Fatal(diags)
	}
	var got awsClusterBlock
	decodeBlock(t, flat.Infrastructure.Block, &got)
	if !got.CloudControllerManager.ValueBool() || flat.ControlPlane.Kubeadm != nil || flat.Addons != nil {
		t.Errorf("read back: ccm %v, kubeadm %+v, addons %+v", got.CloudControllerManager, flat.ControlPlane.Kubeadm, flat.Addons)
	}
}
