// Package deploy tests the manager as a management cluster installs it:
// the kustomization under config/, its generated RBAC, the clusterctl
// labels and inventory, and the capi-manager binary running under the
// Deployment's ServiceAccount.
//
// The ClusterRole in config/rbac is generated (config/generate.sh) from
// the +kubebuilder:rbac markers of Cluster API's reconcilers that the
// engine runs, of the provider's infrastructure reconcilers, of
// internal/crds, and of this package for what the manager itself needs
// beyond its reconcilers: it watches the clusters' Leases in every
// namespace, to leave alone a cluster that an embedded apply is working on
// (internal/kube.WatchApplyLeases). Its leader election Lease and events
// are in its own namespace, granted by a Role there.
//
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch
package deploy
