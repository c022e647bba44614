package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// MachineFinalizer holds a DOMachine until its droplet is deleted.
const MachineFinalizer = "infrastructure.terraform-capi.io/domachine"

// DOMachine conditions, besides Ready and Paused.
const (
	// DropletReadyCondition is true when the droplet is active.
	DropletReadyCondition = "DropletReady"
)

// ProviderIDPrefix starts the provider ID of a droplet, followed by its ID,
// as DigitalOcean's cloud controller manager and Cluster API Provider
// DigitalOcean write it.
const ProviderIDPrefix = "digitalocean://"

// DOMachineSpec is the desired droplet of a Machine.
type DOMachineSpec struct {
	// providerID is digitalocean://<droplet id>, set by the reconciler.
	// +optional
	ProviderID string `json:"providerID,omitempty"`

	// size slug of the droplet, such as s-2vcpu-4gb.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Size string `json:"size"`

	// image the droplet boots: a slug (such as ubuntu-24-04-x64) or the
	// numeric ID of an image of the account. For a kubeadm Machine it must
	// carry kubeadm, kubelet and a container runtime at its version.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Image string `json:"image"`

	// sshKeys are keys of the account, by numeric ID or fingerprint, that
	// may log in as root.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=128
	SSHKeys []string `json:"sshKeys,omitempty"`

	// tags added to the droplet besides those of its cluster, role and
	// machine. DigitalOcean creates tags that do not exist yet.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +kubebuilder:validation:items:MaxLength=255
	// +kubebuilder:validation:items:Pattern=`^[a-zA-Z0-9_\-:]+$`
	Tags []string `json:"tags,omitempty"`

	// monitoring installs DigitalOcean's metrics agent (default false).
	// +optional
	Monitoring *bool `json:"monitoring,omitempty"`

	// insecureInlineBootstrapData puts the bootstrap data in the droplet's
	// user data, which the droplet's metadata service serves for the
	// droplet's whole life: for a control plane machine that is the
	// cluster's private keys. By default (false) the data is stored in a
	// Spaces bucket of the cluster for the boot only, and the user data
	// holds presigned URLs that fetch and delete it.
	// +optional
	InsecureInlineBootstrapData bool `json:"insecureInlineBootstrapData,omitempty"`
}

// DOMachineStatus is what exists in the cloud.
type DOMachineStatus struct {
	// initialization reports when the droplet is active.
	// +optional
	Initialization DOMachineInitializationStatus `json:"initialization,omitempty,omitzero"`

	// dropletStatus is DigitalOcean's: new, active, off or archive.
	// +optional
	DropletStatus string `json:"dropletStatus,omitempty"`

	// addresses of the droplet: its private IPv4 address in the VPC
	// (InternalIP) and its public one (ExternalIP).
	// +optional
	Addresses []clusterv1.MachineAddress `json:"addresses,omitempty"`

	// bootstrapData is where the machine's bootstrap data is stored until
	// the droplet has read it, recorded before it is stored: nothing is
	// stored that a later pass or the delete cannot find.
	// +optional
	BootstrapData BootstrapDataStatus `json:"bootstrapData,omitempty,omitzero"`

	// conditions of the DOMachine.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DOMachineInitializationStatus is part of the infrastructure contract.
// +kubebuilder:validation:MinProperties=1
type DOMachineInitializationStatus struct {
	// provisioned is true once the droplet is active.
	// +optional
	Provisioned *bool `json:"provisioned,omitempty"`
}

// DOMachine is the droplet of a Cluster API Machine.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=domachines,scope=Namespaced,categories=cluster-api
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1alpha1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/provider=infrastructure-terraform-capi-digitalocean"
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']"
// +kubebuilder:printcolumn:name="Provider ID",type="string",JSONPath=".spec.providerID"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.dropletStatus"
// +kubebuilder:printcolumn:name="Size",type="string",JSONPath=".spec.size"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type DOMachine struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DOMachineSpec   `json:"spec,omitempty"`
	Status DOMachineStatus `json:"status,omitempty"`
}

// GetConditions returns the conditions, for Cluster API's conditions helpers.
func (m *DOMachine) GetConditions() []metav1.Condition { return m.Status.Conditions }

// SetConditions sets the conditions, for Cluster API's conditions helpers.
func (m *DOMachine) SetConditions(conditions []metav1.Condition) { m.Status.Conditions = conditions }

// DOMachineList is a list of DOMachines.
//
// +kubebuilder:object:root=true
type DOMachineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DOMachine `json:"items"`
}

// DOMachineTemplateSpec holds the spec of the DOMachines made from it.
type DOMachineTemplateSpec struct {
	Template DOMachineTemplateResource `json:"template"`
}

// DOMachineTemplateResource is the template proper.
type DOMachineTemplateResource struct {
	// +optional
	ObjectMeta clusterv1.ObjectMeta `json:"metadata,omitempty,omitzero"`
	Spec       DOMachineSpec        `json:"spec"`
}

// DOMachineTemplate is what KubeadmControlPlanes and MachineDeployments
// clone DOMachines from.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=domachinetemplates,scope=Namespaced,categories=cluster-api
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1alpha1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/provider=infrastructure-terraform-capi-digitalocean"
type DOMachineTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec DOMachineTemplateSpec `json:"spec,omitempty"`
}

// DOMachineTemplateList is a list of DOMachineTemplates.
//
// +kubebuilder:object:root=true
type DOMachineTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DOMachineTemplate `json:"items"`
}

// BootstrapDataStatus is a machine's bootstrap data in Spaces.
type BootstrapDataStatus struct {
	// bucket is the cluster's bootstrap data bucket.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Bucket string `json:"bucket,omitempty"`
	// region of the bucket.
	// +optional
	// +kubebuilder:validation:MaxLength=16
	Region string `json:"region,omitempty"`
	// key of the object; empty once it is deleted.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Key string `json:"key,omitempty"`
}
