package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// ClusterFinalizer holds a DOCluster until its cloud resources are gone.
const ClusterFinalizer = "infrastructure.terraform-capi.io/docluster"

// DOCluster conditions, besides Ready and Paused.
const (
	// VPCReadyCondition is true when the cluster's VPC exists, made for it
	// or given by spec.vpc.vpcUUID.
	VPCReadyCondition = "VPCReady"
	// FirewallReadyCondition is true when the cloud firewall of the
	// cluster's droplets exists with its rules.
	FirewallReadyCondition = "FirewallReady"
	// LoadBalancerReadyCondition is true when the API server load balancer
	// is active and has its IP address.
	LoadBalancerReadyCondition = "LoadBalancerReady"
	// ReadyCondition summarises the others.
	ReadyCondition = "Ready"
)

// DefaultAPIServerPort is the API server port when spec.apiServerLoadBalancer.port is unset.
const DefaultAPIServerPort = 6443

// DOClusterSpec is the desired cloud network of a cluster.
type DOClusterSpec struct {
	// region is the DigitalOcean region slug (such as nyc3) of every
	// resource of the cluster.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:Pattern=`^[a-z0-9]+$`
	Region string `json:"region"`

	// vpc is the cluster's VPC: one made for the cluster, or an existing one.
	// +optional
	VPC VPCSpec `json:"vpc,omitempty,omitzero"`

	// firewall opens the cluster's droplets to the outside.
	// +optional
	Firewall FirewallSpec `json:"firewall,omitempty,omitzero"`

	// apiServerLoadBalancer configures the API server's load balancer.
	// +optional
	APIServerLoadBalancer LoadBalancerSpec `json:"apiServerLoadBalancer,omitempty,omitzero"`

	// bootstrapData says where the machines' bootstrap data is stored
	// while their droplets boot.
	// +optional
	BootstrapData BootstrapDataSpec `json:"bootstrapData,omitempty,omitzero"`

	// controlPlaneEndpoint is the API server load balancer's address,
	// set by the reconciler.
	// +optional
	ControlPlaneEndpoint clusterv1.APIEndpoint `json:"controlPlaneEndpoint,omitempty,omitzero"`
}

// VPCSpec describes the VPC of a cluster.
// +kubebuilder:validation:XValidation:rule="!has(self.vpcUUID) || (!has(self.name) && !has(self.ipRange))",message="vpcUUID names an existing VPC: name and ipRange are for a VPC made for the cluster"
type VPCSpec struct {
	// vpcUUID is an existing VPC of the cluster's region to use; it is
	// left in place when the cluster is deleted. When empty a VPC is made
	// for the cluster and deleted with it.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-fA-F-]{36}$`
	VPCUUID string `json:"vpcUUID,omitempty"`

	// name of the VPC made for the cluster, unique in the account.
	// Default: the cluster's name and a hash of its namespace and name.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9\-\.]+$`
	Name string `json:"name,omitempty"`

	// ipRange of the VPC made for the cluster, an RFC 1918 range from /28
	// to /16. Default: a /20 that DigitalOcean chooses.
	// +optional
	// +kubebuilder:validation:MaxLength=18
	IPRange string `json:"ipRange,omitempty"`
}

// FirewallSpec says who may reach the cluster's droplets. Whatever it says,
// the droplets reach each other on every port, the VPC reaches the kubelet
// (10250) and the NodePorts (30000-32767), and outbound traffic is open.
type FirewallSpec struct {
	// apiServerSources are the addresses and CIDRs that may reach the API
	// server port of the droplets directly. The API server load balancer
	// reaches them through the VPC in any case. Default: everywhere
	// (0.0.0.0/0 and ::/0).
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=43
	APIServerSources []string `json:"apiServerSources,omitempty"`

	// sshSources are the addresses and CIDRs that may reach port 22. Empty
	// (the default): SSH is closed.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=43
	SSHSources []string `json:"sshSources,omitempty"`
}

// BootstrapDataSpec says where the machines' bootstrap data is stored: a
// private Spaces bucket of the cluster, made when the first machine needs
// it and deleted with the cluster.
type BootstrapDataSpec struct {
	// spacesRegion is the bucket's region. Default: the cluster's region,
	// which must then have Spaces.
	// +optional
	// +kubebuilder:validation:Pattern=`^[a-z]{3}[0-9]$`
	SpacesRegion string `json:"spacesRegion,omitempty"`
}

// LoadBalancerSpec configures the API server load balancer.
type LoadBalancerSpec struct {
	// port the load balancer listens on and forwards to on the control
	// plane droplets, over TCP. Default 6443.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
}

// DOClusterStatus is what exists in the cloud.
type DOClusterStatus struct {
	// initialization reports when the cluster's infrastructure is provisioned.
	// +optional
	Initialization DOClusterInitializationStatus `json:"initialization,omitempty,omitzero"`

	// failureDomains: the region, DigitalOcean's only placement choice.
	// +optional
	FailureDomains []clusterv1.FailureDomain `json:"failureDomains,omitempty"`

	// network lists the IDs of the cloud resources.
	// +optional
	Network NetworkStatus `json:"network,omitempty,omitzero"`

	// conditions of the DOCluster.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DOClusterInitializationStatus is part of the infrastructure contract.
// +kubebuilder:validation:MinProperties=1
type DOClusterInitializationStatus struct {
	// provisioned is true once the VPC, firewall and load balancer exist
	// and the endpoint is known.
	// +optional
	Provisioned *bool `json:"provisioned,omitempty"`
}

// NetworkStatus lists the cloud resources of a cluster.
type NetworkStatus struct {
	// vpcUUID is the cluster's VPC.
	// +optional
	VPCUUID string `json:"vpcUUID,omitempty"`
	// vpcIPRange is its range, which the firewall opens inside.
	// +optional
	VPCIPRange string `json:"vpcIPRange,omitempty"`
	// firewallID is the cloud firewall of the cluster's droplets.
	// +optional
	FirewallID string `json:"firewallID,omitempty"`
	// loadBalancer is the API server load balancer.
	// +optional
	LoadBalancer LoadBalancerStatus `json:"loadBalancer,omitempty,omitzero"`
}

// LoadBalancerStatus is the API server load balancer.
type LoadBalancerStatus struct {
	// id of the load balancer.
	// +optional
	ID string `json:"id,omitempty"`
	// ip is its public address, assigned some time after it is made.
	// +optional
	IP string `json:"ip,omitempty"`
	// status is DigitalOcean's: new, active or errored.
	// +optional
	Status string `json:"status,omitempty"`
	// allow are the rules of its firewall (ip:<address> or
	// cidr:<network>): spec.firewall.apiServerSources and the public
	// address of each of the cluster's droplets. None admits everyone.
	// +optional
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=64
	Allow []string `json:"allow,omitempty"`
}

// DOCluster is the cloud network of a Cluster API cluster on DigitalOcean.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=doclusters,scope=Namespaced,categories=cluster-api
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1alpha1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/provider=infrastructure-terraform-capi-digitalocean"
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']"
// +kubebuilder:printcolumn:name="Region",type="string",JSONPath=".spec.region"
// +kubebuilder:printcolumn:name="VPC",type="string",JSONPath=".status.network.vpcUUID"
// +kubebuilder:printcolumn:name="Endpoint",type="string",JSONPath=".spec.controlPlaneEndpoint.host"
// +kubebuilder:printcolumn:name="Provisioned",type="boolean",JSONPath=".status.initialization.provisioned"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type DOCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DOClusterSpec   `json:"spec,omitempty"`
	Status DOClusterStatus `json:"status,omitempty"`
}

// APIServerPort is the port of the API server load balancer.
func (c *DOCluster) APIServerPort() int32 {
	if p := c.Spec.APIServerLoadBalancer.Port; p != 0 {
		return p
	}
	return DefaultAPIServerPort
}

// GetConditions returns the conditions, for Cluster API's conditions helpers.
func (c *DOCluster) GetConditions() []metav1.Condition { return c.Status.Conditions }

// SetConditions sets the conditions, for Cluster API's conditions helpers.
func (c *DOCluster) SetConditions(conditions []metav1.Condition) { c.Status.Conditions = conditions }

// DOClusterList is a list of DOClusters.
//
// +kubebuilder:object:root=true
type DOClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DOCluster `json:"items"`
}

// SpacesRegion is the region of the cluster's bootstrap data bucket.
func (c *DOCluster) SpacesRegion() string {
	if r := c.Spec.BootstrapData.SpacesRegion; r != "" {
		return r
	}
	return c.Spec.Region
}
