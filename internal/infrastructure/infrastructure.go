// Package infrastructure is the seam between the provider and each cloud
// it builds clusters on. A cloud is an Infrastructure: the block it adds to
// the provider configuration and to the resources, the Cluster API
// infrastructure kinds it expands that block into (its InfraCluster,
// InfraMachine and InfraMachineTemplate, Cluster API's provider contract),
// their CRDs, and the reconcilers the engine runs for them. Everything
// above this package is cloud-neutral; everything a cloud knows stays in
// its own package.
package infrastructure

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/defaults"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/engine"
)

// Infrastructure is one cloud.
type Infrastructure interface {
	// Name is the name of the cloud's block in the provider configuration
	// and in capi_cluster, capi_machine_deployment and capi_machine: "aws".
	Name() string
	// Title is the cloud's name in prose ("AWS"), and MachineNoun what a
	// machine is there ("EC2 instance").
	Title() string
	MachineNoun() string
	// Kinds are the cloud's Cluster API infrastructure kinds.
	Kinds() Kinds

	// ProviderBlock is the cloud's block of the provider configuration.
	ProviderBlock() pschema.SingleNestedBlock
	// EngineProvider is the cloud's reconcilers for the engine, configured
	// from the provider configuration's block (null when not set). The
	// value is comparable: equal settings give equal providers.
	EngineProvider(ctx context.Context, config types.Object) (engine.Provider, diag.Diagnostics)
	// AddToScheme adds the cloud's kinds.
	AddToScheme(*runtime.Scheme) error
	// CRDs holds the CustomResourceDefinitions of the cloud's kinds, one
	// YAML file each at its root.
	CRDs() fs.FS

	// ClusterAttribute is the cloud's block of capi_cluster: its
	// InfraCluster.
	ClusterAttribute() rschema.SingleNestedAttribute
	// ClusterDataSourceAttribute is the same block, read-only, in the
	// capi_cluster data source.
	ClusterDataSourceAttribute() dschema.SingleNestedAttribute
	// ClusterValidators check the cluster's block against the rest of the
	// configuration at plan time.
	ClusterValidators() []resource.ConfigValidator
	// MachineTemplateAttributes are the settings of the cloud's machines
	// in a template: control_plane.machine and the deployments' block.
	MachineTemplateAttributes() map[string]rschema.Attribute
	// MachineTemplateDataSourceAttributes are the same, read-only.
	MachineTemplateDataSourceAttributes() map[string]dschema.Attribute
	// MachineAttributes are a capi_machine's block: the template's
	// settings and where the machine runs.
	MachineAttributes() map[string]rschema.Attribute
	// FailureDomainAttribute is the attribute of MachineAttributes that
	// names the machine's failure domain ("" for none).
	FailureDomainAttribute() string
	// MachineValidators check a capi_machine's block against the rest of
	// its configuration at plan time.
	MachineValidators() []resource.ConfigValidator

	// ExpandCluster builds the InfraCluster from the cluster's block.
	ExpandCluster(ctx context.Context, c ClusterMeta, block types.Object) (client.Object, diag.Diagnostics)
	// FlattenCluster reads the block back; prior is the state's block
	// (null on import), whose unset defaults stay unset.
	FlattenCluster(ctx context.Context, obj client.Object, prior types.Object) (types.Object, diag.Diagnostics)
	// ExpandMachineTemplate builds an InfraMachineTemplate named
	// meta.Name + "-" + the hash of its spec: templates are immutable, so a
	// changed spec is a new template.
	ExpandMachineTemplate(ctx context.Context, meta metav1.ObjectMeta, block types.Object) (client.Object, diag.Diagnostics)
	// FlattenMachineTemplate reads a template's settings back.
	FlattenMachineTemplate(ctx context.Context, obj client.Object) (types.Object, diag.Diagnostics)
	// ExpandMachine builds a capi_machine's InfraMachine, and the failure
	// domain its block names ("" for Cluster API's choice).
	ExpandMachine(ctx context.Context, meta metav1.ObjectMeta, block types.Object) (client.Object, string, diag.Diagnostics)
	// FlattenMachine reads a capi_machine's block back from its
	// InfraMachine and the Machine's failure domain.
	FlattenMachine(ctx context.Context, obj client.Object, failureDomain string) (types.Object, diag.Diagnostics)

	// Nodes says how the cluster's nodes identify themselves to Cluster
	// API (kubeadm's node registration, the control plane's extra
	// settings, the add-ons the cloud needs), read from its InfraCluster.
	Nodes(ctx context.Context, cluster client.Object, kubernetesVersion string) (Nodes, error)
	// ReservedAddons are add-on names the cloud uses itself.
	ReservedAddons() []string

	// PlannedFailureDomains are the failure domains a planned cluster's
	// block names (nil when unknown or left to the cloud).
	PlannedFailureDomains(ctx context.Context, block types.Object) []string
	// FailureDomains are those of an InfraCluster, configured or reported.
	FailureDomains(cluster client.Object) []string
	// IsPermanentFailure says whether a condition reason of the cloud's
	// kinds means that no retry can help.
	IsPermanentFailure(reason string) bool
}

// Kinds names a cloud's Cluster API infrastructure kinds.
type Kinds struct {
	// Group is their API group, such as infrastructure.terraform-capi.io.
	Group string
	// Cluster, Machine and MachineTemplate are the kinds: AWSCluster,
	// AWSMachine, AWSMachineTemplate.
	Cluster, Machine, MachineTemplate string
	// NewCluster, NewMachine, NewMachineTemplate and NewMachineTemplateList
	// make empty objects to read into.
	NewCluster             func() client.Object
	NewMachine             func() client.Object
	NewMachineTemplate     func() client.Object
	NewMachineTemplateList func() client.ObjectList
}

// ClusterMeta is what the InfraCluster takes from the Cluster.
type ClusterMeta struct {
	Namespace, Name string
	// Labels go on the InfraCluster (the watch filter, the cluster name).
	Labels map[string]string
	// APIServerPort is the Cluster's clusterNetwork.apiServerPort (0: the
	// default).
	APIServerPort int32
}

// Nodes are the kubeadm settings that a cloud's nodes need, which the
// provider owns: the configuration cannot set them, and they are left out
// when reading a kubeadm block back.
type Nodes struct {
	// Worker is a worker node's registration, with the given taints (nil:
	// kubeadm's default).
	Worker func(taints *[]corev1.Taint) bootstrapv1.NodeRegistrationOptions
	// ControlPlane is a control plane node's registration.
	ControlPlane bootstrapv1.NodeRegistrationOptions
	// ControllerManagerArgs are the control plane's controller manager
	// flags.
	ControllerManagerArgs []bootstrapv1.Arg
	// Addons are the cloud's own add-ons by name: manifests applied with
	// the Reconcile strategy.
	Addons map[string]string
}

// SpecHash is a short, stable digest of a template spec, for template
// names.
func SpecHash(spec any) string {
	data, _ := json.Marshal(spec)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:8]
}

// Conditions are an infrastructure object's status conditions (Cluster
// API's v1beta2 contract), nil for an object without any.
func Conditions(obj client.Object) []metav1.Condition {
	if g, ok := obj.(interface{ GetConditions() []metav1.Condition }); ok {
		return g.GetConditions()
	}
	return nil
}

// BlockType is the attribute types of a block with the given attributes.
func BlockType(attrs map[string]rschema.Attribute) map[string]attr.Type {
	return rschema.SingleNestedAttribute{Attributes: attrs}.GetType().(types.ObjectType).AttrTypes
}

// NullBlock is the null value of a block with the given attributes.
func NullBlock(attrs map[string]rschema.Attribute) types.Object {
	return types.ObjectNull(BlockType(attrs))
}

// EncodeBlock is the block value of model m, a struct whose fields match
// attrs.
func EncodeBlock(ctx context.Context, attrs map[string]rschema.Attribute, m any, diags *diag.Diagnostics) types.Object {
	v, d := types.ObjectValueFrom(ctx, BlockType(attrs), m)
	diags.Append(d...)
	return v
}

// Widen is o as a value of the wider object type attrs (a union of
// several clouds' attributes): the attributes o lacks are null.
func Widen(o types.Object, attrs map[string]attr.Type) (types.Object, diag.Diagnostics) {
	if o.IsNull() {
		return types.ObjectNull(attrs), nil
	}
	if o.IsUnknown() {
		return types.ObjectUnknown(attrs), nil
	}
	values := make(map[string]attr.Value, len(attrs))
	have := o.Attributes()
	for name, t := range attrs {
		if v, ok := have[name]; ok {
			values[name] = v
			continue
		}
		nullValue, err := t.ValueFromTerraform(context.Background(), tftypes.NewValue(t.TerraformType(context.Background()), nil))
		if err != nil {
			var diags diag.Diagnostics
			diags.AddError("Widening a block", err.Error())
			return o, diags
		}
		values[name] = nullValue
	}
	return types.ObjectValue(attrs, values)
}

// WidenWithDefaults is Widen for a resource block: an attribute o lacks
// takes its schema default, as a plan gives it when the configuration
// leaves it out (another cloud's insecure_* switches on a cluster's
// control_plane.machine plan as false, not null), or else null.
func WidenWithDefaults(ctx context.Context, o types.Object, attrs map[string]rschema.Attribute) (types.Object, diag.Diagnostics) {
	wide, diags := Widen(o, BlockType(attrs))
	if diags.HasError() || wide.IsNull() || wide.IsUnknown() {
		return wide, diags
	}
	have := o.Attributes()
	values := wide.Attributes()
	for name, a := range attrs {
		if _, ok := have[name]; ok {
			continue
		}
		if v, ok := SchemaDefault(ctx, a, &diags); ok {
			values[name] = v
		}
	}
	out, d := types.ObjectValue(BlockType(attrs), values)
	diags.Append(d...)
	return out, diags
}

// SchemaDefault is a's schema default, for the kinds of attributes that
// machine settings have.
func SchemaDefault(ctx context.Context, a rschema.Attribute, diags *diag.Diagnostics) (attr.Value, bool) {
	switch a := a.(type) {
	case rschema.BoolAttribute:
		if a.Default != nil {
			var resp defaults.BoolResponse
			a.Default.DefaultBool(ctx, defaults.BoolRequest{}, &resp)
			diags.Append(resp.Diagnostics...)
			return resp.PlanValue, true
		}
	case rschema.StringAttribute:
		if a.Default != nil {
			var resp defaults.StringResponse
			a.Default.DefaultString(ctx, defaults.StringRequest{}, &resp)
			diags.Append(resp.Diagnostics...)
			return resp.PlanValue, true
		}
	case rschema.Int32Attribute:
		if a.Default != nil {
			var resp defaults.Int32Response
			a.Default.DefaultInt32(ctx, defaults.Int32Request{}, &resp)
			diags.Append(resp.Diagnostics...)
			return resp.PlanValue, true
		}
	}
	return nil, false
}

// Narrow is o with only the attributes of attrs, the inverse of Widen.
func Narrow(o types.Object, attrs map[string]attr.Type) (types.Object, diag.Diagnostics) {
	if o.IsNull() {
		return types.ObjectNull(attrs), nil
	}
	if o.IsUnknown() {
		return types.ObjectUnknown(attrs), nil
	}
	values := make(map[string]attr.Value, len(attrs))
	have := o.Attributes()
	for name := range attrs {
		values[name] = have[name]
	}
	return types.ObjectValue(attrs, values)
}
