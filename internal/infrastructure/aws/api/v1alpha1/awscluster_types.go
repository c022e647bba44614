package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// ClusterFinalizer holds an AWSCluster until its cloud resources are gone.
const ClusterFinalizer = "infrastructure.terraform-capi.io/awscluster"

// AWSCluster conditions, besides Ready and Paused.
const (
	// NetworkReadyCondition is true when the VPC, subnets, gateways and
	// route tables exist.
	NetworkReadyCondition = "NetworkReady"
	// SecurityGroupsReadyCondition is true when the security groups exist
	// with their rules.
	SecurityGroupsReadyCondition = "SecurityGroupsReady"
	// LoadBalancerReadyCondition is true when the API server load balancer
	// is active with its listener and target group.
	LoadBalancerReadyCondition = "LoadBalancerReady"
	// ReadyCondition summarises the others.
	ReadyCondition = "Ready"
)

// AWSClusterSpec is the desired cloud network of a cluster.
type AWSClusterSpec struct {
	// region is the AWS region of every resource of the cluster.
	// +required
	// +kubebuilder:validation:MinLength=1
	Region string `json:"region"`

	// network describes the VPC and its subnets.
	// +optional
	Network NetworkSpec `json:"network,omitempty,omitzero"`

	// controlPlaneEndpoint is the API server load balancer's address,
	// set by the reconciler.
	// +optional
	ControlPlaneEndpoint clusterv1.APIEndpoint `json:"controlPlaneEndpoint,omitempty,omitzero"`
}

// NetworkSpec describes the VPC of a cluster.
type NetworkSpec struct {
	// vpcID is an existing VPC to use; when empty a VPC is created.
	// +optional
	VPCID string `json:"vpcID,omitempty"`

	// subnetIDs are existing subnets of vpcID to use: the private ones
	// (whose route tables send 0.0.0.0/0 elsewhere than to an internet
	// gateway, or tagged kubernetes.io/role/internal-elb) take the
	// machines and make the failure domains, the public ones (a default
	// route to an internet gateway, or tagged kubernetes.io/role/elb) the
	// API server load balancer. With them no subnet, internet gateway, NAT
	// gateway or route table is created.
	// +optional
	// +kubebuilder:validation:MaxItems=24
	SubnetIDs []string `json:"subnetIDs,omitempty"`

	// cidrBlock of a created VPC. Default 10.0.0.0/16.
	// +optional
	CIDRBlock string `json:"cidrBlock,omitempty"`

	// availabilityZones gets a public and a private subnet each. Default:
	// the first three zones of the region.
	// +optional
	// +kubebuilder:validation:MaxItems=6
	AvailabilityZones []string `json:"availabilityZones,omitempty"`

	// natGatewayPerZone creates one NAT gateway per zone instead of one for
	// the cluster.
	// +optional
	NATGatewayPerZone bool `json:"natGatewayPerZone,omitempty"`

	// apiServerPort is the port of the API server load balancer's
	// listener and target group. Default 6443.
	// +optional
	APIServerPort int32 `json:"apiServerPort,omitempty"`
}

// AWSClusterStatus is what exists in the cloud.
type AWSClusterStatus struct {
	// initialization reports when the cluster's infrastructure is provisioned.
	// +optional
	Initialization AWSClusterInitializationStatus `json:"initialization,omitempty,omitzero"`

	// failureDomains are the availability zones with subnets.
	// +optional
	FailureDomains []clusterv1.FailureDomain `json:"failureDomains,omitempty"`

	// network lists the IDs of the cloud resources.
	// +optional
	Network NetworkStatus `json:"network,omitempty,omitzero"`

	// conditions of the AWSCluster.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AWSClusterInitializationStatus is part of the infrastructure contract.
// +kubebuilder:validation:MinProperties=1
type AWSClusterInitializationStatus struct {
	// provisioned is true once the network and the load balancer exist.
	// +optional
	Provisioned *bool `json:"provisioned,omitempty"`
}

// NetworkStatus lists the cloud resources of a cluster.
type NetworkStatus struct {
	VPCID             string         `json:"vpcID,omitempty"`
	InternetGatewayID string         `json:"internetGatewayID,omitempty"`
	Subnets           []SubnetStatus `json:"subnets,omitempty"`
	NATGatewayIDs     []string       `json:"natGatewayIDs,omitempty"`
	ElasticIPs        []string       `json:"elasticIPs,omitempty"`
	RouteTableIDs     []string       `json:"routeTableIDs,omitempty"`
	SecurityGroups    SecurityGroups `json:"securityGroups,omitempty,omitzero"`
	LoadBalancer      LoadBalancer   `json:"loadBalancer,omitempty,omitzero"`
}

// SubnetStatus is one subnet of the cluster's VPC.
type SubnetStatus struct {
	ID               string `json:"id"`
	AvailabilityZone string `json:"availabilityZone"`
	CIDRBlock        string `json:"cidrBlock"`
	Public           bool   `json:"public,omitempty"`
}

// SecurityGroups of a cluster.
type SecurityGroups struct {
	ControlPlane string `json:"controlPlane,omitempty"`
	Node         string `json:"node,omitempty"`
	LoadBalancer string `json:"loadBalancer,omitempty"`
}

// LoadBalancer is the API server's network load balancer.
type LoadBalancer struct {
	ARN            string `json:"arn,omitempty"`
	DNSName        string `json:"dnsName,omitempty"`
	TargetGroupARN string `json:"targetGroupARN,omitempty"`
	ListenerARN    string `json:"listenerARN,omitempty"`
}

// AWSCluster is the cloud network of a Cluster API cluster on AWS.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=awsclusters,scope=Namespaced,categories=cluster-api
// +kubebuilder:metadata:labels="cluster.x-k8s.io/v1beta2=v1alpha1"
// +kubebuilder:metadata:labels="cluster.x-k8s.io/provider=infrastructure-terraform-capi-aws"
// +kubebuilder:printcolumn:name="Cluster",type="string",JSONPath=".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']"
// +kubebuilder:printcolumn:name="VPC",type="string",JSONPath=".status.network.vpcID"
// +kubebuilder:printcolumn:name="Endpoint",type="string",JSONPath=".spec.controlPlaneEndpoint.host"
// +kubebuilder:printcolumn:name="Provisioned",type="boolean",JSONPath=".status.initialization.provisioned"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type AWSCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   AWSClusterSpec   `json:"spec,omitempty"`
	Status AWSClusterStatus `json:"status,omitempty"`
}

// GetConditions returns the conditions, for Cluster API's conditions helpers.
func (c *AWSCluster) GetConditions() []metav1.Condition { return c.Status.Conditions }

// SetConditions sets the conditions, for Cluster API's conditions helpers.
func (c *AWSCluster) SetConditions(conditions []metav1.Condition) { c.Status.Conditions = conditions }

// AWSClusterList is a list of AWSClusters.
//
// +kubebuilder:object:root=true
type AWSClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AWSCluster `json:"items"`
}
