package cloud

import (
	"context"
	"fmt"
	"net/netip"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// DefaultVPCCIDR is the CIDR of a VPC created for a cluster.
const DefaultVPCCIDR = "10.0.0.0/16"

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

func (c Clients) ensureVPC(ctx context.Context, cl Cluster, spec infrav1.NetworkSpec, st *infrav1.NetworkStatus) error {
	if spec.VPCID != "" {
		if _, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{spec.VPCID}}); err != nil {
			return fmt.Errorf("VPC %s: %w", spec.VPCID, err)
		}
		st.VPCID = spec.VPCID
		return nil
	}
	if st.VPCID != "" {
		return nil
	}
	out, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: cl.filters(roleVPC, "")})
	if err != nil {
		return err
	}
	if len(out.Vpcs) > 0 {
		st.VPCID = aws.ToString(out.Vpcs[0].VpcId)
		return nil
	}
	created, err := c.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(vpcCIDR(spec)),
		TagSpecifications: tagSpecs(ec2types.ResourceTypeVpc, cl.tags(roleVPC, "", nil))})
	if err != nil {
		return fmt.Errorf("creating VPC: %w", err)
	}
	st.VPCID = aws.ToString(created.Vpc.VpcId)
	for _, attr := range []*ec2.ModifyVpcAttributeInput{
		{VpcId: created.Vpc.VpcId, EnableDnsSupport: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}},
		{VpcId: created.Vpc.VpcId, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}},
	} {
		if err := retryNotFound(ctx, func() error { _, err := c.EC2.ModifyVpcAttribute(ctx, attr); return err }); err != nil {
			return fmt.Errorf("enabling DNS on VPC %s: %w", st.VPCID, err)
		}
	}
	return nil
}

// vpcCIDR is the CIDR of the VPC made for spec.
func vpcCIDR(spec infrav1.NetworkSpec) string {
	if spec.CIDRBlock != "" {
		return spec.CIDRBlock
	}
	return DefaultVPCCIDR
}

// zones returns the configured zones, or the region's first three.
func (c Clients) zones(ctx context.Context, spec infrav1.NetworkSpec) ([]string, error) {
	if len(spec.AvailabilityZones) > 0 {
		return spec.AvailabilityZones, nil
	}
	// Local and Wavelength Zones the account opted in to are listed too
	// (and sort first: us-west-2-lax-1a < us-west-2a), but have no NAT
	// gateways or network load balancers: as CAPA, keep to the region's
	// own availability zones.
	out, err := c.EC2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{Filters: []ec2types.Filter{
		{Name: aws.String("state"), Values: []string{"available"}},
		{Name: aws.String("zone-type"), Values: []string{"availability-zone"}}}})
	if err != nil {
		return nil, fmt.Errorf("listing availability zones: %w", err)
	}
	var zones []string
	for _, z := range out.AvailabilityZones {
		if aws.ToString(z.ZoneType) == "availability-zone" {
			zones = append(zones, aws.ToString(z.ZoneName))
		}
	}
	sort.Strings(zones)
	if len(zones) > 3 {
		zones = zones[:3]
	}
	return zones, nil
}

// SubnetCIDRs splits a VPC's network into /+4 blocks: the public subnets
// first, then the private ones, one of each per zone. A network that
// cannot be split so is a PermanentError.
func SubnetCIDRs(vpcCIDR string, zones int) (public, private []string, err error) {
	prefix, err := netip.ParsePrefix(vpcCIDR)
	if err != nil || !prefix.Addr().Is4() {
		return nil, nil, permanent("", "VPC CIDR %q is not an IPv4 network", vpcCIDR)
	}
	bits := prefix.Bits() + 4
	if bits > 28 {
		return nil, nil, permanent("", "VPC CIDR %s is too small: its subnets, a sixteenth of it each, would be /%d, and EC2's smallest subnet is a /28 (a /24 or larger is needed)",
			vpcCIDR, bits)
	}
	if 2*zones > 16 {
		return nil, nil, permanent("", "VPC CIDR %s is too small for %d zones: it has room for the subnets of 8", vpcCIDR, zones)
	}
	base := prefix.Masked().Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	block := func(i int) string {
		n := start + uint32(i)<<(32-bits)
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), bits).String()
	}
	for i := 0; i < zones; i++ {
		public = append(public, block(i))
		private = append(private, block(zones+i))
	}
	return public, private, nil
}

func (c Clients) ensureSubnets(ctx context.Context, cl Cluster, spec infrav1.NetworkSpec, zones []string, st *infrav1.NetworkStatus) error {
	vpcs, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{st.VPCID}}}})
	if err != nil {
		return err
	}
	if len(vpcs.Vpcs) == 0 {
		return fmt.Errorf("VPC %s not found", st.VPCID)
	}
	public, private, err := SubnetCIDRs(aws.ToString(vpcs.Vpcs[0].CidrBlock), len(zones))
	if err != nil {
		return err
	}
	existing, err := c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{st.VPCID}},
		{Name: aws.String("tag:" + cl.OwnerTag()), Values: []string{ownedValue}},
	}})
	if err != nil {
		return err
	}
	var subnets []infrav1.SubnetStatus
	for i, zone := range zones {
		for _, want := range []struct {
			role   string
			cidr   string
			public bool
		}{{rolePublicSubnet, public[i], true}, {rolePrivateSubnet, private[i], false}} {
			tags := cl.tags(want.role, zone, subnetCloudProviderTags(cl, want.public))
			id := ""
			for _, sn := range existing.Subnets {
				if tagValue(sn.Tags, RoleTag) == want.role && aws.ToString(sn.AvailabilityZone) == zone {
					id = aws.ToString(sn.SubnetId)
					// Subnets made before the cloud provider's tags were set get them.
					if err := c.ensureTags(ctx, id, sn.Tags, tags); err != nil {
						return err
					}
				}
			}
			if id == "" {
				var created *ec2.CreateSubnetOutput
				err := retryNotFound(ctx, func() (err error) {
					created, err = c.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(st.VPCID), CidrBlock: aws.String(want.cidr),
						AvailabilityZone: aws.String(zone), TagSpecifications: tagSpecs(ec2types.ResourceTypeSubnet, tags)})
					return err
				})
				if err != nil {
					return fmt.Errorf("creating %s in %s: %w", want.role, zone, err)
				}
				id = aws.ToString(created.Subnet.SubnetId)
				if want.public {
					if err := retryNotFound(ctx, func() error {
						_, err := c.EC2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: aws.String(id),
							MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})
						return err
					}); err != nil {
						return fmt.Errorf("mapping public IPs in %s: %w", id, err)
					}
				}
			}
			subnets = append(subnets, infrav1.SubnetStatus{ID: id, AvailabilityZone: zone, CIDRBlock: want.cidr, Public: want.public})
		}
	}
	st.Subnets = subnets
	return nil
}

func (c Clients) ensureInternetGateway(ctx context.Context, cl Cluster, st *infrav1.NetworkStatus) error {
	out, err := c.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: cl.filters(roleIGW, "")})
	if err != nil {
		return err
	}
	var igw ec2types.InternetGateway
	if len(out.InternetGateways) > 0 {
		igw = out.InternetGateways[0]
	} else {
		// A VPC has at most one internet gateway: one that an existing VPC
		// has already is used (and, not being ours, never deleted).
		attached, err := c.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{
			{Name: aws.String("attachment.vpc-id"), Values: []string{st.VPCID}}}})
		if err != nil {
			return err
		}
		if len(attached.InternetGateways) > 0 {
			st.InternetGatewayID = aws.ToString(attached.InternetGateways[0].InternetGatewayId)
			return nil
		}
		created, err := c.EC2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{
			TagSpecifications: tagSpecs(ec2types.ResourceTypeInternetGateway, cl.tags(roleIGW, "", nil))})
		if err != nil {
			return fmt.Errorf("creating internet gateway: %w", err)
		}
		igw = *created.InternetGateway
	}
	st.InternetGatewayID = aws.ToString(igw.InternetGatewayId)
	if len(igw.Attachments) == 0 {
		if err := retryNotFound(ctx, func() error {
			_, err := c.EC2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGatewayId, VpcId: aws.String(st.VPCID)})
			return err
		}); err != nil {
			return fmt.Errorf("attaching internet gateway: %w", err)
		}
	}
	return nil
}

// ensureNATGateways returns the NAT gateway serving each zone and whether
// all are available.
func (c Clients) ensureNATGateways(ctx context.Context, cl Cluster, spec infrav1.NetworkSpec, zones []string, st *infrav1.NetworkStatus) (map[string]string, bool, error) {
	natZones := zones[:1]
	if spec.NATGatewayPerZone {
		natZones = zones
	}
	byZone := map[string]string{}
	ready := true
	st.NATGatewayIDs, st.ElasticIPs = nil, nil
	for _, zone := range natZones {
		out, err := c.EC2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: append(cl.filters(roleNAT, zone),
			ec2types.Filter{Name: aws.String("state"), Values: []string{"pending", "available"}})})
		if err != nil {
			return nil, false, err
		}
		var nat ec2types.NatGateway
		if len(out.NatGateways) > 0 {
			nat = out.NatGateways[0]
		} else {
			eip, err := c.ensureElasticIP(ctx, cl, zone)
			if err != nil {
				return nil, false, err
			}
			var created *ec2.CreateNatGatewayOutput
			err = retryNotFound(ctx, func() (err error) {
				created, err = c.EC2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{
					SubnetId: aws.String(subnetID(st.Subnets, zone, true)), AllocationId: aws.String(eip),
					ClientToken:       aws.String(clientToken(cl.UID, "nat-"+zone)),
					TagSpecifications: tagSpecs(ec2types.ResourceTypeNatgateway, cl.tags(roleNAT, zone, nil))})
				return err
			})
			if err != nil {
				return nil, false, fmt.Errorf("creating NAT gateway in %s: %w", zone, err)
			}
			nat = *created.NatGateway
		}
		for _, a := range nat.NatGatewayAddresses {
			st.ElasticIPs = append(st.ElasticIPs, aws.ToString(a.AllocationId))
		}
		st.NATGatewayIDs = append(st.NATGatewayIDs, aws.ToString(nat.NatGatewayId))
		ready = ready && nat.State == ec2types.NatGatewayStateAvailable
		byZone[zone] = aws.ToString(nat.NatGatewayId)
	}
	for _, zone := range zones {
		if byZone[zone] == "" {
			byZone[zone] = byZone[natZones[0]]
		}
	}
	return byZone, ready, nil
}

func (c Clients) ensureElasticIP(ctx context.Context, cl Cluster, zone string) (string, error) {
	out, err := c.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: cl.filters(roleNATEIP, zone)})
	if err != nil {
		return "", err
	}
	if len(out.Addresses) > 0 {
		return aws.ToString(out.Addresses[0].AllocationId), nil
	}
	created, err := c.EC2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc,
		TagSpecifications: tagSpecs(ec2types.ResourceTypeElasticIp, cl.tags(roleNATEIP, zone, nil))})
	if err != nil {
		return "", fmt.Errorf("allocating an elastic IP for the NAT gateway in %s: %w", zone, err)
	}
	return aws.ToString(created.AllocationId), nil
}

func (c Clients) ensureRouteTables(ctx context.Context, cl Cluster, zones []string, natByZone map[string]string, st *infrav1.NetworkStatus) error {
	st.RouteTableIDs = nil
	public, err := c.ensureRouteTable(ctx, cl, rolePublicRoutes, "", st.VPCID, ec2types.Route{GatewayId: aws.String(st.InternetGatewayID)}, publicSubnets(st.Subnets))
	if err != nil {
		return err
	}
	st.RouteTableIDs = append(st.RouteTableIDs, public)
	for _, zone := range zones {
		id, err := c.ensureRouteTable(ctx, cl, rolePrivateRoutes, zone, st.VPCID, ec2types.Route{NatGatewayId: aws.String(natByZone[zone])},
			[]string{subnetID(st.Subnets, zone, false)})
		if err != nil {
			return err
		}
		st.RouteTableIDs = append(st.RouteTableIDs, id)
	}
	return nil
}

// ensureRouteTable makes a route table with a default route to target,
// associated with subnets.
func (c Clients) ensureRouteTable(ctx context.Context, cl Cluster, role, zone, vpcID string, target ec2types.Route, subnets []string) (string, error) {
	out, err := c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: cl.filters(role, zone)})
	if err != nil {
		return "", err
	}
	var rt ec2types.RouteTable
	if len(out.RouteTables) > 0 {
		rt = out.RouteTables[0]
	} else {
		var created *ec2.CreateRouteTableOutput
		err := retryNotFound(ctx, func() (err error) {
			created, err = c.EC2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcID),
				TagSpecifications: tagSpecs(ec2types.ResourceTypeRouteTable, cl.tags(role, zone, nil))})
			return err
		})
		if err != nil {
			return "", fmt.Errorf("creating route table %s: %w", role, err)
		}
		rt = *created.RouteTable
	}
	hasDefault := false
	for _, r := range rt.Routes {
		hasDefault = hasDefault || aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0"
	}
	if !hasDefault {
		if err := retryNotFound(ctx, func() error {
			_, err := c.EC2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rt.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"),
				GatewayId: target.GatewayId, NatGatewayId: target.NatGatewayId})
			return err
		}); err != nil && errorCode(err) != "RouteAlreadyExists" {
			return "", fmt.Errorf("adding the default route to %s: %w", aws.ToString(rt.RouteTableId), err)
		}
	}
	associated := map[string]bool{}
	for _, a := range rt.Associations {
		associated[aws.ToString(a.SubnetId)] = true
	}
	for _, sn := range subnets {
		if associated[sn] {
			continue
		}
		if err := retryNotFound(ctx, func() error {
			_, err := c.EC2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rt.RouteTableId, SubnetId: aws.String(sn)})
			return err
		}); err != nil {
			return "", fmt.Errorf("associating %s with %s: %w", aws.ToString(rt.RouteTableId), sn, err)
		}
	}
	return aws.ToString(rt.RouteTableId), nil
}

// DeleteNetwork deletes what ReconcileNetwork made, found by tags, in
// reverse order. It reports done once everything is gone; dependencies
// that take time (NAT gateways, instances still terminating) make it
// return false, to be called again.
func (c Clients) DeleteNetwork(ctx context.Context, cl Cluster, spec infrav1.NetworkSpec) (bool, error) {
	done := true
	// Route tables: disassociate, then delete.
	for _, role := range []string{rolePublicRoutes, rolePrivateRoutes} {
		out, err := c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: cl.filters(role, "")})
		if err != nil {
			return false, err
		}
		for _, rt := range out.RouteTables {
			for _, a := range rt.Associations {
				if aws.ToBool(a.Main) {
					continue
				}
				if _, err := c.EC2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId}); err != nil && !IsNotFound(err) {
					return false, err
				}
			}
			if _, err := c.EC2.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: rt.RouteTableId}); err != nil && !IsNotFound(err) {
				return false, err
			}
		}
	}
	// NAT gateways take a while to go; their addresses are released after.
	nats, err := c.EC2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: cl.filters(roleNAT, "")})
	if err != nil {
		return false, err
	}
	for _, n := range nats.NatGateways {
		switch n.State {
		case ec2types.NatGatewayStateDeleted:
			continue
		case ec2types.NatGatewayStatePending, ec2types.NatGatewayStateAvailable, ec2types.NatGatewayStateFailed:
			if _, err := c.EC2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: n.NatGatewayId}); err != nil && !IsNotFound(err) {
				return false, err
			}
		}
		// Look again: deletion may have completed at once.
		again, err := c.EC2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{aws.ToString(n.NatGatewayId)}})
		if err != nil && !IsNotFound(err) {
			return false, err
		}
		if err == nil && len(again.NatGateways) > 0 && again.NatGateways[0].State != ec2types.NatGatewayStateDeleted {
			done = false
		}
	}
	if !done {
		return false, nil
	}
	eips, err := c.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: cl.filters(roleNATEIP, "")})
	if err != nil {
		return false, err
	}
	for _, a := range eips.Addresses {
		if _, err := c.EC2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: a.AllocationId}); err != nil && !IsNotFound(err) {
			if IsDependencyViolation(err) {
				return false, nil
			}
			return false, err
		}
	}
	igws, err := c.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: cl.filters(roleIGW, "")})
	if err != nil {
		return false, err
	}
	for _, g := range igws.InternetGateways {
		for _, a := range g.Attachments {
			if _, err := c.EC2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: g.InternetGatewayId, VpcId: a.VpcId}); err != nil && !IsNotFound(err) {
				// Public addresses still mapped in the VPC (an instance
				// shutting down, a load balancer's lingering interfaces)
				// go by themselves: wait for them, as for the other steps.
				if IsDependencyViolation(err) {
					return false, nil
				}
				return false, err
			}
		}
		if _, err := c.EC2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: g.InternetGatewayId}); err != nil && !IsNotFound(err) {
			return false, err
		}
	}
	subnets, err := c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + cl.OwnerTag()), Values: []string{ownedValue}}}})
	if err != nil {
		return false, err
	}
	for _, sn := range subnets.Subnets {
		if _, err := c.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: sn.SubnetId}); err != nil && !IsNotFound(err) {
			if IsDependencyViolation(err) {
				return false, nil
			}
			return false, err
		}
	}
	if spec.VPCID != "" {
		return true, nil
	}
	vpcs, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: cl.filters(roleVPC, "")})
	if err != nil {
		return false, err
	}
	for _, v := range vpcs.Vpcs {
		if _, err := c.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: v.VpcId}); err != nil && !IsNotFound(err) {
			if IsDependencyViolation(err) {
				return false, nil
			}
			return false, err
		}
	}
	return true, nil
}

// subnetCloudProviderTags tell the cloud provider a subnet is the
// cluster's and which Service load balancers it takes: internet-facing
// ones in the public subnets, internal ones in the private.
func subnetCloudProviderTags(cl Cluster, public bool) map[string]string {
	t := map[string]string{cl.CloudProviderTag(): ownedValue, InternalELBRoleTag: "1"}
	if public {
		t = map[string]string{cl.CloudProviderTag(): ownedValue, ELBRoleTag: "1"}
	}
	return t
}

// ensureTags adds to a resource the tags of want that it lacks or has
// with another value.
func (c Clients) ensureTags(ctx context.Context, id string, have []ec2types.Tag, want map[string]string) error {
	var missing []ec2types.Tag
	for k, v := range want {
		if tagValue(have, k) != v {
			missing = append(missing, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	if len(missing) == 0 {
		return nil
	}
	err := retryNotFound(ctx, func() error {
		_, err := c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: missing})
		return err
	})
	if err != nil {
		return fmt.Errorf("tagging %s: %w", id, err)
	}
	return nil
}

func tagValue(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func subnetID(subnets []infrav1.SubnetStatus, zone string, public bool) string {
	for _, s := range subnets {
		if s.AvailabilityZone == zone && s.Public == public {
			return s.ID
		}
	}
	return ""
}

func publicSubnets(subnets []infrav1.SubnetStatus) []string {
	var out []string
	for _, s := range subnets {
		if s.Public {
			out = append(out, s.ID)
		}
	}
	return out
}

// clientToken derives an idempotency token (at most 64 characters) from an
// object's UID and what the call makes.
func clientToken(uid, what string) string {
	t := uid + "-" + what
	if len(t) > 64 {
		t = t[:64]
	}
	return t
}
