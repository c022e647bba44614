package digitalocean

import (
	"context"
	"io/fs"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
)

// Infrastructure is DigitalOcean for the provider: the digitalocean
// blocks, the DigitalOcean kinds and their reconcilers.
type Infrastructure struct{}

var _ infrastructure.Infrastructure = Infrastructure{}

// The DigitalOcean kinds.
const (
	clusterKind         = "DOCluster"
	machineKind         = "DOMachine"
	machineTemplateKind = "DOMachineTemplate"
)

// Name is the blocks' name.
func (Infrastructure) Name() string { return "digitalocean" }

// Title is DigitalOcean.
func (Infrastructure) Title() string { return "DigitalOcean" }

// MachineNoun is a droplet.
func (Infrastructure) MachineNoun() string { return "droplet" }

// Kinds are DOCluster, DOMachine and DOMachineTemplate.
func (Infrastructure) Kinds() infrastructure.Kinds {
	return infrastructure.Kinds{
		Group:   infrav1.GroupVersion.Group,
		Cluster: clusterKind, Machine: machineKind, MachineTemplate: machineTemplateKind,
		NewCluster:             func() client.Object { return &infrav1.DOCluster{} },
		NewMachine:             func() client.Object { return &infrav1.DOMachine{} },
		NewMachineTemplate:     func() client.Object { return &infrav1.DOMachineTemplate{} },
		NewMachineTemplateList: func() client.ObjectList { return &infrav1.DOMachineTemplateList{} },
	}
}

// AddToScheme adds the DigitalOcean kinds.
func (Infrastructure) AddToScheme(s *runtime.Scheme) error { return infrav1.AddToScheme(s) }

// CRDsFS are those of the DigitalOcean kinds.
func (Infrastructure) CRDs() fs.FS {
	sub, err := fs.Sub(CRDs, "crds")
	if err != nil {
		panic(err)
	}
	return sub
}

// providerConfigModel is the provider configuration's digitalocean block.
type providerConfigModel struct {
	Token                 types.String `tfsdk:"token"`
	APIEndpoint           types.String `tfsdk:"api_endpoint"`
	SpacesAccessKeyID     types.String `tfsdk:"spaces_access_key_id"`
	SpacesSecretAccessKey types.String `tfsdk:"spaces_secret_access_key"`
	SpacesEndpoint        types.String `tfsdk:"spaces_endpoint"`
}

// EngineProvider is the DigitalOcean reconcilers with the block's
// settings; the environment fills in the rest.
func (Infrastructure) EngineProvider(ctx context.Context, config types.Object) (engine.Provider, diag.Diagnostics) {
	var diags diag.Diagnostics
	m, _ := tfconv.Decode[providerConfigModel](ctx, config, &diags)
	return Provider{Settings: Settings{Token: m.Token.ValueString(), APIURL: m.APIEndpoint.ValueString(),
		SpacesAccessKeyID: m.SpacesAccessKeyID.ValueString(), SpacesSecretAccessKey: m.SpacesSecretAccessKey.ValueString(),
		SpacesEndpoint: m.SpacesEndpoint.ValueString()}}, diags
}

// ClusterValidators check the VPC's range against DigitalOcean's and the
// cluster's networks, and that the bootstrap data has a Spaces region.
func (Infrastructure) ClusterValidators() []resource.ConfigValidator {
	return []resource.ConfigValidator{networkRules{}, spacesRegionRule{}}
}

// MachineValidators: none beyond the block's own.
func (Infrastructure) MachineValidators() []resource.ConfigValidator { return nil }

// FailureDomainAttribute: a droplet runs in its cluster's region.
func (Infrastructure) FailureDomainAttribute() string { return "" }

// PlannedFailureDomains: the region, which is the only failure domain.
func (Infrastructure) PlannedFailureDomains(context.Context, types.Object) []string { return nil }

// FailureDomains are those a DOCluster reports.
func (Infrastructure) FailureDomains(obj client.Object) []string {
	c, ok := obj.(*infrav1.DOCluster)
	if !ok || c == nil {
		return nil
	}
	var out []string
	for _, fd := range c.Status.FailureDomains {
		out = append(out, fd.Name)
	}
	return out
}

// IsPermanentFailure is infrav1.IsPermanentFailure.
func (Infrastructure) IsPermanentFailure(reason string) bool {
	return infrav1.IsPermanentFailure(reason)
}

// ReservedAddons: none.
func (Infrastructure) ReservedAddons() []string { return nil }
