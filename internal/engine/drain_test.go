package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/terraform-capi/terraform-provider-capi/internal/crds"
)

// slowInfra reconciles the ConfigMaps of one namespace slowly: it says
// when a reconcile starts, waits, then records the reconcile on the
// ConfigMap with the reconcile's own context, as an infrastructure
// reconciler records a cloud call in a status.
type slowInfra struct {
	namespace string
	delay     time.Duration
	started   chan string
	mu        sync.Mutex
	writeErrs map[string]error
}

func (s *slowInfra) AddToScheme(*runtime.Scheme) error { return nil }

func (s *slowInfra) SetupWithManager(_ context.Context, mgr ctrl.Manager, deps Dependencies) error {
	return ctrl.NewControllerManagedBy(mgr).Named("slow-"+s.namespace).
		For(&corev1.ConfigMap{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return o.GetNamespace() == s.namespace && o.GetAnnotations()["reconciled"] == ""
		}))).
		WithOptions(deps.ControllerOptions(2)).
		Complete(reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
			s.started <- req.Name
			time.Sleep(s.delay)
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: req.Namespace, Name: req.Name}}
			err := mgr.GetClient().Patch(ctx, cm, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"annotations":{"reconciled":"yes"}}}`)))
			s.mu.Lock()
			s.writeErrs[req.Name] = err
			s.mu.Unlock()
			return reconcile.Result{}, err
		}))
}

func (s *slowInfra) writeErr(name string) (error, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err, ok := s.writeErrs[name]
	return err, ok
}

func startSlowEngine(t *testing.T, drainTimeout time.Duration) (*Engine, *slowInfra, client.Client) {
	t.Helper()
	cfg := labConfig(t)
	if err := crds.Install(context.Background(), cfg, "engine-test"); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "drain-"}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	slow := &slowInfra{namespace: ns.Name, delay: 700 * time.Millisecond, started: make(chan string, 10), writeErrs: map[string]error{}}
	e, err := Start(context.Background(), Options{Config: cfg, Providers: []Provider{slow}, WatchFilterValue: "drain-test", DrainTimeout: drainTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return e, slow, c
}

func createConfigMap(t *testing.T, c client.Client, namespace, name string) {
	t.Helper()
	if err := c.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}); err != nil {
		t.Fatal(err)
	}
}

func awaitStart(t *testing.T, slow *slowInfra, want string) {
	t.Helper()
	select {
	case got := <-slow.started:
		if got != want {
			t.Fatalf("reconcile of %s started, want %s", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the reconcile of %s did not start", want)
	}
}

// Stop lets a reconcile in flight finish with a live context (its write
// lands) and starts none after the drain began.
func TestAccEngineStopFinishesReconcilesInFlight(t *testing.T) {
	e, slow, c := startSlowEngine(t, DefaultDrainTimeout)
	createConfigMap(t, c, slow.namespace, "in-flight")
	awaitStart(t, slow, "in-flight")

	stopped := make(chan bool)
	began := time.Now()
	go func() { stopped <- e.Stop() }()
	for !e.drain.isDraining() {
		time.Sleep(time.Millisecond)
	}
	// Enqueued while draining: never started.
	createConfigMap(t, c, slow.namespace, "late")

	idle := <-stopped
	took := time.Since(began)
	if !idle {
		t.Errorf("Stop reported a reconcile cut short")
	}
	if err, done := slow.writeErr("in-flight"); !done || err != nil {
		t.Errorf("the reconcile in flight did not finish its write: done=%v err=%v", done, err)
	}
	if _, started := slow.writeErr("late"); started {
		t.Errorf("a reconcile started while the engine drained")
	}
	select {
	case name := <-slow.started:
		t.Errorf("reconcile of %s started while the engine drained", name)
	default:
	}
	got := &corev1.ConfigMap{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: slow.namespace, Name: "in-flight"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Annotations["reconciled"] != "yes" {
		t.Errorf("the stored ConfigMap lacks the in-flight reconcile's write: %v", got.Annotations)
	}
	t.Logf("Stop took %s", took)
}

// A reconcile longer than the drain timeout is cancelled: Stop is bounded
// and says so.
func TestAccEngineStopIsBounded(t *testing.T) {
	e, slow, c := startSlowEngine(t, 100*time.Millisecond)
	createConfigMap(t, c, slow.namespace, "too-slow")
	awaitStart(t, slow, "too-slow")
	began := time.Now()
	if e.Stop() {
		t.Errorf("Stop reported every reconcile finished, but one needed %s more than the drain timeout", slow.delay)
	}
	if took := time.Since(began); took > slow.delay+GracefulShutdownTimeout+time.Second {
		t.Errorf("Stop took %s", took)
	}
}

// Retry makes ready now, with a reset backoff, the items of one namespace
// whose reconcile failed, and leaves alone other namespaces' and items
// that asked to come back later.
func TestDrainRetryBringsForwardTheNamespacesBackedOffItems(t *testing.T) {
	d := newDrain()
	// Every failure waits an hour: only a retry makes an item ready.
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Hour, time.Hour)
	q := d.controllerOptions(controller.Options{}, logr.Discard()).NewQueue("retry-test", limiter)
	defer q.ShutDown()
	failed := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "a", Name: "failed"}}
	later := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "a", Name: "later"}}
	elsewhere := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "b", Name: "failed"}}
	pq := q.(priorityqueue.PriorityQueue[reconcile.Request])
	pq.AddWithOpts(priorityqueue.AddOpts{RateLimited: true}, failed, elsewhere)
	pq.AddWithOpts(priorityqueue.AddOpts{After: time.Hour}, later)
	if n := q.Len(); n != 0 {
		t.Fatalf("%d items ready before the retry", n)
	}
	if n := d.retry("a"); n != 1 {
		t.Fatalf("retry brought forward %d items, want 1", n)
	}
	if n := q.Len(); n != 1 {
		t.Fatalf("%d items ready after the retry, want 1", n)
	}
	item, shutdown := q.Get()
	if shutdown || item != failed {
		t.Fatalf("got %v (shutdown %v), want %v", item, shutdown, failed)
	}
	if n := limiter.NumRequeues(failed); n != 0 {
		t.Errorf("the retried item's backoff counts %d failures, want a reset", n)
	}
	q.Done(item)
	// Once it succeeds (forgotten), a retry has nothing to bring forward.
	q.Forget(item)
	if n := d.retry("a"); n != 0 {
		t.Errorf("a second retry brought forward %d items", n)
	}
}
