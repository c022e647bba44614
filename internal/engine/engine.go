// Package engine runs Cluster API's own reconcilers (core, kubeadm
// bootstrap, kubeadm control plane) and the provider's infrastructure
// reconcilers inside the provider process, against the management cluster,
// for as long as an apply or destroy needs them.
//
// It does the wiring that Cluster API's deployment otherwise does: one
// cache whose options serve all three providers, webhook defaulting and
// validation in process, explicit values for flags whose zero value would
// silently disable behaviour, and a filter so that only the clusters of
// this provider are reconciled.
package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"go.etcd.io/etcd/client/pkg/v3/logutil"
	"go.uber.org/zap/zapcore"
	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/bootstrap/kubeadm/reconcilers/kubeadmconfig"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	"sigs.k8s.io/cluster-api/controlplane/kubeadm/reconcilers/kubeadmcontrolplane"
	"sigs.k8s.io/cluster-api/core/reconcilers/cluster"
	"sigs.k8s.io/cluster-api/core/reconcilers/clusterresourceset"
	"sigs.k8s.io/cluster-api/core/reconcilers/clusterresourcesetbinding"
	"sigs.k8s.io/cluster-api/core/reconcilers/machine"
	"sigs.k8s.io/cluster-api/core/reconcilers/machinedeployment"
	"sigs.k8s.io/cluster-api/core/reconcilers/machinehealthcheck"
	"sigs.k8s.io/cluster-api/core/reconcilers/machineset"
	"sigs.k8s.io/cluster-api/core/setup"
	"sigs.k8s.io/cluster-api/util/index"
	"sigs.k8s.io/cluster-api/util/secret"

	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
)

// WatchFilterValue is the value of Cluster API's watch-filter label
// (cluster.x-k8s.io/watch-filter) on every object this provider manages.
// The engine reconciles only objects that carry it.
const WatchFilterValue = identity.WatchFilterValue

// controllerName is what the engine's clients and events are attributed to.
const controllerName = identity.ControllerName

// Timings that Cluster API's binaries take from flags. Their zero values
// are invalid or disable behaviour, so each is set on purpose.
const (
	// remoteConnectionGracePeriod and remoteConditionsGracePeriod are the
	// upstream defaults; the reconcilers require the latter to be at least
	// two minutes and longer than the former.
	remoteConnectionGracePeriod = 50 * time.Second
	remoteConditionsGracePeriod = 5 * time.Minute
	etcdDialTimeout             = 10 * time.Second
	etcdCallTimeout             = 15 * time.Second
	// bootstrapTokenTTL is CABPK's default.
	bootstrapTokenTTL = 15 * time.Minute
	// clusterCacheRetryInterval replaces the ClusterCache's fixed 30s wait
	// after a failed connection to a workload cluster: during an apply the
	// API server comes up seconds after the first attempt.
	clusterCacheRetryInterval = 2 * time.Second
	syncPeriod                = 10 * time.Minute
)

// Provider adds an infrastructure provider's kinds and reconcilers.
type Provider interface {
	AddToScheme(*runtime.Scheme) error
	SetupWithManager(ctx context.Context, mgr ctrl.Manager, deps Dependencies) error
}

// Dependencies are what an infrastructure provider's reconcilers share with
// Cluster API's.
type Dependencies struct {
	ClusterCache     clustercache.ClusterCache
	WatchFilterValue string
	// Owns says whether this engine may act on a cluster; reconcilers skip
	// the others (they come back to them later).
	Owns func(namespace, cluster string) bool

	drain  *drain
	logger logr.Logger
}

// ControllerOptions are the options of a controller with at most
// maxConcurrent reconciles at once, whose reconciles in flight the engine
// lets finish when it stops.
func (d Dependencies) ControllerOptions(maxConcurrent int) controller.Options {
	o := controller.Options{MaxConcurrentReconciles: maxConcurrent}
	if d.drain == nil {
		return o
	}
	return d.drain.controllerOptions(o, d.logger)
}

// Options configure an engine.
type Options struct {
	Config *rest.Config
	// Logger receives the reconcilers' logs. Default: discard.
	Logger logr.Logger
	// Providers are the infrastructure providers to run.
	Providers []Provider
	// WatchFilterValue overrides WatchFilterValue (tests run engines side
	// by side).
	WatchFilterValue string
	// Owns, when set, limits writes to the clusters it accepts: the
	// clusters whose Lease this process holds, so that two applies of
	// different clusters never act on each other's. Nil accepts all.
	Owns func(namespace, cluster string) bool
	// DrainTimeout bounds how long Stop lets the reconciles in flight
	// finish before it cancels them. Default: DefaultDrainTimeout.
	DrainTimeout time.Duration
	// SyncPeriod is how often every object is reconciled again even if
	// nothing changed. Default: 10 minutes, as upstream.
	SyncPeriod time.Duration
	// Concurrency is how many objects of a kind Cluster API's reconcilers
	// work on at once. Default: 10, as upstream.
	Concurrency int
	// Manager, when set, runs the engine as a long-running controller
	// manager in or beside the management cluster; without it the engine
	// serves one provider process.
	Manager *ManagerOptions
}

// ManagerOptions are what a long-running controller manager adds: leader
// election, so that replicas take turns, and the endpoints a Deployment
// probes and scrapes.
type ManagerOptions struct {
	LeaderElection          bool
	LeaderElectionID        string
	LeaderElectionNamespace string
	LeaseDuration           time.Duration
	RenewDeadline           time.Duration
	RetryPeriod             time.Duration
	// MetricsBindAddress serves controller-runtime's metrics ("0": none).
	MetricsBindAddress string
	// HealthProbeBindAddress serves /healthz and /readyz ("0": none).
	HealthProbeBindAddress string
}

// Engine is a running controller manager.
type Engine struct {
	mgr          ctrl.Manager
	drain        *drain
	drainTimeout time.Duration
	cancel       context.CancelFunc
	done         chan struct{}
	err          error
}

// Scheme returns a scheme with every kind the engine reconciles.
func Scheme(providers ...Provider) (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	adders := []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme,
		clusterv1.AddToScheme, addonsv1.AddToScheme, bootstrapv1.AddToScheme, controlplanev1.AddToScheme,
	}
	for _, p := range providers {
		adders = append(adders, p.AddToScheme)
	}
	for _, add := range adders {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

var (
	setLoggerOnce sync.Once
	// engines counts the engines started in this process.
	engines atomic.Int64
)

// Stop's time budget. Terraform gives a provider 2 seconds to exit once it
// is done with it, and kills it then; the provider also releases its
// leases in that time.
const (
	// DefaultDrainTimeout is how long Stop lets the reconciles in flight
	// finish, with live contexts, while no new one starts.
	DefaultDrainTimeout = 1200 * time.Millisecond
	// GracefulShutdownTimeout bounds how long the stopped manager waits
	// for what is still running after the drain (reconciles whose context
	// it has cancelled, caches, the cluster cache).
	GracefulShutdownTimeout = 500 * time.Millisecond
)

// Start builds the manager, starts it in the background and returns once
// its caches have synced. It runs until Stop or until ctx ends.
func Start(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Logger.GetSink() == nil {
		opts.Logger = logr.Discard()
	}
	if opts.WatchFilterValue == "" {
		opts.WatchFilterValue = WatchFilterValue
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = DefaultDrainTimeout
	}
	if opts.SyncPeriod <= 0 {
		opts.SyncPeriod = syncPeriod
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 10
	}
	// controller-runtime and klog keep one global logger; the first engine
	// of the process sets it.
	setLoggerOnce.Do(func() {
		ctrllog.SetLogger(opts.Logger)
		klog.SetLoggerWithOptions(opts.Logger, klog.ContextualLogger(true))
	})

	scheme, err := Scheme(opts.Providers...)
	if err != nil {
		return nil, err
	}
	mgrOpts := ctrl.Options{
		Scheme: scheme,
		Logger: opts.Logger,
		Controller: config.Controller{
			UsePriorityQueue: ptr.To(true),
			// Several engines may run in one process (tests); controller
			// names then repeat.
			SkipNameValidation: ptr.To(true),
		},
		Cache:  cacheOptions(scheme, opts.SyncPeriod),
		Client: setup.ManagerClientOptions(),
		NewClient: func(cfg *rest.Config, o client.Options) (client.Client, error) {
			c, err := client.NewWithWatch(cfg, o)
			if err != nil {
				return nil, err
			}
			return admittingClient(c, opts.Owns, opts.WatchFilterValue), nil
		},
		// In a provider process nothing listens: no metrics, no health
		// probes (see ManagerOptions), and never webhooks.
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		LeaderElection:         false,
		// Stop has drained the reconciles in flight before it cancels the
		// manager; this bounds what is left.
		GracefulShutdownTimeout: ptr.To(GracefulShutdownTimeout),
	}
	if m := opts.Manager; m != nil {
		mgrOpts.Metrics.BindAddress = m.MetricsBindAddress
		mgrOpts.HealthProbeBindAddress = m.HealthProbeBindAddress
		mgrOpts.LeaderElection = m.LeaderElection
		mgrOpts.LeaderElectionID = m.LeaderElectionID
		mgrOpts.LeaderElectionNamespace = m.LeaderElectionNamespace
		mgrOpts.LeaseDuration, mgrOpts.RenewDeadline, mgrOpts.RetryPeriod = &m.LeaseDuration, &m.RenewDeadline, &m.RetryPeriod
		// The next leader need not wait for the lease to expire.
		mgrOpts.LeaderElectionReleaseOnCancel = true
	}
	mgr, err := ctrl.NewManager(withRateLimits(opts.Config), mgrOpts)
	if err != nil {
		return nil, fmt.Errorf("creating the controller manager: %w", err)
	}
	if opts.Manager != nil && opts.Manager.HealthProbeBindAddress != "0" {
		if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
			return nil, err
		}
		if err := mgr.AddReadyzCheck("cache", func(req *http.Request) error {
			if !mgr.GetCache().WaitForCacheSync(req.Context()) {
				return errors.New("the caches have not synced")
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d := newDrain()
	if err := setupReconcilers(runCtx, mgr, opts, Dependencies{WatchFilterValue: opts.WatchFilterValue, drain: d, logger: opts.Logger}); err != nil {
		cancel()
		return nil, err
	}

	e := &Engine{mgr: mgr, drain: d, drainTimeout: opts.DrainTimeout, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		e.err = mgr.Start(runCtx)
	}()
	syncCtx, syncCancel := context.WithTimeout(ctx, 2*time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		e.Stop()
		if e.err != nil {
			return nil, fmt.Errorf("starting the controller manager: %w", e.err)
		}
		return nil, errors.New("the controller manager's caches did not sync")
	}
	return e, nil
}

// Done is closed when the engine has stopped, by Stop or because it failed
// (a manager that lost its leader election); Err then says why.
func (e *Engine) Done() <-chan struct{} { return e.done }

// Err is why the engine stopped, once Done is closed (nil after Stop).
func (e *Engine) Err() error {
	<-e.done
	return e.err
}

// Stop stops the reconcilers and waits until they have returned: first no
// new reconcile starts and those in flight finish (for the drain timeout
// at most), then the manager stops. It reports whether every reconcile in
// flight finished before the manager was cancelled.
func (e *Engine) Stop() bool {
	idle := e.drain.wait(e.drainTimeout)
	e.cancel()
	<-e.done
	return idle
}

// Retry reconciles at once what the engine's controllers are backing off
// from in a namespace: a long-running manager
// calls it when an apply that kept it out of a cluster there ends. It
// returns how many reconciles it brought forward.
func (e *Engine) Retry(namespace string) int { return e.drain.retry(namespace) }

// cacheOptions merges what core, CABPK and KCP each ask of the cache:
// core's options, with Secret data kept for every Cluster API purpose
// (certificates, kubeconfig, bootstrap data), which KCP and CABPK read,
// instead of the kubeconfig only.
func cacheOptions(scheme *runtime.Scheme, syncPeriod time.Duration) ctrlcache.Options {
	// Informer names must be unique in a process, and tests run several
	// engines in one.
	informerName := fmt.Sprintf("%s-%d", controllerName, engines.Add(1))
	opts := setup.ManagerCacheOptions(scheme, informerName, "", syncPeriod)
	secretOpts := opts.ByObject[&corev1.Secret{}]
	for obj, byObject := range opts.ByObject {
		if _, ok := obj.(*corev1.Secret); ok {
			secretOpts = byObject
			delete(opts.ByObject, obj)
		}
	}
	secretOpts.Transform = func(in any) (any, error) {
		if s, ok := in.(*corev1.Secret); ok {
			s.SetManagedFields(nil)
			if !secret.HasPurposeSuffix(s.Name) && !strings.HasSuffix(s.Name, "-"+string(secret.Kubeconfig)) {
				s.Data = nil
			}
		}
		return in, nil
	}
	opts.ByObject[&corev1.Secret{}] = secretOpts
	return opts
}

func setupReconcilers(ctx context.Context, mgr ctrl.Manager, opts Options, deps Dependencies) error {
	concurrency := func() controller.Options { return deps.ControllerOptions(opts.Concurrency) }
	if err := index.AddDefaultIndexes(ctx, mgr); err != nil {
		return fmt.Errorf("adding indexes: %w", err)
	}
	secretCachingClient, err := setup.CreateSecretCachingClient(mgr)
	if err != nil {
		return err
	}
	clusterCache, err := clustercache.SetupWithManager(ctx, mgr, clustercache.Options{
		SecretClient:     secretCachingClient,
		Cache:            setup.ClusterCacheCacheOptions(),
		Client:           setup.ClusterCacheClientOptions(controllerName, 20, 30),
		WatchFilterValue: opts.WatchFilterValue,
	}, concurrency())
	if err != nil {
		return fmt.Errorf("setting up the cluster cache: %w", err)
	}
	if cc, ok := clusterCache.(interface{ SetConnectionCreationRetryInterval(time.Duration) }); ok {
		cc.SetConnectionCreationRetryInterval(clusterCacheRetryInterval)
	}

	etcdLogger, err := logutil.CreateDefaultZapLogger(zapcore.WarnLevel)
	if err != nil {
		return err
	}
	filter := opts.WatchFilterValue
	steps := []struct {
		name  string
		setup func() error
	}{
		{"Cluster", func() error {
			return (&cluster.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ClusterCache: clusterCache,
				WatchFilterValue: filter, RemoteConnectionGracePeriod: remoteConnectionGracePeriod}).SetupWithManager(ctx, mgr, concurrency())
		}},
		{"Machine", func() error {
			return (&machine.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ClusterCache: clusterCache,
				WatchFilterValue: filter, RemoteConditionsGracePeriod: remoteConditionsGracePeriod}).SetupWithManager(ctx, mgr, concurrency())
		}},
		{"MachineSet", func() error {
			// A nil set would silently disable every preflight check.
			return (&machineset.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), ClusterCache: clusterCache,
				PreflightChecks:  sets.New(clusterv1.MachineSetPreflightCheckAll),
				WatchFilterValue: filter}).SetupWithManager(ctx, mgr, concurrency())
		}},
		{"MachineDeployment", func() error {
			return (&machinedeployment.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
				WatchFilterValue: filter}).SetupWithManager(ctx, mgr, concurrency())
		}},
		{"MachineHealthCheck", func() error {
			return (&machinehealthcheck.Reconciler{Client: mgr.GetClient(), ClusterCache: clusterCache,
				WatchFilterValue: filter}).SetupWithManager(ctx, mgr, concurrency())
		}},
		{"ClusterResourceSet", func() error {
			partialSecrets, err := partialSecretCache(mgr, opts.SyncPeriod)
			if err != nil {
				return err
			}
			return (&clusterresourceset.Reconciler{Client: mgr.GetClient(), ClusterCache: clusterCache,
				WatchFilterValue: filter}).SetupWithManager(ctx, mgr, concurrency(), partialSecrets)
		}},
		{"ClusterResourceSetBinding", func() error {
			return (&clusterresourcesetbinding.Reconciler{Client: mgr.GetClient(),
				WatchFilterValue: filter}).SetupWithManager(ctx, mgr, concurrency())
		}},
		{"KubeadmConfig", func() error {
			return (&kubeadmconfig.Reconciler{Client: mgr.GetClient(), SecretCachingClient: secretCachingClient, APIReader: mgr.GetAPIReader(),
				ClusterCache: clusterCache, WatchFilterValue: filter, TokenTTL: bootstrapTokenTTL}).SetupWithManager(ctx, mgr, concurrency())
		}},
		{"KubeadmControlPlane", func() error {
			return (&kubeadmcontrolplane.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), SecretCachingClient: secretCachingClient,
				ClusterCache: clusterCache, WatchFilterValue: filter, EtcdDialTimeout: etcdDialTimeout, EtcdCallTimeout: etcdCallTimeout,
				EtcdLogger: etcdLogger, RemoteConditionsGracePeriod: remoteConditionsGracePeriod,
			}).SetupWithManager(ctx, mgr, kcpOptions(concurrency()))
		}},
	}
	for _, s := range steps {
		if err := s.setup(); err != nil {
			return fmt.Errorf("setting up the %s reconciler: %w", s.name, err)
		}
	}
	deps.ClusterCache = clusterCache
	deps.Owns = opts.Owns
	if deps.Owns == nil {
		deps.Owns = func(string, string) bool { return true }
	}
	for _, p := range opts.Providers {
		if err := p.SetupWithManager(ctx, mgr, deps); err != nil {
			return fmt.Errorf("setting up %T: %w", p, err)
		}
	}
	return nil
}

// partialSecretCache is the metadata-only cache of Secrets that Cluster
// API's manager adds for the ClusterResourceSet reconciler, which watches
// Secrets of any name (the main cache holds only cluster Secrets).
func partialSecretCache(mgr ctrl.Manager, syncPeriod time.Duration) (ctrlcache.Cache, error) {
	c, err := ctrlcache.New(mgr.GetConfig(), ctrlcache.Options{
		Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(), HTTPClient: mgr.GetHTTPClient(),
		SyncPeriod:       ptr.To(syncPeriod),
		DefaultTransform: ctrlcache.TransformStripManagedFields(),
	})
	if err != nil {
		return nil, fmt.Errorf("creating the Secret metadata cache: %w", err)
	}
	return c, mgr.Add(c)
}

// Client-side rate limits of the engine's requests to the management
// cluster, where the configuration sets none. client-go's defaults (5 per
// second, bursts of 10) made a deployment of 100 machines take minutes:
// the reconcilers of one apply need thousands of requests.
const (
	managementQPS   = 50
	managementBurst = 100
)

func withRateLimits(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		cfg.QPS, cfg.Burst = managementQPS, managementBurst
	}
	return cfg
}

// kcpOptions bounds KubeadmControlPlane reconciles, which wait on etcd
// and the workload cluster, as upstream's manager does.
func kcpOptions(o controller.Options) controller.Options {
	o.ReconciliationTimeout = 3 * time.Minute
	return o
}
