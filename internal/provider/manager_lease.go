package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-capi/terraform-provider-capi/internal/identity"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
)

// managerLease is where the in-cluster manager says it runs: the Lease its
// leader renews.
type managerLease struct {
	namespace, name string
}

// check fails, naming what to install, unless a manager leads now: an
// in_cluster apply must not write objects that nothing will reconcile and
// then wait for its timeout.
func (m *managerLease) check(ctx context.Context, k *kube.Client) error {
	leader, err := kube.LeaseLeader(ctx, k, m.namespace, m.name)
	if err == nil {
		tflog.Debug(ctx, "the in-cluster manager reconciles", map[string]any{"leader": leader})
		return nil
	}
	return fmt.Errorf("reconcile = \"in_cluster\", but no %s is running in the management cluster: %w. "+
		"Install it (kubectl apply -k of the provider's config/default, Deployment %s/%s), "+
		"set manager_namespace if it runs elsewhere, or set reconcile = \"embedded\" to run the reconcilers in the provider",
		identity.ManagerName, err, m.namespace, identity.ManagerName)
}
