// Package registry lists the clouds the provider builds clusters on. Adding
// a cloud is one line here; nothing above knows any cloud by name.
package registry

import (
	"fmt"
	"io/fs"

	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean"
)

var all = []infrastructure.Infrastructure{aws.Infrastructure{}, digitalocean.Infrastructure{}}

// All are the clouds, in the order their blocks are documented.
func All() []infrastructure.Infrastructure { return all }

// ByName is the cloud whose blocks are named name.
func ByName(name string) (infrastructure.Infrastructure, bool) {
	for _, i := range all {
		if i.Name() == name {
			return i, true
		}
	}
	return nil, false
}

// ForClusterKind is the cloud whose InfraCluster is group's kind.
func ForClusterKind(group, kind string) (infrastructure.Infrastructure, bool) {
	for _, i := range all {
		if k := i.Kinds(); k.Group == group && k.Cluster == kind {
			return i, true
		}
	}
	return nil, false
}

// ForMachineKind is the cloud whose InfraMachine is group's kind.
func ForMachineKind(group, kind string) (infrastructure.Infrastructure, bool) {
	for _, i := range all {
		if k := i.Kinds(); k.Group == group && k.Machine == kind {
			return i, true
		}
	}
	return nil, false
}

// ForMachineTemplateKind is the cloud whose InfraMachineTemplate is
// group's kind.
func ForMachineTemplateKind(group, kind string) (infrastructure.Infrastructure, bool) {
	for _, i := range all {
		if k := i.Kinds(); k.Group == group && k.MachineTemplate == kind {
			return i, true
		}
	}
	return nil, false
}

// AddToScheme adds every cloud's kinds.
func AddToScheme(s *runtime.Scheme) error {
	for _, i := range all {
		if err := i.AddToScheme(s); err != nil {
			return err
		}
	}
	return nil
}

// CRDs are every cloud's CustomResourceDefinitions.
func CRDs() []fs.FS {
	out := make([]fs.FS, 0, len(all))
	for _, i := range all {
		out = append(out, i.CRDs())
	}
	return out
}

// ControlPlaneMachineAttributes are the attributes of capi_cluster's
// control_plane.machine: every cloud's machine template settings. With
// several clouds each is optional: what the cluster's cloud requires, and
// that no other cloud's is set, is checked against the cluster's block.
func ControlPlaneMachineAttributes() map[string]rschema.Attribute {
	out := map[string]rschema.Attribute{}
	for _, i := range all {
		for name, a := range i.MachineTemplateAttributes() {
			if len(all) > 1 {
				a = optional(a)
			}
			out[name] = a
		}
	}
	return out
}

// optional is a required attribute made optional.
func optional(a rschema.Attribute) rschema.Attribute {
	if !a.IsRequired() {
		return a
	}
	switch a := a.(type) {
	case rschema.StringAttribute:
		a.Required, a.Optional = false, true
		return a
	case rschema.Int32Attribute:
		a.Required, a.Optional = false, true
		return a
	case rschema.BoolAttribute:
		a.Required, a.Optional = false, true
		return a
	case rschema.ListAttribute:
		a.Required, a.Optional = false, true
		return a
	case rschema.SingleNestedAttribute:
		a.Required, a.Optional = false, true
		return a
	}
	panic(fmt.Sprintf("registry: cannot make %T optional", a))
}

// ControlPlaneMachineDataSourceAttributes are the same, read-only.
func ControlPlaneMachineDataSourceAttributes() map[string]dschema.Attribute {
	out := map[string]dschema.Attribute{}
	for _, i := range all {
		for name, a := range i.MachineTemplateDataSourceAttributes() {
			out[name] = a
		}
	}
	return out
}

// ReservedAddons are the add-on names the clouds use themselves.
func ReservedAddons() []string {
	var out []string
	for _, i := range all {
		out = append(out, i.ReservedAddons()...)
	}
	return out
}
