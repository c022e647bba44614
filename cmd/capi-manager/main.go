// Command capi-manager runs the reconcilers that terraform-provider-capi
// embeds (Cluster API's core, kubeadm bootstrap and kubeadm control plane,
// and the provider's AWS and DigitalOcean infrastructure) as a
// long-running, leader-elected controller manager in the management
// cluster, so that clusters keep being reconciled between applies: health
// checks and their remediation, certificate renewal, machines whose
// instances died.
//
// It reconciles the objects the provider writes (Cluster API's
// watch-filter label), except a cluster whose Lease an apply in embedded
// mode holds: the two never reconcile one cluster at once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/terraform-capi/terraform-provider-capi/internal/crds"
	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
)

// version is set by the release build through ldflags.
var version = "dev"

// flags are upstream Cluster API managers' flags, with their defaults
// where they have them.
type flags struct {
	leaderElect             bool
	leaderElectionID        string
	leaderElectionNamespace string
	leaseDuration           time.Duration
	renewDeadline           time.Duration
	retryPeriod             time.Duration
	metricsAddr             string
	healthAddr              string
	watchFilter             string
	syncPeriod              time.Duration
	concurrency             int
	qps                     float64
	burst                   int
	installCRDs             bool
	drainTimeout            time.Duration
}

func parseFlags(fs *flag.FlagSet, args []string) (flags, error) {
	var f flags
	fs.BoolVar(&f.leaderElect, "leader-elect", true, "run one active replica at a time (leader election on a Lease)")
	fs.StringVar(&f.leaderElectionID, "leader-election-id", identity.ManagerLeaderElectionID, "name of the leader election Lease")
	fs.StringVar(&f.leaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: $POD_NAMESPACE, else "+identity.ManagerNamespace+")")
	fs.DurationVar(&f.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a leader's Lease is valid without renewal")
	fs.DurationVar(&f.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader retries renewing before it gives up")
	fs.DurationVar(&f.retryPeriod, "leader-elect-retry-period", 2*time.Second, "how often candidates try to take or renew the Lease")
	fs.StringVar(&f.metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0: off)")
	fs.StringVar(&f.healthAddr, "health-addr", ":9440", "address of the /healthz and /readyz endpoints (0: off)")
	fs.StringVar(&f.healthAddr, "health-probe-bind-address", ":9440", "same as --health-addr")
	fs.StringVar(&f.watchFilter, "watch-filter", identity.WatchFilterValue, "reconcile only objects with this value of the cluster.x-k8s.io/watch-filter label")
	fs.DurationVar(&f.syncPeriod, "sync-period", 10*time.Minute, "how often every object is reconciled again")
	fs.IntVar(&f.concurrency, "concurrency", 10, "objects of one kind that Cluster API's reconcilers work on at once")
	fs.Float64Var(&f.qps, "kube-api-qps", 50, "requests a second to the management cluster")
	fs.IntVar(&f.burst, "kube-api-burst", 100, "burst of requests to the management cluster")
	fs.BoolVar(&f.installCRDs, "install-crds", true, "install or update the CustomResourceDefinitions at start")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 20*time.Second, "how long a stopping manager lets reconciles in flight finish")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.leaderElectionNamespace == "" {
		f.leaderElectionNamespace = os.Getenv("POD_NAMESPACE")
	}
	if f.leaderElectionNamespace == "" {
		f.leaderElectionNamespace = identity.ManagerNamespace
	}
	if f.concurrency < 1 {
		return f, fmt.Errorf("--concurrency must be at least 1, not %d", f.concurrency)
	}
	if f.renewDeadline >= f.leaseDuration {
		return f, fmt.Errorf("--leader-elect-renew-deadline (%s) must be shorter than --leader-elect-lease-duration (%s)", f.renewDeadline, f.leaseDuration)
	}
	return f, nil
}

func main() {
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	f, err := parseFlags(flag.CommandLine, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "capi-manager:", err)
		os.Exit(2)
	}
	logger := zap.New(zap.UseFlagOptions(&zapOpts))
	ctrl.SetLogger(logger)
	log := logger.WithName("setup")
	if err := run(ctrl.SetupSignalHandler(), f); err != nil {
		log.Error(err, "capi-manager stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) error {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("finding the management cluster: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(f.qps), f.burst
	cfg.UserAgent = "capi-manager/" + version
	log := ctrl.Log.WithName("setup")

	if f.installCRDs {
		if err := crds.Install(ctx, cfg, identity.ManagerName, registry.CRDs()...); err != nil {
			return fmt.Errorf("installing the CustomResourceDefinitions: %w", err)
		}
	}
	if f.leaderElect {
		if err := ensureNamespace(ctx, cfg, f.leaderElectionNamespace); err != nil {
			return err
		}
	}
	applies, err := kube.WatchApplyLeases(ctx, cfg)
	if err != nil {
		return err
	}
	var providers []engine.Provider
	for _, cloud := range registry.All() {
		// No configuration block: each cloud takes its settings from the
		// environment (AWS's standard chain, DIGITALOCEAN_TOKEN, ...).
		p, diags := cloud.EngineProvider(ctx, types.ObjectNull(nil))
		if diags.HasError() {
			return fmt.Errorf("configuring %s: %v", cloud.Title(), diags)
		}
		providers = append(providers, p)
	}
	e, err := engine.Start(ctx, engine.Options{
		Config:           cfg,
		Logger:           ctrl.Log.WithName("engine"),
		Providers:        providers,
		WatchFilterValue: f.watchFilter,
		// A cluster an embedded apply is working on is that apply's.
		Owns:         func(namespace, cluster string) bool { return !applies.Held(namespace, cluster) },
		DrainTimeout: f.drainTimeout,
		SyncPeriod:   f.syncPeriod,
		Concurrency:  f.concurrency,
		Manager: &engine.ManagerOptions{
			LeaderElection: f.leaderElect, LeaderElectionID: f.leaderElectionID, LeaderElectionNamespace: f.leaderElectionNamespace,
			LeaseDuration: f.leaseDuration, RenewDeadline: f.renewDeadline, RetryPeriod: f.retryPeriod,
			MetricsBindAddress: f.metricsAddr, HealthProbeBindAddress: f.healthAddr,
		},
	})
	if err != nil {
		return err
	}
	// Writes to a cluster an apply held were refused, and the reconcilers
	// back off after each (up to 1000 s): once the apply lets go, retry.
	err = applies.OnRelease(func(namespace, cluster string) {
		if n := e.Retry(namespace); n > 0 {
			log.Info("an apply let go of a cluster: retrying the reconciles refused meanwhile", "cluster", namespace+"/"+cluster, "reconciles", n)
		}
	})
	if err != nil {
		e.Stop()
		return err
	}
	log.Info("capi-manager started", "version", version, "watchFilter", f.watchFilter,
		"leaderElection", f.leaderElect, "lease", f.leaderElectionNamespace+"/"+f.leaderElectionID)
	select {
	case <-ctx.Done():
		idle := e.Stop()
		log.Info("capi-manager stopped", "reconcilesFinished", idle)
		return nil
	case <-e.Done():
		if err := e.Err(); err != nil {
			return err
		}
		return errors.New("the controller manager stopped")
	}
}

// ensureNamespace creates the leader election Lease's namespace where it
// does not exist (outside a cluster's Deployment, as in a lab).
func ensureNamespace(ctx context.Context, cfg *rest.Config, name string) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.IsForbidden(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}
