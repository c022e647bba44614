// Package digitalocean is the DigitalOcean infrastructure provider that the
// engine runs: its kinds (DOCluster, DOMachine, DOMachineTemplate), their
// CRDs and reconcilers.
package digitalocean

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/controllers"
)

// Settings say how to reach DigitalOcean: an API token and the API's URL,
// from the environment when empty (see cloud.Settings).
type Settings = cloud.Settings

// Provider runs the DigitalOcean reconcilers in an engine. It is
// comparable: equal settings give equal providers.
type Provider struct {
	Settings Settings
}

var _ engine.Provider = Provider{}

// AddToScheme adds the DigitalOcean kinds.
func (Provider) AddToScheme(s *runtime.Scheme) error { return infrav1.AddToScheme(s) }

// SetupWithManager adds the DOCluster and DOMachine reconcilers.
func (p Provider) SetupWithManager(ctx context.Context, mgr ctrl.Manager, deps engine.Dependencies) error {
	client := controllers.CachedClient(p.Settings)
	// DigitalOcean's rate limit (250 requests a minute) is the account's,
	// not the process's: fewer passes at once than AWS's.
	opts := deps.ControllerOptions(5)
	if err := (&controllers.DOClusterReconciler{Client: mgr.GetClient(), Cloud: client, WatchFilterValue: deps.WatchFilterValue, Owns: deps.Owns}).
		SetupWithManager(ctx, mgr, opts); err != nil {
		return err
	}
	return (&controllers.DOMachineReconciler{Client: mgr.GetClient(), Cloud: client, WatchFilterValue: deps.WatchFilterValue, Owns: deps.Owns}).
		SetupWithManager(ctx, mgr, opts)
}
