// Package identity holds the names by which the provider's objects are
// recognised: in the management cluster (field manager, watch filter,
// labels and annotations) and in the clouds (tag prefixes). Every package
// takes them from here, so that one cannot drift from another.
package identity

// Name is the provider's name, used as its field manager, its controller
// name and the value of Cluster API's watch-filter label.
const Name = "terraform-provider-capi"

// FieldManager owns every field the provider applies.
const FieldManager = Name

// WatchFilterValue is the value of Cluster API's watch-filter label
// (cluster.x-k8s.io/watch-filter) on every object the provider manages:
// the embedded reconcilers act only on objects that carry it.
const WatchFilterValue = Name

// ControllerName is what the embedded reconcilers' clients and events are
// attributed to.
const ControllerName = Name

// Prefix starts every label, annotation and cloud tag key of the provider.
const Prefix = "terraform-capi.io/"

// RoleLabel tells the provider's templates apart (control-plane, or a
// deployment's).
const RoleLabel = Prefix + "role"

// ManagerName is the in-cluster controller manager's name: its field
// manager and the name of its Deployment.
const ManagerName = "capi-terraform-manager"

// ManagerNamespace is where the in-cluster manager runs by default, and
// ManagerLeaderElectionID the Lease its replicas elect a leader on: what
// the provider looks for in in_cluster mode.
const (
	ManagerNamespace        = "capi-terraform-system"
	ManagerLeaderElectionID = "capi-terraform-manager"
)
