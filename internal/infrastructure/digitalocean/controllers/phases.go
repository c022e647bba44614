package controllers

import (
	"context"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
)

// phase is a step of a pass over the scope S of an object. A non-zero
// result (a resource on its way) or an error (reported in the object's
// conditions already) ends the pass.
type phase[S any] func(context.Context, S) (ctrl.Result, error)

// runPhases runs phases in order, each once the one before has finished.
// After a failure it holds obj's cloud calls back (see failureBackoff) and
// asks for the pass after the hold: the error is in the conditions and
// events, and returning it would bring the next pass at once.
func runPhases[S any](ctx context.Context, b *failureBackoff, obj client.Object, what string, s S, phases ...phase[S]) ctrl.Result {
	for _, p := range phases {
		result, err := p(ctx, s)
		if err != nil {
			permanent := cloud.AsPermanent(err) != nil
			delay := b.failed(obj, permanent)
			ctrl.LoggerFrom(ctx).Error(err, what+" failed", "retryAfter", delay.Round(time.Second), "permanent", permanent)
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
