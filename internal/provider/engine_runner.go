package provider

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

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

	once sync.Once
	err  error

	locksOnce sync.Once
	locks     *kube.Locks
	locksErr  error
}

// lock takes the Lease of a cluster for this process, waiting while another
// apply holds it (until ctx ends): two applies never reconcile one cluster
// at once.
func (r *engineRunner) lock(ctx context.Context, namespace, cluster string) error {
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
	// The lease first: the engine writes only to clusters whose lease it
	// holds, so taking it later would only delay the first reconciles.
	if err := r.lock(ctx, namespace, cluster); err != nil {
		return err
	}
	return r.ensure(ctx)
}

// ensure starts the engine if it is not running yet. The engine outlives
// ctx: it runs until the provider process exits at the end of the apply.
func (r *engineRunner) ensure(ctx context.Context) error {
	r.once.Do(func() {
		// Writer installs the CRDs the reconcilers watch.
		if _, err := r.kube.Writer(ctx); err != nil {
			r.err = err
			return
		}
		tflog.Info(ctx, "starting the embedded Cluster API reconcilers")
		_, err := engine.Start(ctx, engine.Options{
			Config:    r.kube.RESTConfig(),
			Logger:    tflogr.New(ctx),
			Providers: r.providers,
			// Only the clusters whose Lease this process holds.
			Owns: func(namespace, cluster string) bool { return r.locks != nil && r.locks.Held(namespace, cluster) },
		})
		if err != nil {
			r.err = fmt.Errorf("starting the embedded Cluster API reconcilers: %w", err)
		}
	})
	return r.err
}

// runners holds the process's engine runners by management cluster and
// cloud settings. Terraform configures the provider once per command, but a
// process serving several commands (tests, a debugger) keeps one engine.
var runners sync.Map

// Shutdown releases the leases of the process. The provider server calls it
// when Terraform ends the provider.
func Shutdown() {
	runners.Range(func(_, v any) bool {
		if r := v.(*engineRunner); r.locks != nil {
			r.locks.Release()
		}
		return true
	})
}

func runnerFor(k *kube.Client, providers []engine.Provider) *engineRunner {
	key := fmt.Sprintf("%s|%+v", k.RESTConfig().Host, providers)
	r, _ := runners.LoadOrStore(key, &engineRunner{kube: k, providers: providers})
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
