package reconcile

import (
	"context"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util"
	"sigs.k8s.io/cluster-api/util/predicates"
)

// SetupCluster registers p, the reconciler of an infrastructure cluster
// kind (obj's, an empty one), with mgr. Of the Cluster, only pausing and
// unpausing matter: the owner reference that brings the first pass is on
// the infrastructure cluster, and the Cluster's status changes, which
// mirror the infrastructure cluster's own conditions, would only bring
// passes back.
func (p *Passes[O, S]) SetupCluster(ctx context.Context, mgr ctrl.Manager, options controller.Options, obj O, watchFilter string,
	watches ...Watch) error {
	b, gvk, err := p.setup(ctx, mgr, options, obj, false, watchFilter)
	if err != nil {
		return err
	}
	for _, w := range watches {
		b = b.Watches(w.Object, w.Handler, builder.WithPredicates(w.Predicates...))
	}
	return b.Watches(&clusterv1.Cluster{},
		handler.EnqueueRequestsFromMapFunc(util.ClusterToInfrastructureMapFunc(ctx, gvk, mgr.GetClient(), obj.DeepCopyObject().(O))),
		builder.WithPredicates(predicates.ClusterPausedTransitions(mgr.GetScheme(), ctrl.LoggerFrom(ctx)))).
		Complete(p)
}

// Watch is another kind whose objects bring passes of a reconciler, such
// as the infrastructure machines whose addresses a cluster's firewall
// admits.
type Watch struct {
	Object     client.Object
	Handler    handler.EventHandler
	Predicates []predicate.Predicate
}

// SetupMachine registers p, the reconciler of an infrastructure machine
// kind (obj's, an empty one, whose list list is), with mgr. A Machine
// gets its bootstrap data after its infrastructure machine exists; a
// paused pass does not requeue: unpausing the Cluster, or its
// infrastructure becoming provisioned, has to bring it back.
func (p *Passes[O, S]) SetupMachine(ctx context.Context, mgr ctrl.Manager, options controller.Options, obj O, list client.ObjectList,
	watchFilter string) error {
	b, gvk, err := p.setup(ctx, mgr, options, obj, true, watchFilter)
	if err != nil {
		return err
	}
	clusterToObjects, err := util.ClusterToTypedObjectsMapper(mgr.GetClient(), list, mgr.GetScheme())
	if err != nil {
		return err
	}
	return b.Watches(&clusterv1.Machine{}, handler.EnqueueRequestsFromMapFunc(util.MachineToInfrastructureMapFunc(gvk))).
		Watches(&clusterv1.Cluster{}, handler.EnqueueRequestsFromMapFunc(clusterToObjects),
			builder.WithPredicates(predicates.ClusterPausedTransitionsOrInfrastructureProvisioned(mgr.GetScheme(), ctrl.LoggerFrom(ctx)))).
		Complete(p)
}

// setup completes p and starts building the controller of obj's kind,
// named after it (an AWSMachine's is awsmachine), for the objects with
// the label of watchFilter (none: all).
func (p *Passes[O, S]) setup(ctx context.Context, mgr ctrl.Manager, options controller.Options, obj O, machines bool,
	watchFilter string) (*builder.Builder, schema.GroupVersionKind, error) {
	gvk, err := apiutil.GVKForObject(obj, mgr.GetScheme())
	if err != nil {
		return nil, gvk, err
	}
	name := strings.ToLower(gvk.Kind)
	p.empty, p.machines = obj, machines
	p.Recorder = mgr.GetEventRecorderFor(name + "-controller")
	return ctrl.NewControllerManagedBy(mgr).
		For(obj.DeepCopyObject().(O)).
		Named(name).
		WithOptions(options).
		WithEventFilter(predicates.ResourceHasFilterLabel(mgr.GetScheme(), ctrl.LoggerFrom(ctx), watchFilter)), gvk, nil
}
