package controllers

import (
	"strconv"
	"strings"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
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
