package provider

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
	"github.com/terraform-capi/terraform-provider-capi/internal/tflogr"
)

// providerData is what Configure hands to resources and data sources.
type providerData struct {
	kube   *kube.Client
	engine *engineRunner
	// creating holds what this command's resources create, planned what
	// its plans declare.
	creating *inFlight
	planned  *declarations
}

// engineRunner starts the embedded reconcilers at most once per provider
// process (and management cluster), and only when an apply or a destroy
// needs them: validate, plan and refresh never start it.
type engineRunner struct {
	kube *kube.Client
	// providers are the clouds' reconcilers, configured.
	providers []engine.Provider
	// manager, in in_cluster mode, is the Lease of the manager that
	// reconciles instead: the runner then starts no engine and takes no
	// cluster Lease.
	manager *managerLease

	// engine is the running engine, if any; Shutdown stops it.
	mu     sync.Mutex
	engine *engine.Engine

	locksOnce sync.Once
	locks     *kube.Locks
	locksErr  error
}

// lock takes the Lease of a cluster for this process, waiting while another
// apply holds it (until ctx ends): two applies never reconcile one cluster
// at once.
func (r *engineRunner) lock(ctx context.Context, namespace, cluster string) error {
	if r.manager != nil {
		return r.manager.check(ctx, r.kube)
	}
	r.locksOnce.Do(func() { r.locks, r.locksErr = kube.NewLocks(r.kube) })
	if r.locksErr != nil {
		return r.locksErr
	}
	tflog.Debug(ctx, "taking the cluster's lease", map[string]any{"cluster": namespace + "/" + cluster})
	return r.locks.Lock(ctx, namespace, cluster)
}

// start takes the cluster's lease and makes sure the engine runs: what every
// write to a cluster with reconcilers needs first.
func (r *engineRunner) start(ctx context.Context, namespace, cluster string) error {
	if r.manager != nil {
		return r.manager.check(ctx, r.kube)
	}
	// The lease first: the engine writes only to clusters whose lease it
	// holds, so taking it later would only delay the first reconciles.
	if err := r.lock(ctx, namespace, cluster); err != nil {
		return err
	}
	return r.ensure(ctx)
}

// ensure starts the engine if it is not running yet. The engine outlives
// ctx: it runs until Shutdown, when Terraform ends the provider.
func (r *engineRunner) ensure(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.engine != nil {
		return nil
	}
	// Writer installs the CRDs the reconcilers watch.
	if _, err := r.kube.Writer(ctx); err != nil {
		return err
	}
	tflog.Info(ctx, "starting the embedded Cluster API reconcilers")
	e, err := engine.Start(ctx, engine.Options{
		Config:    r.kube.RESTConfig(),
		Logger:    tflogr.New(ctx),
		Providers: r.providers,
		// Only the clusters whose Lease this process holds.
		Owns: func(namespace, cluster string) bool { return r.locks != nil && r.locks.Held(namespace, cluster) },
	})
	if err != nil {
		return fmt.Errorf("starting the embedded Cluster API reconcilers: %w", err)
	}
	r.engine = e
	return nil
}

// stop stops the engine, letting the reconciles in flight finish (for at
// most the engine's drain timeout), so that none ends halfway between a
// cloud call and the status that records it.
func (r *engineRunner) stop() {
	r.mu.Lock()
	e := r.engine
	r.engine = nil
	r.mu.Unlock()
	if e == nil {
		return
	}
	began := time.Now()
	idle := e.Stop()
	// Terraform has closed the plugin's log channel by now; standard error
	// still reaches its log.
	if idle {
		log.Printf("[DEBUG] stopped the embedded Cluster API reconcilers in %s, every reconcile in flight finished", time.Since(began).Round(time.Millisecond))
	} else {
		log.Printf("[WARN] stopped the embedded Cluster API reconcilers after %s with reconciles still in flight; the next apply resumes them", time.Since(began).Round(time.Millisecond))
	}
}

// runners holds the process's engine runners by management cluster and
// cloud settings. Terraform configures the provider once per command, but a
// process serving several commands (tests, a debugger) keeps one engine.
var runners sync.Map

// Shutdown stops the engines of the process, once their reconciles in
// flight are done, and then releases the leases. The provider server calls
// it when Terraform ends the provider.
func Shutdown() {
	runners.Range(func(_, v any) bool {
		r := v.(*engineRunner)
		r.stop()
		if r.locks != nil {
			r.locks.Release()
		}
		return true
	})
}

func runnerFor(k *kube.Client, providers []engine.Provider, manager *managerLease) *engineRunner {
	key := fmt.Sprintf("%s|%+v|%+v", k.RESTConfig().Host, providers, manager)
	r, _ := runners.LoadOrStore(key, &engineRunner{kube: k, providers: providers, manager: manager})
	return r.(*engineRunner)
}

// configuredData extracts the provider data that Configure hands to
// resources and data sources. Before Configure it returns nil.
func configuredData(data any, diags *diag.Diagnostics) *providerData {
	if data == nil {
		return nil
	}
	d, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *providerData, got %T; this is a bug in the provider", data))
		return nil
	}
	return d
}

// kubeReader is a client of the management cluster for reads, or nil
// with the error in diags.
func (d *providerData) kubeReader(diags *diag.Diagnostics) client.WithWatch {
	if d == nil {
		diags.AddError("Cannot reach the management cluster", "the provider is not configured")
		return nil
	}
	cl, err := d.kube.Reader()
	if err != nil {
		diags.AddError("Cannot reach the management cluster", err.Error())
	}
	return cl
}
