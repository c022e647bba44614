// Package v1alpha1 holds the DigitalOcean infrastructure kinds of
// terraform-provider-capi (DOCluster, DOMachine, DOMachineTemplate), which
// follow Cluster API's v1beta2 infrastructure contract. They share the
// provider's own group with the AWS kinds, so they coexist with Cluster API
// Provider DigitalOcean.
//
// +kubebuilder:object:generate=true
// +groupName=infrastructure.terraform-capi.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of these kinds.
	GroupVersion = schema.GroupVersion{Group: "infrastructure.terraform-capi.io", Version: "v1alpha1"}

	schemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds these kinds to a scheme.
	AddToScheme = schemeBuilder.AddToScheme
)

func init() {
	schemeBuilder.Register(&DOCluster{}, &DOClusterList{}, &DOMachine{}, &DOMachineList{}, &DOMachineTemplate{}, &DOMachineTemplateList{})
}
