package controllers

import (
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/go-logr/logr"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/patch"
	"sigs.k8s.io/cluster-api/util/paused"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

// scope is what one pass over an AWSCluster or an AWSMachine works on: its
// objects, and what each phase finds or makes for the phases after it.
type scope struct {
	cluster    *clusterv1.Cluster
	awsCluster *infrav1.AWSCluster
	// machine and awsMachine are those of a pass over an AWSMachine, nil
	// in a pass over an AWSCluster.
	machine    *clusterv1.Machine
	awsMachine *infrav1.AWSMachine

	// clients reach the cluster's region; the connect phase sets them.
	clients cloud.Clients
	// patchHelper patches what the pass changed in its object, after the
	// pass (see patching).
	patchHelper *patch.Helper
	log         logr.Logger

	// vpcs are the cluster's VPCs, looked up before its deletion.
	vpcs []string
	// instance is the AWSMachine's instance, once found or run.
	instance *ec2types.Instance
}

// object is the object the pass reconciles and patches: the AWSMachine,
// or in a pass over an AWSCluster, the AWSCluster.
func (s *scope) object() paused.ConditionSetter {
	if s.awsMachine != nil {
		return s.awsMachine
	}
	return s.awsCluster
}

// kind names the object's kind, for the log.
func (s *scope) kind() string {
	if s.awsMachine != nil {
		return "AWSMachine"
	}
	return "AWSCluster"
}

// id identifies the cluster's cloud resources.
func (s *scope) id() cloud.Cluster {
	return cloud.Cluster{Namespace: s.cluster.Namespace, Name: s.cluster.Name, UID: string(s.awsCluster.UID)}
}
