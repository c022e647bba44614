// Package capiobj maps the provider's Terraform models to Cluster API
// objects and back. It is pure (no client, no network) and knows no cloud:
// each model's cloud expands and flattens its own block
// (internal/infrastructure).
package capiobj

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
)

// ClusterModel is the Terraform shape of a Cluster, shared by the
// capi_cluster resource and data source.
type ClusterModel struct {
	ID                   types.String         `tfsdk:"id"`
	Name                 types.String         `tfsdk:"name"`
	Namespace            types.String         `tfsdk:"namespace"`
	UID                  types.String         `tfsdk:"uid"`
	Labels               types.Map            `tfsdk:"labels"`
	Annotations          types.Map            `tfsdk:"annotations"`
	Paused               types.Bool           `tfsdk:"paused"`
	ClusterNetwork       *ClusterNetworkModel `tfsdk:"cluster_network"`
	ControlPlaneEndpoint types.Object         `tfsdk:"control_plane_endpoint"`
	APIServerEndpoint    types.String         `tfsdk:"api_server_endpoint"`
	// Infrastructure is the cluster's cloud and its block, which the
	// resource's model holds under the cloud's name.
	Infrastructure InfraBlock            `tfsdk:"-"`
	ControlPlane   *ControlPlaneModel    `tfsdk:"control_plane"`
	Addons         map[string]AddonModel `tfsdk:"addons"`
	Phase          types.String          `tfsdk:"phase"`
	Conditions     types.List            `tfsdk:"conditions"`
}

// ClusterNetworkModel is spec.clusterNetwork.
type ClusterNetworkModel struct {
	PodCIDRs      types.List   `tfsdk:"pod_cidrs"`
	ServiceCIDRs  types.List   `tfsdk:"service_cidrs"`
	ServiceDomain types.String `tfsdk:"service_domain"`
	APIServerPort types.Int32  `tfsdk:"api_server_port"`
}

// ControlPlaneEndpointModel is spec.controlPlaneEndpoint.
type ControlPlaneEndpointModel struct {
	Host types.String `tfsdk:"host"`
	Port types.Int32  `tfsdk:"port"`
}

// EndpointAttrTypes is the type of control_plane_endpoint.
var EndpointAttrTypes = map[string]attr.Type{"host": types.StringType, "port": types.Int32Type}

// ConditionAttrTypes is the element type of the conditions attribute.
var ConditionAttrTypes = map[string]attr.Type{
	"type":    types.StringType,
	"status":  types.StringType,
	"reason":  types.StringType,
	"message": types.StringType,
}

// NamespacedID is the Terraform ID of a namespaced object (a Cluster, a
// Machine), also accepted by import.
func NamespacedID(namespace, name string) string { return namespace + "/" + name }

// ParseNamespacedID splits an ID made by NamespacedID.
func ParseNamespacedID(id string) (namespace, name string, err error) {
	parts := strings.Split(id, "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", fmt.Errorf("expected an ID of the form namespace/name, got %q", id)
	}
	return parts[0], parts[1], nil
}

// expandClusterObject builds the Cluster object alone. Only what the model
// sets is set, so server-side apply owns exactly that.
func expandClusterObject(ctx context.Context, m ClusterModel) (*clusterv1.Cluster, diag.Diagnostics) {
	var diags diag.Diagnostics
	c := &clusterv1.Cluster{
		TypeMeta: metav1.TypeMeta{APIVersion: clusterv1.GroupVersion.String(), Kind: "Cluster"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      m.Name.ValueString(),
			Namespace: m.Namespace.ValueString(),
		},
	}
	c.Labels = tfconv.StringMap(ctx, m.Labels, &diags)
	c.Annotations = tfconv.StringMap(ctx, m.Annotations, &diags)
	// Always applied, so that a cluster paused out of band is resumed.
	c.Spec.Paused = ptr.To(m.Paused.ValueBool())

	if n := m.ClusterNetwork; n != nil {
		c.Spec.ClusterNetwork = clusterv1.ClusterNetwork{
			APIServerPort: n.APIServerPort.ValueInt32(),
			ServiceDomain: n.ServiceDomain.ValueString(),
			Pods:          clusterv1.NetworkRanges{CIDRBlocks: tfconv.Strings(ctx, n.PodCIDRs, &diags)},
			Services:      clusterv1.NetworkRanges{CIDRBlocks: tfconv.Strings(ctx, n.ServiceCIDRs, &diags)},
		}
	}
	// With infrastructure, the infrastructure provider sets the endpoint.
	if e := m.ControlPlaneEndpoint; !m.Infrastructure.Set() && !e.IsNull() && !e.IsUnknown() {
		var endpoint ControlPlaneEndpointModel
		diags.Append(e.As(ctx, &endpoint, basetypes.ObjectAsOptions{})...)
		c.Spec.ControlPlaneEndpoint = clusterv1.APIEndpoint{Host: endpoint.Host.ValueString(), Port: endpoint.Port.ValueInt32()}
	}
	return c, diags
}

// FlattenCluster maps a Cluster read from the API server, with the objects
// it references, to the model.
//
// Labels and annotations: with a prior model (refresh after create or
// update) only the keys the prior model has are kept, so keys that
// controllers or people add elsewhere do not show as drift; with no prior
// model (import, data source) every key except those of Cluster API and of
// this provider is kept.
func FlattenCluster(ctx context.Context, objs ClusterObjects, prior *ClusterModel) (ClusterModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	c := objs.Cluster
	m := ClusterModel{
		ID:        types.StringValue(NamespacedID(c.Namespace, c.Name)),
		Name:      types.StringValue(c.Name),
		Namespace: types.StringValue(c.Namespace),
		UID:       types.StringValue(string(c.UID)),
		Paused:    types.BoolValue(ptr.Deref(c.Spec.Paused, false)),
		Phase:     types.StringValue(c.Status.Phase),
	}
	var priorLabels, priorAnnotations *types.Map
	if prior != nil {
		priorLabels, priorAnnotations = &prior.Labels, &prior.Annotations
	}
	m.Labels = flattenStringMap(ctx, c.Labels, priorLabels, &diags)
	m.Annotations = flattenStringMap(ctx, c.Annotations, priorAnnotations, &diags)

	if n := c.Spec.ClusterNetwork; !isZeroNetwork(n) {
		m.ClusterNetwork = &ClusterNetworkModel{
			PodCIDRs:      tfconv.StringList(ctx, n.Pods.CIDRBlocks, &diags),
			ServiceCIDRs:  tfconv.StringList(ctx, n.Services.CIDRBlocks, &diags),
			ServiceDomain: tfconv.OptionalString(n.ServiceDomain),
			APIServerPort: tfconv.OptionalInt32(n.APIServerPort),
		}
	}
	m.ControlPlaneEndpoint = types.ObjectNull(EndpointAttrTypes)
	m.APIServerEndpoint = types.StringNull()
	if e := c.Spec.ControlPlaneEndpoint; e.IsValid() {
		m.APIServerEndpoint = types.StringValue(fmt.Sprintf("https://%s:%d", e.Host, e.Port))
	}
	// With infrastructure the endpoint is the infrastructure's, not the
	// configuration's: it shows in api_server_endpoint only.
	if e := c.Spec.ControlPlaneEndpoint; objs.Infrastructure == nil && (e.Host != "" || e.Port != 0) {
		obj, d := types.ObjectValue(EndpointAttrTypes, map[string]attr.Value{"host": types.StringValue(e.Host), "port": types.Int32Value(e.Port)})
		diags.Append(d...)
		m.ControlPlaneEndpoint = obj
	}
	m.Conditions = FlattenConditions(c.Status.Conditions, &diags)
	var priorCP *ControlPlaneModel
	if prior != nil {
		priorCP = prior.ControlPlane
	}
	if objs.Cloud != nil {
		m.Infrastructure.Cloud = objs.Cloud
		// Only a block of the same cloud tells which defaults were set.
		priorBlock := infrastructure.NullBlock(objs.Cloud.ClusterAttribute().Attributes)
		if prior != nil && prior.Infrastructure.Cloud == objs.Cloud && !prior.Infrastructure.Block.IsUnknown() {
			priorBlock = prior.Infrastructure.Block
		}
		block, d := objs.Cloud.FlattenCluster(ctx, objs.Infrastructure, priorBlock)
		diags.Append(d...)
		m.Infrastructure.Block = block
	}
	m.ControlPlane = flattenControlPlane(ctx, objs, priorCP, &diags)
	var priorAddons map[string]AddonModel
	if prior != nil {
		priorAddons = prior.Addons
	}
	var reserved []string
	if objs.Cloud != nil {
		reserved = objs.Cloud.ReservedAddons()
	}
	m.Addons = flattenAddons(objs.Addons, priorAddons, reserved)
	return m, diags
}

// FlattenConditions maps status conditions, in the order the controller
// wrote them.
func FlattenConditions(conds []metav1.Condition, diags *diag.Diagnostics) types.List {
	elemType := types.ObjectType{AttrTypes: ConditionAttrTypes}
	elems := make([]attr.Value, 0, len(conds))
	for _, c := range conds {
		obj, d := types.ObjectValue(ConditionAttrTypes, map[string]attr.Value{
			"type":    types.StringValue(c.Type),
			"status":  types.StringValue(string(c.Status)),
			"reason":  types.StringValue(c.Reason),
			"message": types.StringValue(c.Message),
		})
		diags.Append(d...)
		elems = append(elems, obj)
	}
	list, d := types.ListValue(elemType, elems)
	diags.Append(d...)
	return list
}

func isZeroNetwork(n clusterv1.ClusterNetwork) bool {
	return n.APIServerPort == 0 && n.ServiceDomain == "" && len(n.Pods.CIDRBlocks) == 0 && len(n.Services.CIDRBlocks) == 0
}

// systemKeyPrefixes mark labels and annotations that Cluster API or this
// provider manage; they never belong in a user's configuration.
var systemKeyPrefixes = []string{
	"cluster.x-k8s.io/",
	"topology.cluster.x-k8s.io/",
	"terraform-capi.io/",
	"kubectl.kubernetes.io/",
}

// IsSystemKey reports whether a label or annotation key is managed by a
// controller rather than by the user.
func IsSystemKey(key string) bool {
	for _, p := range systemKeyPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

func flattenStringMap(ctx context.Context, values map[string]string, prior *types.Map, diags *diag.Diagnostics) types.Map {
	keep := func(k string) bool { return !IsSystemKey(k) }
	if prior != nil {
		if prior.IsNull() {
			return types.MapNull(types.StringType)
		}
		known := map[string]bool{}
		for k := range prior.Elements() {
			known[k] = true
		}
		keep = func(k string) bool { return known[k] }
	}
	out := map[string]string{}
	for k, v := range values {
		if keep(k) {
			out[k] = v
		}
	}
	if len(out) == 0 && (prior == nil || prior.IsNull()) {
		return types.MapNull(types.StringType)
	}
	m, d := types.MapValueFrom(ctx, types.StringType, out)
	diags.Append(d...)
	return m
}
