// Package aws is the AWS infrastructure provider that the engine runs: its
// kinds (AWSCluster, AWSMachine, AWSMachineTemplate) and reconcilers.
package aws

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/controllers"
)

// Provider runs the AWS reconcilers in an engine.
type Provider struct {
	// Settings reach AWS; the SDK's standard chain fills in the rest.
	Settings cloud.Settings
}

var _ engine.Provider = Provider{}

// AddToScheme adds the AWS kinds.
func (Provider) AddToScheme(s *runtime.Scheme) error { return infrav1.AddToScheme(s) }

// SetupWithManager adds the AWSCluster and AWSMachine reconcilers.
func (p Provider) SetupWithManager(ctx context.Context, mgr ctrl.Manager, deps engine.Dependencies) error {
	clients := controllers.CachedClients(p.Settings)
	opts := deps.ControllerOptions(10)
	if err := (&controllers.AWSClusterReconciler{Client: mgr.GetClient(), Clients: clients, WatchFilterValue: deps.WatchFilterValue, Owns: deps.Owns}).
		SetupWithManager(ctx, mgr, opts); err != nil {
		return err
	}
	return (&controllers.AWSMachineReconciler{Client: mgr.GetClient(), Clients: clients, WatchFilterValue: deps.WatchFilterValue, Owns: deps.Owns}).
		SetupWithManager(ctx, mgr, opts)
}
