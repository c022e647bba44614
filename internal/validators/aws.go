package validators

import (
	"fmt"
	"net/netip"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// AWS VPC limits (Amazon EC2 CreateVpc and CreateSubnet: "The smallest VPC
// you can create uses a /28 netmask (16 IPv4 addresses), and the largest
// uses a /16 netmask"; subnets are /16 to /28 as well).
const (
	awsVPCLargestBits  = 16
	awsVPCSmallestBits = 28
	awsSubnetMaxBits   = 28
)

// The network this provider makes splits the VPC into sixteen blocks four
// bits longer than the VPC's prefix, the first zones blocks public and the
// next zones blocks private (SubnetCIDRs in
// internal/infrastructure/aws/cloud/network.go).
const (
	subnetSplitBits = 4
	subnetBlocks    = 1 << subnetSplitBits
	maxZones        = subnetBlocks / 2
)

// VPCFitsZones checks a VPC CIDR block against AWS's VPC limits (IPv4,
// /16 to /28) and against the split this provider's network makes of it:
// one public and one private subnet per zone, each a sixteenth of the VPC,
// and no AWS subnet smaller than a /28, so the VPC must be a /24 or larger
// and hold at most 8 zones. zones 0 checks the block alone.
func VPCFitsZones(vpcCIDR string, zones int) error {
	p, err := netip.ParsePrefix(vpcCIDR)
	if err != nil {
		return fmt.Errorf("%s is not a network in CIDR notation", vpcCIDR)
	}
	p = p.Masked()
	switch {
	case !p.Addr().Is4():
		return fmt.Errorf("%s is IPv6: an AWS VPC's CIDR block is IPv4 (AWS adds a VPC's IPv6 block, a /56, itself)", vpcCIDR)
	case zones < 0:
		return fmt.Errorf("%d zones: the count cannot be negative", zones)
	case p.Bits() < awsVPCLargestBits:
		return fmt.Errorf("%s is too large: AWS VPC CIDR blocks are /%d to /%d", p, awsVPCLargestBits, awsVPCSmallestBits)
	case p.Bits() > awsVPCSmallestBits:
		return fmt.Errorf("%s is too small: AWS VPC CIDR blocks are /%d to /%d", p, awsVPCLargestBits, awsVPCSmallestBits)
	case zones > maxZones:
		return fmt.Errorf("%d zones do not fit: the VPC is split into %d blocks, a public and a private subnet for each zone, "+
			"so at most %d zones", zones, subnetBlocks, maxZones)
	}
	if bits := p.Bits() + subnetSplitBits; bits > awsSubnetMaxBits {
		need := fmt.Sprintf("each of the %d zones needs two /%d subnets", zones, bits)
		switch zones {
		case 0:
			need = fmt.Sprintf("the VPC is split into /%d subnets", bits)
		case 1:
			need = fmt.Sprintf("the zone needs two /%d subnets", bits)
		}
		return fmt.Errorf("%s is too small: %s, and the smallest AWS subnet is a /%d; use /%d or larger",
			p, need, awsSubnetMaxBits, awsSubnetMaxBits-subnetSplitBits)
	}
	return nil
}

// AWS zone names (EC2 DescribeAvailabilityZones ZoneName): an Availability
// Zone is the region and a letter (us-east-1a), a Local Zone the region, a
// metro code, a number and a letter (us-east-1-bos-1a), a Wavelength Zone
// the region, wl and a number, a city code, wlz and a number
// (us-east-1-wl1-bos-wlz-1). Regions are a partition and geography prefix
// and a number (us-east-1, us-gov-west-1, ap-southeast-5).
var (
	awsZoneName = regexp.MustCompile(`^([a-z]{2,4}(?:-[a-z]+)+-[0-9]+)(?:[a-z]|-[a-z]+-[0-9]+[a-z]|-wl[0-9]+-[a-z]+-wlz-[0-9]+)$`)
	// Zone IDs (use1-az1, use1-bos1-az1) name the same places the same way
	// in every account; the APIs this provider calls take names.
	awsZoneID = regexp.MustCompile(`^[a-z]+[0-9]+(?:-[a-z]+[0-9]+)?-az[0-9]+$`)
)

const awsZoneExamples = "such as us-east-1a, us-east-1-bos-1a or us-east-1-wl1-bos-wlz-1"

// zoneRegion returns the region of an AWS zone name.
func zoneRegion(zone string) (string, error) {
	if m := awsZoneName.FindStringSubmatch(zone); m != nil {
		return m[1], nil
	}
	if awsZoneID.MatchString(zone) {
		return "", fmt.Errorf("%s is a zone ID, not a zone name", zone)
	}
	return "", fmt.Errorf("%s is not an AWS zone name (%s)", zone, awsZoneExamples)
}

// ZoneInRegion checks that zone is the name of an Availability, Local or
// Wavelength Zone of region: EC2 refuses a subnet or instance in a zone of
// another region.
func ZoneInRegion(region, zone string) error {
	r, err := zoneRegion(zone)
	if err != nil {
		return err
	}
	if r != region {
		return fmt.Errorf("zone %s is not in region %s", zone, region)
	}
	return nil
}

// AWSZone accepts an AWS Availability, Local or Wavelength Zone name.
func AWSZone() validator.String {
	return stringRule{
		description: "an AWS zone name",
		check: func(s string) []string {
			if _, err := zoneRegion(s); err != nil {
				return []string{err.Error()}
			}
			return nil
		},
	}
}
