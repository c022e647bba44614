package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// MachineFinalizer holds an AWSMachine until its instance is terminated.
const MachineFinalizer = "infrastructure.terraform-capi.io/awsmachine"

// AWSMachine conditions, besides Ready and Paused.
const (
	// InstanceReadyCondition is true when the EC2 instance is running.
	InstanceReadyCondition = "InstanceReady"
)

// AWSMachineSpec is the desired EC2 instance of a Machine.
type AWSMachineSpec struct {
	// providerID is aws:///<zone>/<instance-id>, set by the reconciler.
	// +optional
	ProviderID string `json:"providerID,omitempty"`

	// instanceID is set by the reconciler once the instance exists.
	// +optional
	InstanceID string `json:"instanceID,omitempty"`

	// ami is the image to boot. When empty, imageLookup finds one for the
	// Machine's Kubernetes version. The image must carry kubeadm, kubelet
	// and a container runtime at that version.
	// +optional
	// +kubebuilder:validation:Pattern=`^ami-[0-9a-f]{8,17}$`
	AMI string `json:"ami,omitempty"`

	// imageLookup finds the image by owner, base OS and the Machine's
	// Kubernetes version when ami is empty. Default: Cluster API's
	// published images (owner 819546954734, base OS ubuntu-24.04).
	// +optional
	ImageLookup *ImageLookup `json:"imageLookup,omitempty"`

	// instanceType such as t3.large.
	// +required
	// +kubebuilder:validation:MinLength=2
	InstanceType string `json:"instanceType"`

	// rootVolumeSizeGiB is the size of the root EBS volume, at least the
	// image's snapshot. Default: the image's own size.
	// +optional
	// +kubebuilder:validation:Minimum=8
	RootVolumeSizeGiB int32 `json:"rootVolumeSizeGiB,omitempty"`

	// sshKeyName is an existing EC2 key pair.
	// +optional
	SSHKeyName string `json:"sshKeyName,omitempty"`

	// iamInstanceProfile is an existing instance profile's name. Default,
	// unless cloudInit.insecureSkipSecretsManager is set: Cluster API
	// Provider AWS's control-plane.cluster-api-provider-aws.sigs.k8s.io or
	// nodes.cluster-api-provider-aws.sigs.k8s.io, whose roles may read and
	// delete the bootstrap data in Secrets Manager.
	// +optional
	IAMInstanceProfile string `json:"iamInstanceProfile,omitempty"`

	// publicIP gives the instance a public address (a public subnet).
	// +optional
	PublicIP bool `json:"publicIP,omitempty"`

	// rootVolumeKMSKeyID is the KMS key (ID, ARN or alias) that encrypts
	// the root volume. The root volume is always encrypted; without a key,
	// with the account's default EBS key.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	RootVolumeKMSKeyID string `json:"rootVolumeKMSKeyID,omitempty"`

	// instanceMetadataOptions set how the instance reaches its metadata
	// service. Default: IMDSv2 only (tokens required), hop limit 1, so
	// that pods behind a network hop cannot read the node's role
	// credentials.
	// +optional
	InstanceMetadataOptions *InstanceMetadataOptions `json:"instanceMetadataOptions,omitempty"`

	// cloudInit says how the bootstrap data reaches the instance.
	// +optional
	CloudInit CloudInit `json:"cloudInit,omitempty,omitzero"`
}

// InstanceMetadataOptions are EC2's metadata options of an instance.
type InstanceMetadataOptions struct {
	// httpTokens is required (IMDSv2 only) or optional (IMDSv1 too).
	// Default required.
	// +optional
	// +kubebuilder:validation:Enum=required;optional
	HTTPTokens string `json:"httpTokens,omitempty"`

	// httpPutResponseHopLimit is how many network hops the metadata
	// service's answers travel. Default 1.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=64
	HTTPPutResponseHopLimit int32 `json:"httpPutResponseHopLimit,omitempty"`
}

// CloudInit is how the bootstrap data reaches the instance: by default
// through AWS Secrets Manager, which the instance reads once and empties;
// inline in the user data only when insecureSkipSecretsManager is set.
type CloudInit struct {
	// insecureSkipSecretsManager puts the bootstrap data in the
	// instance's user data, for images without the AWS CLI. A control
	// plane machine's bootstrap data holds the cluster's certificate
	// authority and service account private keys: in user data, anyone
	// allowed ec2:DescribeInstanceAttribute, and any process on the node
	// that reaches the metadata service, can read them for the instance's
	// life.
	// +optional
	InsecureSkipSecretsManager bool `json:"insecureSkipSecretsManager,omitempty"`
}

// BootstrapDataStatus is where the reconciler stored the bootstrap data
// for the instance to fetch. It is recorded before the data is stored, so
// that nothing stored is ever unknown to the AWSMachine.
type BootstrapDataStatus struct {
	// secretPrefix is the name prefix of the secrets: <prefix>-0,
	// <prefix>-1, ...
	// +optional
	SecretPrefix string `json:"secretPrefix,omitempty"`

	// secretCount is how many secrets under secretPrefix were stored and
	// not yet deleted by the reconciler (the instance deletes them too
	// once it has read them).
	// +optional
	SecretCount int32 `json:"secretCount,omitempty"`
}

// ImageLookup finds an AMI by name, the way Cluster API Provider AWS does:
// the newest available image of owner whose name matches nameFormat.
type ImageLookup struct {
	// owner is the AWS account that publishes the images. Default
	// 819546954734, Cluster API's.
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]{12}|self|amazon|aws-marketplace)$`
	Owner string `json:"owner,omitempty"`

	// nameFormat is a Go text/template of the image name, with
	// {{.BaseOS}} and {{.K8sVersion}} (the Machine's version without its
	// leading v) and EC2's wildcards * and ?. Default
	// capa-ami-{{.BaseOS}}-?{{.K8sVersion}}-*.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	NameFormat string `json:"nameFormat,omitempty"`

	// baseOS is the operating system in the image name, such as
	// ubuntu-24.04 or al2023. Default ubuntu-24.04.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	BaseOS string `json:"baseOS,omitempty"`
}

// AWSMachineStatus is what exists in the cloud.
type AWSMachineStatus struct {
	// initialization reports when the instance is running.
	// +optional
	Initialization AWSMachineInitializationStatus `json:"initialization,omitempty,omitzero"`

	// imageID is the AMI the instance boots (or booted), as resolved from
	// ami or imageLookup.
	// +optional
	ImageID string `json:"imageID,omitempty"`

	// instanceState is the EC2 state: pending, running, shutting-down, terminated.
	// +optional
	InstanceState string `json:"instanceState,omitempty"`

	// failureDomain is the zone the instance runs in.
	// +optional
	FailureDomain string `json:"failureDomain,omitempty"`

	// bootstrapData is where the bootstrap data waits for the instance,
	// in AWS Secrets Manager.
	// +optional
	BootstrapData BootstrapDataStatus `json:"bootstrapData,omitempty,omitzero"`

	// addresses of the instance.
	// +optional
	Addresses []clusterv1.MachineAddress `json:"addresses,omitempty"`

	// conditions of the AWSMachine.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AWSMachineInitializationStatus is part of the infrastructure contract.
// +kubebuilder:validation:MinProperties=1
type AWSMachineInitializationStatus struct {
	// provisioned is true once the instance runs.
	// +optional
	Provisioned *bool `json:"provisioned,omitempty"`
}

// AWSMachine is the EC2 instance of a Cluster API Machine.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=awsmachines,scope=Namespaced,categories=cluster-api
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1alpha1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/provider=infrastructure-terraform-capi-aws"
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']"
// +kubebuilder:printcolumn:name="Instance",type="string",JSONPath=".spec.instanceID"
// +kubebuilder:printcolumn:name="State",type="string",JSONPath=".status.instanceState"
// +kubebuilder:printcolumn:name="Zone",type="string",JSONPath=".status.failureDomain"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type AWSMachine struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AWSMachineSpec   `json:"spec,omitempty"`
	Status AWSMachineStatus `json:"status,omitempty"`
}

// GetConditions returns the conditions, for Cluster API's conditions helpers.
func (m *AWSMachine) GetConditions() []metav1.Condition { return m.Status.Conditions }

// SetConditions sets the conditions, for Cluster API's conditions helpers.
func (m *AWSMachine) SetConditions(conditions []metav1.Condition) { m.Status.Conditions = conditions }

// AWSMachineList is a list of AWSMachines.
//
// +kubebuilder:object:root=true
type AWSMachineList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AWSMachine `json:"items"`
}

// AWSMachineTemplateSpec holds the spec of the AWSMachines made from it.
type AWSMachineTemplateSpec struct {
	Template AWSMachineTemplateResource `json:"template"`
}

// AWSMachineTemplateResource is the template proper.
type AWSMachineTemplateResource struct {
	// +optional
	ObjectMeta clusterv1.ObjectMeta `json:"metadata,omitempty,omitzero"`
	Spec       AWSMachineSpec       `json:"spec"`
}

// AWSMachineTemplate is what KubeadmControlPlanes and MachineDeployments
// clone AWSMachines from.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=awsmachinetemplates,scope=Namespaced,categories=cluster-api
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1alpha1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/provider=infrastructure-terraform-capi-aws"
type AWSMachineTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AWSMachineTemplateSpec `json:"spec,omitempty"`
}

// AWSMachineTemplateList is a list of AWSMachineTemplates.
//
// +kubebuilder:object:root=true
type AWSMachineTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AWSMachineTemplate `json:"items"`
}
