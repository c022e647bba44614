package reconcile

import (
	"context"
	"errors"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Phase is a step of a pass that works on the scope S of an object: what
// the pass reads and makes for the phases after it. A non-zero result (a
// resource on its way), an error (reported in the object's conditions and
// events already) or ErrPassDone ends the pass.
type Phase[S any] func(context.Context, S) (ctrl.Result, error)

// ErrPassDone ends a pass before its last phase, successfully and without
// a requeue: nothing is left to do until a watched object changes (an
// instance gone, or stopped). Like fs.SkipAll, it is not a failure.
var ErrPassDone = errors.New("nothing more to do in this pass")

// Run runs phases over s, a pass over obj, in order, each once the one
// before has finished, unless obj's cloud calls are held back after a
// failure moments ago (see Backoff): then whatever brought the pass, the
// cloud is not asked again before the hold is over. After a failure it
// logs what failed, holds obj's cloud calls back and asks for the pass
// after the hold: the error is in the conditions and events already, and
// returning it would bring the next pass at once. A pass that does not
// fail ends any hold.
func (p *Passes[O, S]) Run(ctx context.Context, obj O, what string, s S, phases ...Phase[S]) ctrl.Result {
	if wait := p.Backoff.Wait(obj); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}
	}
	for _, phase := range phases {
		result, err := phase(ctx, s)
		if errors.Is(err, ErrPassDone) {
			break
		}
		if err != nil {
			permanent := p.Cloud.AsPermanent(err) != nil
			delay := p.Backoff.Failed(obj, permanent)
			ctrl.LoggerFrom(ctx).Error(err, what+" failed", "retryAfter", delay.Round(time.Second), "permanent", permanent)
			return ctrl.Result{RequeueAfter: delay}
		}
		if !result.IsZero() {
			p.Backoff.Succeeded(obj)
			return result
		}
	}
	p.Backoff.Succeeded(obj)
	return ctrl.Result{}
}
