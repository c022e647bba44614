package controllers

import (
	"context"
	"strconv"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

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
	// lbAllow are the firewall rules the load balancer should have (see
	// cloud.AllowRules), from the spec and the cluster's DOMachines.
	lbAllow []string
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
func (r *DOClusterReconciler) newClusterScope(ctx context.Context, doCluster *infrav1.DOCluster, cluster *clusterv1.Cluster,
	_ *clusterv1.Machine) (*clusterScope, error) {
	s := &clusterScope{cluster: cluster, doCluster: doCluster}
	if len(doCluster.Spec.Firewall.APIServerSources) == 0 || !doCluster.DeletionTimestamp.IsZero() {
		return s, nil
	}
	addresses, err := dropletAddresses(ctx, r.Client, cluster)
	s.lbAllow = cloud.AllowRules(doCluster.Spec.Firewall.APIServerSources, addresses)
	return s, err
}

// dropletAddresses are the public addresses of the cluster's droplets,
// as its DOMachines report them (from the cache: no cloud call).
func dropletAddresses(ctx context.Context, c client.Reader, cluster *clusterv1.Cluster) ([]string, error) {
	var machines infrav1.DOMachineList
	if err := c.List(ctx, &machines, client.InNamespace(cluster.Namespace), client.MatchingLabels{clusterv1.ClusterNameLabel: cluster.Name}); err != nil {
		return nil, err
	}
	var out []string
	for _, m := range machines.Items {
		out = append(out, externalAddresses(&m)...)
	}
	return out, nil
}

// externalAddresses are a DOMachine's public addresses.
func externalAddresses(m *infrav1.DOMachine) []string {
	var out []string
	for _, a := range m.Status.Addresses {
		if a.Type == clusterv1.MachineExternalIP {
			out = append(out, a.Address)
		}
	}
	return out
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
