package reconcile

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util"
	"sigs.k8s.io/cluster-api/util/finalizers"
	"sigs.k8s.io/cluster-api/util/patch"
	"sigs.k8s.io/cluster-api/util/paused"
)

// notOwnedRequeue is how soon a cluster another process holds is looked
// at again.
const notOwnedRequeue = 10 * time.Second

// Object is an infrastructure cluster or machine: an object with
// conditions, Paused among them.
type Object = paused.ConditionSetter

// Cloud is what the passes need of a cloud package.
type Cloud struct {
	// AsPermanent is the package's AsPermanent: err's PermanentError when
	// no retry can clear err, else nil.
	AsPermanent Classifier
	// Message is the package's Message: err's text for a condition or an
	// event, what the cloud said without what changes from one call to
	// the next.
	Message func(err error) string
}

// Kind is what the passes need to know of an infrastructure kind.
type Kind struct {
	Cloud Cloud
	// Finalizer holds each object until its cloud resources are gone.
	Finalizer string
	// Conditions are the kind's own conditions (NetworkReady,
	// InstanceReady, ...). The reconciler owns them, Ready and Paused:
	// their values win over another writer's when a pass patches them.
	// On an infrastructure cluster, Ready summarizes them after each pass
	// (see Summarize): what the pass reached shows in Ready, however it
	// ended. On an infrastructure machine, the first is the machine's own
	// (see WaitsForCluster and MachineFailed).
	Conditions []string
	// Infrastructure is, on an infrastructure machine, what its cluster's
	// infrastructure is (such as "the cluster's network and load
	// balancer"), which it waits for (see WaitsForCluster).
	Infrastructure string
}

// ScopeFunc returns the scope of a pass over obj, of its Cluster and, for
// an infrastructure machine, of its Machine (nil for an infrastructure
// cluster).
type ScopeFunc[O Object, S any] func(ctx context.Context, obj O, cluster *clusterv1.Cluster, machine *clusterv1.Machine) (S, error)

// Passes is the reconciler of an infrastructure kind, whose objects are
// Os, on a cloud: its Reconcile is one pass over an object, which runs the
// cloud's phases on the scope, an S, that the kind's ScopeFunc makes. It
// keeps what the passes of the reconciler share. New makes it, and
// SetupCluster or SetupMachine registers it.
type Passes[O Object, S any] struct {
	Kind
	client         client.Client
	owns           func(namespace, cluster string) bool
	scope          ScopeFunc[O, S]
	normal, delete Phase[S]

	// Recorder records the reconciler's events.
	Recorder record.EventRecorder
	// Backoff holds back the cloud calls of objects whose last pass
	// failed (see Run).
	Backoff *Backoff
	// Checks are when the resources of infrastructure machines were last
	// read.
	Checks Checks
	// reconciled is when infrastructure clusters were last reconciled,
	// for their drift checks (see DriftChecked).
	reconciled Reconciled

	// empty is an object of the kind, to read objects into copies of.
	empty O
	// machines says the kind is an infrastructure machine.
	machines bool
	// owned are the conditions the reconciler owns.
	owned []string
}

// New returns the passes of kind, with client c, over objects of
// clusters that owns says this process holds (nil: all): normal over an
// object that is not being deleted, once it has the finalizer, and del
// over one being deleted, which removes the finalizer once its cloud
// resources are gone, both on the scope that scope makes.
func New[O Object, S any](kind Kind, c client.Client, owns func(namespace, cluster string) bool, scope ScopeFunc[O, S],
	normal, del Phase[S]) *Passes[O, S] {
	return &Passes[O, S]{Kind: kind, client: c, owns: owns, scope: scope, normal: normal, delete: del,
		Backoff: NewBackoff(clock.RealClock{}),
		owned:   append([]string{clusterv1.ReadyCondition, clusterv1.PausedCondition}, kind.Conditions...)}
}

// Reconcile is one pass over the object that req names. Without an owner
// yet (a Cluster for an infrastructure cluster, a Machine for an
// infrastructure machine), or when it stops before it starts (see
// SkipPass), it does nothing more. Else it runs the delete pass on an
// object being deleted, or the normal pass once the object has the
// finalizer (adding it ends the pass: its patch brings the next), and
// patches what they changed (see Patching). The normal pass of an
// infrastructure machine waits for its cluster first (see
// WaitsForCluster). Once its finalizer is gone, the object is
// forgotten.
func (p *Passes[O, S]) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := p.empty.DeepCopyObject().(O)
	if err := p.client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	cluster, machine, err := p.owners(ctx, obj)
	if err != nil || cluster == nil {
		// The Cluster and Machine controllers set the owner references.
		return ctrl.Result{}, err
	}
	if result, skip, err := SkipPass(ctx, p.client, p.owns, cluster, obj); skip {
		return result, err
	}
	s, err := p.scope(ctx, obj, cluster, machine)
	if err != nil {
		return ctrl.Result{}, err
	}
	normal, del := p.normal, p.delete
	if p.machines {
		normal = waitingForCluster(normal, obj, p.Conditions[0], cluster, machine, p.Infrastructure)
	} else {
		normal, del = summarized(normal, obj, p.Conditions), summarized(del, obj, p.Conditions)
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		result, err := Patching(ctx, p.client, obj, p.owned, s, del)
		if !controllerutil.ContainsFinalizer(obj, p.Finalizer) {
			p.Checks.Forget(obj.GetUID())
			p.reconciled.Forget(obj.GetUID())
		}
		return result, err
	}
	if added, err := finalizers.EnsureFinalizer(ctx, p.client, obj, p.Finalizer); err != nil || added {
		return ctrl.Result{}, err
	}
	return Patching(ctx, p.client, obj, p.owned, s, normal)
}

// DriftChecked runs pass over obj, an infrastructure cluster, unless obj
// is provisioned (provisioned is its status.initialization.provisioned)
// and was reconciled at its generation less than interval ago: a
// provisioned cluster whose spec has not changed is checked against the
// cloud again only every interval, and the passes in between (status
// updates of the Cluster, say) cost no cloud call. A pass that leaves
// nothing to do is asked again after interval.
func (p *Passes[O, S]) DriftChecked(obj O, provisioned *bool, interval time.Duration, pass func() ctrl.Result) ctrl.Result {
	if wait := p.reconciled.Wait(obj, interval); wait > 0 && ptr.Deref(provisioned, false) {
		return ctrl.Result{RequeueAfter: wait}
	}
	result := pass()
	if result.IsZero() {
		p.reconciled.Done(obj)
		result.RequeueAfter = interval
	}
	return result
}

// Recheck makes the next DriftChecked pass over obj go to the cloud,
// however recently it did: something its generation does not show has
// changed (such as the addresses of the cluster's machines).
func (p *Passes[O, S]) Recheck(obj O) { p.reconciled.Forget(obj.GetUID()) }

// owners returns obj's Cluster and, for an infrastructure machine, its
// Machine; no Cluster while obj has no owner.
func (p *Passes[O, S]) owners(ctx context.Context, obj O) (*clusterv1.Cluster, *clusterv1.Machine, error) {
	meta := metav1.ObjectMeta{Namespace: obj.GetNamespace(), OwnerReferences: obj.GetOwnerReferences()}
	if !p.machines {
		cluster, err := util.GetOwnerCluster(ctx, p.client, meta)
		return cluster, nil, err
	}
	machine, err := util.GetOwnerMachine(ctx, p.client, meta)
	if err != nil || machine == nil {
		return nil, nil, err
	}
	cluster, err := util.GetClusterFromMetadata(ctx, p.client, machine.ObjectMeta)
	return cluster, machine, err
}

// GetInfrastructureCluster reads cluster's infrastructure cluster into
// obj: a pass over an infrastructure machine works in it.
func GetInfrastructureCluster(ctx context.Context, c client.Reader, cluster *clusterv1.Cluster, obj client.Object) error {
	return c.Get(ctx, client.ObjectKey{Namespace: cluster.Namespace, Name: cluster.Spec.InfrastructureRef.Name}, obj)
}

// summarized is phase, then Summarize over obj's conditions of types.
func summarized[S any](phase Phase[S], obj Object, types []string) Phase[S] {
	return func(ctx context.Context, s S) (ctrl.Result, error) {
		result, err := phase(ctx, s)
		Summarize(obj, types...)
		return result, err
	}
}

// waitingForCluster is phase, unless the machine obj waits for its
// cluster (see WaitsForCluster).
func waitingForCluster[S any](phase Phase[S], obj Object, condType string, cluster *clusterv1.Cluster, machine *clusterv1.Machine,
	infrastructure string) Phase[S] {
	return func(ctx context.Context, s S) (ctrl.Result, error) {
		if WaitsForCluster(obj, condType, cluster, machine, infrastructure) {
			return ctrl.Result{}, nil
		}
		return phase(ctx, s)
	}
}

// SkipPass says whether a pass stops before it starts, and with what:
// when another process holds the cluster (owns says, nil for none), or
// when the cluster or obj is paused, which obj's Paused condition records.
func SkipPass(ctx context.Context, c client.Client, owns func(namespace, cluster string) bool, cluster *clusterv1.Cluster,
	obj Object) (ctrl.Result, bool, error) {
	if owns != nil && !owns(cluster.Namespace, cluster.Name) {
		// Another apply holds the cluster; look again later.
		return ctrl.Result{RequeueAfter: notOwnedRequeue}, true, nil
	}
	if isPaused, requeue, err := paused.EnsurePausedCondition(ctx, c, cluster, obj); err != nil || isPaused || requeue {
		return ctrl.Result{}, true, err
	}
	return ctrl.Result{}, false, nil
}

// Patching runs phase over s and patches what it changed in obj, the
// pass's object, conditions included; those in owned are the
// reconciler's, whose values win over another writer's. An object gone
// meanwhile (its finalizer removed) is no failure.
func Patching[S any](ctx context.Context, c client.Client, obj client.Object, owned []string, s S, phase Phase[S]) (ctrl.Result, error) {
	helper, err := patch.NewHelper(obj, c)
	if err != nil {
		return ctrl.Result{}, err
	}
	result, err := phase(ctx, s)
	if perr := helper.Patch(ctx, obj, patch.WithOwnedConditions{Conditions: owned}); perr != nil && !apierrors.IsNotFound(perr) {
		return ctrl.Result{}, perr
	}
	return result, err
}

// MachineFailed reports a failed step of a pass over an infrastructure
// machine, what (may be empty when err says it), in the machine's own
// condition and Ready and in a warning event, with the cloud's message,
// and returns err. An error that no retry can clear gets a reason that
// says so (see FailureReason): the error stays in the conditions and
// events, and a Terraform apply waiting on the machine sees why. An error
// a retry may clear, on a machine that is provisioned and not being
// deleted, leaves the conditions as they are: the machine is no less
// ready for a throttled look at its resource.
func (p *Passes[O, S]) MachineFailed(obj O, provisioned bool, reason, permanentReason, what string, err error) error {
	reason, msg := FailureReason(p.Cloud.AsPermanent, err, reason, permanentReason), p.Cloud.Message(err)
	if what != "" {
		msg = what + ": " + msg
	}
	running := provisioned && obj.GetDeletionTimestamp().IsZero()
	if !running || p.Cloud.AsPermanent(err) != nil {
		NotReady(obj, p.Conditions[0], reason, msg)
	}
	p.Recorder.Eventf(obj, corev1.EventTypeWarning, reason, "%s", msg)
	return err
}
