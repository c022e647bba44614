package capiobj

import (
	"slices"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
)

// AddonModel is one entry of capi_cluster's addons: manifests that Cluster
// API's ClusterResourceSet reconciler applies to the workload cluster once
// its API server answers.
type AddonModel struct {
	Manifests types.String `tfsdk:"manifests"`
	Strategy  types.String `tfsdk:"strategy"`
}

// Addon strategies, as Cluster API names them.
const (
	AddonApplyOnce = string(addonsv1.ClusterResourceSetStrategyApplyOnce)
	AddonReconcile = string(addonsv1.ClusterResourceSetStrategyReconcile)
)

// AddonLabel marks an add-on's ConfigMap and ClusterResourceSet with the
// add-on's name.
const AddonLabel = identity.Prefix + "addon"

// addonManifestsKey is the ConfigMap key holding an add-on's manifests.
const addonManifestsKey = "manifests.yaml"

// Addon is the pair of objects one add-on is: the manifests in a ConfigMap
// and the ClusterResourceSet that applies them to its cluster.
type Addon struct {
	ConfigMap   *corev1.ConfigMap
	ResourceSet *addonsv1.ClusterResourceSet
}

// AddonResourceSetName is the name of an add-on's ClusterResourceSet (and
// of its ConfigMap).
func AddonResourceSetName(cluster, addon string) string { return cluster + "-addon-" + addon }

// expandAddons builds the add-ons of a cluster, sorted by name. Each
// ClusterResourceSet selects its cluster alone, by the cluster-name label
// that ExpandCluster puts on the Cluster.
func expandAddons(namespace, cluster string, addons map[string]AddonModel) []Addon {
	names := make([]string, 0, len(addons))
	for name := range addons {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]Addon, 0, len(names))
	for _, name := range names {
		a := addons[name]
		objName := AddonResourceSetName(cluster, name)
		labels := map[string]string{clusterv1.WatchLabel: WatchFilterValue, clusterv1.ClusterNameLabel: cluster, AddonLabel: name}
		strategy := a.Strategy.ValueString()
		if strategy == "" {
			strategy = AddonApplyOnce
		}
		out = append(out, Addon{
			ConfigMap: &corev1.ConfigMap{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: objName, Labels: labels},
				Data:       map[string]string{addonManifestsKey: a.Manifests.ValueString()},
			},
			ResourceSet: &addonsv1.ClusterResourceSet{
				TypeMeta:   metav1.TypeMeta{APIVersion: addonsv1.GroupVersion.String(), Kind: "ClusterResourceSet"},
				ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: objName, Labels: labels},
				Spec: addonsv1.ClusterResourceSetSpec{
					ClusterSelector: metav1.LabelSelector{MatchLabels: map[string]string{clusterv1.ClusterNameLabel: cluster}},
					Resources:       []addonsv1.ResourceRef{{Kind: string(addonsv1.ConfigMapClusterResourceSetResourceKind), Name: objName}},
					Strategy:        strategy,
				},
			},
		})
	}
	return out
}

// flattenAddons reads add-ons back, except the cloud's reserved ones. A strategy of ApplyOnce (the default)
// reads back as null unless the prior model set it.
func flattenAddons(addons []Addon, prior map[string]AddonModel, reserved []string) map[string]AddonModel {
	out := make(map[string]AddonModel, len(addons))
	for _, a := range addons {
		name := a.ResourceSet.Labels[AddonLabel]
		if slices.Contains(reserved, name) {
			// The cloud's own (the AWS cloud controller manager, say).
			continue
		}
		m := AddonModel{Manifests: types.StringNull(), Strategy: types.StringValue(a.ResourceSet.Spec.Strategy)}
		if a.ConfigMap != nil {
			m.Manifests = types.StringValue(a.ConfigMap.Data[addonManifestsKey])
		}
		if p, ok := prior[name]; a.ResourceSet.Spec.Strategy == AddonApplyOnce && (!ok || p.Strategy.IsNull()) {
			m.Strategy = types.StringNull()
		}
		out[name] = m
	}
	if len(out) == 0 && prior == nil {
		return nil
	}
	return out
}
