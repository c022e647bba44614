package cloud

import (
	"context"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// Roles of network resources, in their RoleTag.
const (
	roleVPC           = "vpc"
	rolePublicSubnet  = "public-subnet"
	rolePrivateSubnet = "private-subnet"
	roleIGW           = "internet-gateway"
	roleNATEIP        = "nat-eip"
	roleNAT           = "nat-gateway"
	rolePublicRoutes  = "public-routes"
	rolePrivateRoutes = "private-routes"
)

// ReconcileNetwork makes the cluster's VPC, subnets, internet gateway, NAT
// gateways and route tables exist, records them in st, and reports whether
// everything is usable (NAT gateways take a while to become available).
func (c Clients) ReconcileNetwork(ctx context.Context, cl Cluster, spec infrav1.NetworkSpec, st *infrav1.NetworkStatus) (bool, error) {
	zones, err := c.zones(ctx, spec)
	if err != nil {
		return false, err
	}
	if spec.VPCID == "" {
		// A VPC too small for its subnets is refused before it is made.
		if _, _, err := SubnetCIDRs(vpcCIDR(spec), len(zones)); err != nil {
			return false, err
		}
	}
	if err := c.ensureVPC(ctx, cl, spec, st); err != nil {
		return false, err
	}
	if len(spec.SubnetIDs) > 0 {
		// The network is the user's: its subnets, gateways and routes are
		// used as they are.
		st.InternetGatewayID = ""
		return true, c.adoptSubnets(ctx, spec, st)
	}
	if err := c.ensureSubnets(ctx, cl, spec, zones, st); err != nil {
		return false, err
	}
	if err := c.ensureInternetGateway(ctx, cl, st); err != nil {
		return false, err
	}
	natByZone, natsReady, err := c.ensureNATGateways(ctx, cl, spec, zones, st)
	if err != nil {
		return false, err
	}
	if err := c.ensureRouteTables(ctx, cl, zones, natByZone, st); err != nil {
		return false, err
	}
	return natsReady, nil
}

// DeleteNetwork deletes what ReconcileNetwork made, found by tags, in
// reverse order. It reports done once everything is gone; dependencies
// that take time (NAT gateways, instances still terminating) make it
// return false, to be called again.
func (c Clients) DeleteNetwork(ctx context.Context, cl Cluster, spec infrav1.NetworkSpec) (bool, error) {
	// Each step starts once the one before is done: AWS refuses to delete
	// what others still use (an elastic IP its NAT gateway, a VPC its
	// subnets).
	steps := []func(context.Context, Cluster) (bool, error){
		c.deleteRouteTables,
		c.deleteNATGateways,
		c.releaseNATElasticIPs,
		c.deleteInternetGateways,
		c.deleteSubnets,
		func(ctx context.Context, cl Cluster) (bool, error) { return c.deleteVPC(ctx, cl, spec) },
	}
	for _, step := range steps {
		if done, err := step(ctx, cl); err != nil || !done {
			return false, err
		}
	}
	return true, nil
}
