package controllers

import (
	"context"
	"errors"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/patch"
	"sigs.k8s.io/cluster-api/util/paused"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

// pendingRequeue is how soon a reconciler looks again at cloud resources
// that are still on their way (EC2 has no watch).
const pendingRequeue = 2 * time.Second

// notOwnedRequeue is how soon a cluster another process holds is looked at
// again.
const notOwnedRequeue = 10 * time.Second

// phase is a step of a pass. A non-zero result (a resource on its way), an
// error (reported in the object's conditions and events already) or
// errPassDone ends the pass.
type phase func(context.Context, *scope) (ctrl.Result, error)

// errPassDone ends a pass before its last phase, successfully and without
// a requeue: nothing is left to do until a watched object changes (an
// instance gone, or stopped). Like fs.SkipAll, it is not a failure.
var errPassDone = errors.New("nothing more to do in this pass")

// skipPass says whether a pass stops before it starts, and with what:
// when another process holds the cluster (owns says, nil for none), or
// when the cluster or obj is paused, which obj's Paused condition records.
func skipPass(ctx context.Context, c client.Client, owns func(namespace, cluster string) bool, cluster *clusterv1.Cluster,
	obj paused.ConditionSetter) (ctrl.Result, bool, error) {
	if owns != nil && !owns(cluster.Namespace, cluster.Name) {
		// Another apply holds the cluster; look again later.
		return ctrl.Result{RequeueAfter: notOwnedRequeue}, true, nil
	}
	if isPaused, requeue, err := paused.EnsurePausedCondition(ctx, c, cluster, obj); err != nil || isPaused || requeue {
		return ctrl.Result{}, true, err
	}
	return ctrl.Result{}, false, nil
}

// patching runs p and patches what it changed in the pass's object,
// conditions included; those in owned are the reconciler's, whose values
// win over another writer's. An object gone meanwhile (its finalizer
// removed) is no failure.
func patching(ctx context.Context, c client.Client, s *scope, owned []string, p phase) (ctrl.Result, error) {
	obj := s.object()
	helper, err := patch.NewHelper(obj, c)
	if err != nil {
		return ctrl.Result{}, err
	}
	s.patchHelper = helper
	result, err := p(ctx, s)
	if perr := s.patchHelper.Patch(ctx, obj, patch.WithOwnedConditions{Conditions: owned}); perr != nil && !apierrors.IsNotFound(perr) {
		return ctrl.Result{}, perr
	}
	return result, err
}

// runPhases runs phases in order, each once the one before has finished.
// After a failure it holds the cloud calls of the pass's object back (see
// failureBackoff) and asks for the pass after the hold: the error is in
// the conditions and events already, and returning it would bring the
// next pass at once. A pass that does not fail ends any hold.
func runPhases(ctx context.Context, b *failureBackoff, s *scope, phases ...phase) ctrl.Result {
	obj := s.object()
	for _, p := range phases {
		result, err := p(ctx, s)
		if errors.Is(err, errPassDone) {
			break
		}
		if err != nil {
			permanent := cloud.AsPermanent(err) != nil
			delay := b.failed(obj, permanent)
			s.log.Error(err, "Reconciling the "+s.kind()+" failed", "retryAfter", delay.Round(time.Second), "permanent", permanent)
			return ctrl.Result{RequeueAfter: delay}
		}
		if !result.IsZero() {
			b.succeeded(obj)
			return result
		}
	}
	b.succeeded(obj)
	return ctrl.Result{}
}

// connect is the phase that gets the AWS clients of the cluster's region;
// failed reports an error in the conditions and events, and returns it.
func connect(clients ClientsFactory, failed func(*scope, error) error) phase {
	return func(ctx context.Context, s *scope) (ctrl.Result, error) {
		c, err := clients(ctx, s.awsCluster.Spec.Region)
		if err != nil {
			return ctrl.Result{}, failed(s, err)
		}
		s.clients = c
		return ctrl.Result{}, nil
	}
}
