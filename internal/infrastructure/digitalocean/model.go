package digitalocean

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
)

// clusterModel is capi_cluster's digitalocean block: a DOCluster.
type clusterModel struct {
	Region           types.String `tfsdk:"region"`
	VPCUUID          types.String `tfsdk:"vpc_uuid"`
	VPCIPRange       types.String `tfsdk:"vpc_ip_range"`
	APIServerSources types.List   `tfsdk:"api_server_sources"`
	SSHSources       types.List   `tfsdk:"ssh_sources"`
	SpacesRegion     types.String `tfsdk:"spaces_region"`
}

// machineModel is a droplet's settings.
type machineModel struct {
	Size       types.String `tfsdk:"size"`
	Image      types.String `tfsdk:"image"`
	SSHKeys    types.List   `tfsdk:"ssh_keys"`
	Tags       types.List   `tfsdk:"tags"`
	Monitoring types.Bool   `tfsdk:"monitoring"`
	// InsecureInlineBootstrapData puts the bootstrap data in user data.
	InsecureInlineBootstrapData types.Bool `tfsdk:"insecure_inline_bootstrap_data"`
}

// ExpandCluster builds the DOCluster. Its VPC is named after the cluster
// by the reconciler; the API server's port is the Cluster's.
func (i Infrastructure) ExpandCluster(ctx context.Context, c infrastructure.ClusterMeta, block types.Object) (client.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	m, _ := tfconv.Decode[clusterModel](ctx, block, &diags)
	labels := map[string]string{}
	for k, v := range c.Labels {
		labels[k] = v
	}
	return &infrav1.DOCluster{
		TypeMeta:   metav1.TypeMeta{APIVersion: infrav1.GroupVersion.String(), Kind: clusterKind},
		ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: c.Name, Labels: labels},
		Spec: infrav1.DOClusterSpec{
			Region: m.Region.ValueString(),
			VPC:    infrav1.VPCSpec{VPCUUID: m.VPCUUID.ValueString(), IPRange: m.VPCIPRange.ValueString()},
			Firewall: infrav1.FirewallSpec{
				APIServerSources: tfconv.Strings(ctx, m.APIServerSources, &diags),
				SSHSources:       tfconv.Strings(ctx, m.SSHSources, &diags),
			},
			APIServerLoadBalancer: infrav1.LoadBalancerSpec{Port: c.APIServerPort},
			BootstrapData:         infrav1.BootstrapDataSpec{SpacesRegion: m.SpacesRegion.ValueString()},
		},
	}, diags
}

// FlattenCluster reads the digitalocean block back from a DOCluster.
func (i Infrastructure) FlattenCluster(ctx context.Context, obj client.Object, _ types.Object) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	c, ok := obj.(*infrav1.DOCluster)
	if !ok || c == nil {
		return infrastructure.NullBlock(i.ClusterAttribute().Attributes), diags
	}
	m := clusterModel{
		Region:           types.StringValue(c.Spec.Region),
		VPCUUID:          tfconv.OptionalString(c.Spec.VPC.VPCUUID),
		VPCIPRange:       tfconv.OptionalString(c.Spec.VPC.IPRange),
		APIServerSources: tfconv.StringList(ctx, c.Spec.Firewall.APIServerSources, &diags),
		SSHSources:       tfconv.StringList(ctx, c.Spec.Firewall.SSHSources, &diags),
		SpacesRegion:     tfconv.OptionalString(c.Spec.BootstrapData.SpacesRegion),
	}
	return infrastructure.EncodeBlock(ctx, i.ClusterAttribute().Attributes, m, &diags), diags
}

func expandMachineSpec(ctx context.Context, m machineModel, diags *diag.Diagnostics) infrav1.DOMachineSpec {
	return infrav1.DOMachineSpec{
		Size: m.Size.ValueString(), Image: m.Image.ValueString(), Monitoring: m.Monitoring.ValueBoolPointer(),
		SSHKeys: tfconv.Strings(ctx, m.SSHKeys, diags), Tags: tfconv.Strings(ctx, m.Tags, diags),
		InsecureInlineBootstrapData: m.InsecureInlineBootstrapData.ValueBool(),
	}
}

func flattenMachineSpec(ctx context.Context, s infrav1.DOMachineSpec, diags *diag.Diagnostics) machineModel {
	// monitoring reads back as it was set: false stays false, unset null.
	return machineModel{
		Size: types.StringValue(s.Size), Image: types.StringValue(s.Image), Monitoring: types.BoolPointerValue(s.Monitoring),
		SSHKeys: tfconv.StringList(ctx, s.SSHKeys, diags), Tags: tfconv.StringList(ctx, s.Tags, diags),
		InsecureInlineBootstrapData: types.BoolValue(s.InsecureInlineBootstrapData),
	}
}

// ExpandMachineTemplate builds a DOMachineTemplate.
func (i Infrastructure) ExpandMachineTemplate(ctx context.Context, meta metav1.ObjectMeta, block types.Object) (client.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	m, _ := tfconv.Decode[machineModel](ctx, block, &diags)
	spec := expandMachineSpec(ctx, m, &diags)
	meta.Name += "-" + infrastructure.SpecHash(spec)
	return &infrav1.DOMachineTemplate{
		TypeMeta:   metav1.TypeMeta{APIVersion: infrav1.GroupVersion.String(), Kind: machineTemplateKind},
		ObjectMeta: meta,
		Spec:       infrav1.DOMachineTemplateSpec{Template: infrav1.DOMachineTemplateResource{Spec: spec}},
	}, diags
}

// FlattenMachineTemplate reads a DOMachineTemplate's settings.
func (i Infrastructure) FlattenMachineTemplate(ctx context.Context, obj client.Object) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	t, ok := obj.(*infrav1.DOMachineTemplate)
	if !ok || t == nil {
		return infrastructure.NullBlock(i.MachineTemplateAttributes()), diags
	}
	m := flattenMachineSpec(ctx, t.Spec.Template.Spec, &diags)
	return infrastructure.EncodeBlock(ctx, i.MachineTemplateAttributes(), m, &diags), diags
}

// ExpandMachine builds a capi_machine's DOMachine; Cluster API picks the
// failure domain (the region).
func (i Infrastructure) ExpandMachine(ctx context.Context, meta metav1.ObjectMeta, block types.Object) (client.Object, string, diag.Diagnostics) {
	var diags diag.Diagnostics
	m, _ := tfconv.Decode[machineModel](ctx, block, &diags)
	return &infrav1.DOMachine{
		TypeMeta:   metav1.TypeMeta{APIVersion: infrav1.GroupVersion.String(), Kind: machineKind},
		ObjectMeta: meta,
		Spec:       expandMachineSpec(ctx, m, &diags),
	}, "", diags
}

// FlattenMachine reads a capi_machine's digitalocean block back.
func (i Infrastructure) FlattenMachine(ctx context.Context, obj client.Object, _ string) (types.Object, diag.Diagnostics) {
	var diags diag.Diagnostics
	d, ok := obj.(*infrav1.DOMachine)
	if !ok || d == nil {
		return infrastructure.NullBlock(i.MachineAttributes()), diags
	}
	m := flattenMachineSpec(ctx, d.Spec, &diags)
	return infrastructure.EncodeBlock(ctx, i.MachineAttributes(), m, &diags), diags
}
