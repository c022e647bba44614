package controllers

import (
	"context"
	"strconv"
	"strings"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/reconcile"
)

// clusterScope is what one pass over a DOCluster works on.
type clusterScope struct {
	cluster   *clusterv1.Cluster
	doCluster *infrav1.DOCluster
	cloud     *cloud.Client
}

// id identifies the cluster's cloud resources.
func (s *clusterScope) id() cloud.Cluster { return cloudCluster(s.cluster, s.doCluster) }

func cloudCluster(cluster *clusterv1.Cluster, doCluster *infrav1.DOCluster) cloud.Cluster {
	return cloud.Cluster{Namespace: cluster.Namespace, Name: cluster.Name, Region: doCluster.Spec.Region}
}

// machineScope is what one pass over a DOMachine works on.
type machineScope struct {
	cluster   *clusterv1.Cluster
	machine   *clusterv1.Machine
	doCluster *infrav1.DOCluster
	doMachine *infrav1.DOMachine
	cloud     *cloud.Client
}

// newClusterScope is the scope of a pass over doCluster.
func newClusterScope(_ context.Context, doCluster *infrav1.DOCluster, cluster *clusterv1.Cluster, _ *clusterv1.Machine) (*clusterScope, error) {
	return &clusterScope{cluster: cluster, doCluster: doCluster}, nil
}

// newScope is the scope of a pass over doMachine, in its cluster's
// DOCluster.
func (r *DOMachineReconciler) newScope(ctx context.Context, doMachine *infrav1.DOMachine, cluster *clusterv1.Cluster,
	machine *clusterv1.Machine) (*machineScope, error) {
	s := &machineScope{cluster: cluster, machine: machine, doCluster: &infrav1.DOCluster{}, doMachine: doMachine}
	return s, reconcile.GetInfrastructureCluster(ctx, r.Client, cluster, s.doCluster)
}

// dropletID is the droplet recorded in the DOMachine's provider ID, or 0.
func (s *machineScope) dropletID() int {
	id, err := strconv.Atoi(strings.TrimPrefix(s.doMachine.Spec.ProviderID, infrav1.ProviderIDPrefix))
	if err != nil || !strings.HasPrefix(s.doMachine.Spec.ProviderID, infrav1.ProviderIDPrefix) {
		return 0
	}
	return id
}

// tag is the DOMachine's MachineTag, on its droplet only.
func (s *machineScope) tag() string { return cloud.MachineTag(string(s.doMachine.UID)) }
