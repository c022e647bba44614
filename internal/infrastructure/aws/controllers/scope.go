package controllers

import (
	"context"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
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

	// vpcs are the cluster's VPCs, looked up before its deletion.
	vpcs []string
	// instance is the AWSMachine's instance, once found or run.
	instance *ec2types.Instance
}

// id identifies the cluster's cloud resources.
func (s *scope) id() cloud.Cluster {
	return cloud.Cluster{Namespace: s.cluster.Namespace, Name: s.cluster.Name, UID: string(s.awsCluster.UID)}
}

// newClusterScope is the scope of a pass over awsCluster.
func newClusterScope(_ context.Context, awsCluster *infrav1.AWSCluster, cluster *clusterv1.Cluster, _ *clusterv1.Machine) (*scope, error) {
	return &scope{cluster: cluster, awsCluster: awsCluster}, nil
}

// newScope is the scope of a pass over awsMachine, in its cluster's
// AWSCluster.
func (r *AWSMachineReconciler) newScope(ctx context.Context, awsMachine *infrav1.AWSMachine, cluster *clusterv1.Cluster,
	machine *clusterv1.Machine) (*scope, error) {
	s := &scope{cluster: cluster, awsCluster: &infrav1.AWSCluster{}, machine: machine, awsMachine: awsMachine}
	return s, reconcile.GetInfrastructureCluster(ctx, r.Client, cluster, s.awsCluster)
}
