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

// deleteSubnets deletes the cluster's subnets, public and private, once
// nothing is left in them.
func (c Clients) deleteSubnets(ctx context.Context, cl Cluster) (bool, error) {
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
	return true, nil
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
