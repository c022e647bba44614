package aws

import (
	"context"
	"embed"
	"io/fs"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/tfconv"
)

// Infrastructure is AWS for the provider: the aws blocks, the AWS kinds
// and their reconcilers.
type Infrastructure struct{}

var _ infrastructure.Infrastructure = Infrastructure{}

// The AWS kinds.
const (
	clusterKind         = "AWSCluster"
	machineKind         = "AWSMachine"
	machineTemplateKind = "AWSMachineTemplate"
)

// Name is the blocks' name.
func (Infrastructure) Name() string { return "aws" }

// Title is AWS.
func (Infrastructure) Title() string { return "AWS" }

// MachineNoun is an EC2 instance.
func (Infrastructure) MachineNoun() string { return "EC2 instance" }

// Kinds are AWSCluster, AWSMachine and AWSMachineTemplate.
func (Infrastructure) Kinds() infrastructure.Kinds {
	return infrastructure.Kinds{
		Group:   infrav1.GroupVersion.Group,
		Cluster: clusterKind, Machine: machineKind, MachineTemplate: machineTemplateKind,
		NewCluster:             func() client.Object { return &infrav1.AWSCluster{} },
		NewMachine:             func() client.Object { return &infrav1.AWSMachine{} },
		NewMachineTemplate:     func() client.Object { return &infrav1.AWSMachineTemplate{} },
		NewMachineTemplateList: func() client.ObjectList { return &infrav1.AWSMachineTemplateList{} },
	}
}

// providerConfigModel is the provider configuration's aws block.
type providerConfigModel struct {
	Profile                types.String `tfsdk:"profile"`
	EC2Endpoint            types.String `tfsdk:"ec2_endpoint"`
	ELBEndpoint            types.String `tfsdk:"elb_endpoint"`
	SecretsManagerEndpoint types.String `tfsdk:"secretsmanager_endpoint"`
}

// EngineProvider is the AWS reconcilers with the block's settings; the
// SDK's standard chain fills in the rest.
func (Infrastructure) EngineProvider(ctx context.Context, config types.Object) (engine.Provider, diag.Diagnostics) {
	var diags diag.Diagnostics
	m, _ := tfconv.Decode[providerConfigModel](ctx, config, &diags)
	return Provider{Settings: cloud.Settings{
		Profile: m.Profile.ValueString(), EC2Endpoint: m.EC2Endpoint.ValueString(), ELBEndpoint: m.ELBEndpoint.ValueString(),
		SecretsManagerEndpoint: m.SecretsManagerEndpoint.ValueString(),
	}}, diags
}

//go:embed crds/*.yaml
var crdFiles embed.FS

// CRDs are those of the AWS kinds.
func (Infrastructure) CRDs() fs.FS {
	sub, err := fs.Sub(crdFiles, "crds")
	if err != nil {
		panic(err)
	}
	return sub
}

// ClusterValidators check the VPC and zones against the cluster's
// networks, and the cloud controller manager's flags.
func (Infrastructure) ClusterValidators() []resource.ConfigValidator {
	return []resource.ConfigValidator{networkRules{}, cloudProviderArgs{}}
}

// PlannedFailureDomains are the block's availability zones.
func (Infrastructure) PlannedFailureDomains(ctx context.Context, block types.Object) []string {
	var diags diag.Diagnostics
	m, ok := tfconv.Decode[clusterModel](ctx, block, &diags)
	if !ok || !tfconv.IsKnown(m.AvailabilityZones) {
		return nil
	}
	var zones []string
	for _, z := range m.AvailabilityZones.Elements() {
		if s, ok := z.(types.String); ok && tfconv.IsKnown(s) {
			zones = append(zones, s.ValueString())
		}
	}
	return zones
}

// FailureDomains are an AWSCluster's zones: configured, and reported.
func (Infrastructure) FailureDomains(obj client.Object) []string {
	a, ok := obj.(*infrav1.AWSCluster)
	if !ok || a == nil {
		return nil
	}
	zones := slices.Clone(a.Spec.Network.AvailabilityZones)
	for _, fd := range a.Status.FailureDomains {
		if !slices.Contains(zones, fd.Name) {
			zones = append(zones, fd.Name)
		}
	}
	return zones
}

// IsPermanentFailure is infrav1.IsPermanentFailure.
func (Infrastructure) IsPermanentFailure(reason string) bool {
	return infrav1.IsPermanentFailure(reason)
}

// AddToScheme adds the AWS kinds.
func (Infrastructure) AddToScheme(s *runtime.Scheme) error { return infrav1.AddToScheme(s) }
