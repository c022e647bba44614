package validators

import (
	"strings"
	"testing"
)

func TestVPCFitsZones(t *testing.T) {
	cases := []struct {
		cidr  string
		zones int
		want  string
	}{
		{"10.0.0.0/16", 3, ""},
		{"10.0.0.0/16", 8, ""},
		{"10.0.0.0/24", 3, ""},
		{"10.0.0.0/24", 1, ""},
		{"172.31.0.0/20", 0, ""},
		{"10.0.0.0/26", 3, "10.0.0.0/26 is too small: each of the 3 zones needs two /30 subnets, and the smallest AWS subnet is a /28; use /24 or larger"},
		{"10.0.0.0/25", 1, "10.0.0.0/25 is too small: the zone needs two /29 subnets"},
		{"10.0.0.0/28", 0, "10.0.0.0/28 is too small: the VPC is split into /32 subnets"},
		{"10.0.0.0/29", 1, "10.0.0.0/29 is too small: AWS VPC CIDR blocks are /16 to /28"},
		{"10.0.0.0/8", 3, "10.0.0.0/8 is too large: AWS VPC CIDR blocks are /16 to /28"},
		{"10.0.0.0/16", 9, "9 zones do not fit: the VPC is split into 16 blocks, a public and a private subnet for each zone, so at most 8 zones"},
		{"10.0.0.0/16", -1, "cannot be negative"},
		{"fd00::/56", 3, "fd00::/56 is IPv6: an AWS VPC's CIDR block is IPv4"},
		{"10.0.0", 3, "10.0.0 is not a network in CIDR notation"},
	}
	for _, c := range cases {
		err := VPCFitsZones(c.cidr, c.zones)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("VPCFitsZones(%q, %d) = %v", c.cidr, c.zones, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("VPCFitsZones(%q, %d) = %v, want %q", c.cidr, c.zones, err, c.want)
		}
	}
}

func TestZoneInRegion(t *testing.T) {
	cases := []struct {
		region, zone string
		want         string
	}{
		{"us-east-1", "us-east-1a", ""},
		{"us-east-1", "us-east-1f", ""},
		{"us-east-1", "us-east-1-bos-1a", ""},
		{"us-west-2", "us-west-2-lax-1b", ""},
		{"us-east-1", "us-east-1-wl1-bos-wlz-1", ""},
		{"ap-northeast-1", "ap-northeast-1-wl1-nrt-wlz-1", ""},
		{"us-gov-west-1", "us-gov-west-1a", ""},
		{"cn-north-1", "cn-north-1b", ""},
		{"ap-southeast-5", "ap-southeast-5c", ""},
		{"us-east-1", "eu-west-1a", "zone eu-west-1a is not in region us-east-1"},
		{"us-east-1", "us-east-2a", "zone us-east-2a is not in region us-east-1"},
		{"us-east-1", "us-west-2-lax-1a", "zone us-west-2-lax-1a is not in region us-east-1"},
		{"us-east-1", "us-east-11a", "zone us-east-11a is not in region us-east-1"},
		{"us-east-1", "use1-az1", "use1-az1 is a zone ID, not a zone name"},
		{"us-east-1", "use1-bos1-az1", "is a zone ID"},
		{"us-east-1", "us-east-1", "us-east-1 is not an AWS zone name (such as us-east-1a, us-east-1-bos-1a or us-east-1-wl1-bos-wlz-1)"},
		{"us-east-1", "us-east-1ab", "is not an AWS zone name"},
		{"us-east-1", "us-east-1-bos", "is not an AWS zone name"},
		{"us-east-1", "", "is not an AWS zone name"},
	}
	for _, c := range cases {
		err := ZoneInRegion(c.region, c.zone)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("ZoneInRegion(%q, %q) = %v", c.region, c.zone, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("ZoneInRegion(%q, %q) = %v, want %q", c.region, c.zone, err, c.want)
		}
	}
}
