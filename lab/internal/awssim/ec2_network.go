package awssim

import (
	"net"
	"sort"
	"strings"
	"time"
)

type vpc struct {
	VpcID     string `xml:"vpcId"`
	CidrBlock string `xml:"cidrBlock"`
	State     string `xml:"state"`
	OwnerID   string `xml:"ownerId"`
	IsDefault bool   `xml:"isDefault"`
	Tags      []Tag  `xml:"tagSet>item"`
	created   time.Time
	network   *net.IPNet
}

type subnet struct {
	SubnetID                string `xml:"subnetId"`
	VpcID                   string `xml:"vpcId"`
	CidrBlock               string `xml:"cidrBlock"`
	AvailabilityZone        string `xml:"availabilityZone"`
	AvailabilityZoneID      string `xml:"availabilityZoneId"`
	State                   string `xml:"state"`
	AvailableIPAddressCount int    `xml:"availableIpAddressCount"`
	MapPublicIPOnLaunch     bool   `xml:"mapPublicIpOnLaunch"`
	OwnerID                 string `xml:"ownerId"`
	Tags                    []Tag  `xml:"tagSet>item"`
	created                 time.Time
	network                 *net.IPNet
}

type igwAttachment struct {
	VpcID string `xml:"vpcId"`
	State string `xml:"state"`
}

type internetGateway struct {
	InternetGatewayID string          `xml:"internetGatewayId"`
	OwnerID           string          `xml:"ownerId"`
	Attachments       []igwAttachment `xml:"attachmentSet>item"`
	Tags              []Tag           `xml:"tagSet>item"`
	created           time.Time
}

type address struct {
	AllocationID  string `xml:"allocationId"`
	PublicIP      string `xml:"publicIp"`
	Domain        string `xml:"domain"`
	AssociationID string `xml:"associationId,omitempty"`
	Tags          []Tag  `xml:"tagSet>item"`
	created       time.Time
}

type natAddress struct {
	AllocationID string `xml:"allocationId"`
	PublicIP     string `xml:"publicIp"`
	PrivateIP    string `xml:"privateIp"`
}

type natGateway struct {
	NatGatewayID     string       `xml:"natGatewayId"`
	SubnetID         string       `xml:"subnetId"`
	VpcID            string       `xml:"vpcId"`
	State            string       `xml:"state"`
	ConnectivityType string       `xml:"connectivityType"`
	CreateTime       string       `xml:"createTime"`
	Addresses        []natAddress `xml:"natGatewayAddressSet>item"`
	Tags             []Tag        `xml:"tagSet>item"`
	created          time.Time
	deleting         time.Time
}

type route struct {
	DestinationCidrBlock string `xml:"destinationCidrBlock"`
	GatewayID            string `xml:"gatewayId,omitempty"`
	NatGatewayID         string `xml:"natGatewayId,omitempty"`
	State                string `xml:"state"`
	Origin               string `xml:"origin"`
}

type routeTableAssociation struct {
	RouteTableAssociationID string `xml:"routeTableAssociationId"`
	RouteTableID            string `xml:"routeTableId"`
	SubnetID                string `xml:"subnetId,omitempty"`
	Main                    bool   `xml:"main"`
	State                   string `xml:"associationState>state"`
}

type routeTable struct {
	RouteTableID string                  `xml:"routeTableId"`
	VpcID        string                  `xml:"vpcId"`
	OwnerID      string                  `xml:"ownerId"`
	Routes       []route                 `xml:"routeSet>item"`
	Associations []routeTableAssociation `xml:"associationSet>item"`
	Tags         []Tag                   `xml:"tagSet>item"`
	created      time.Time
	main         bool
}

func (s *Simulator) createVpc(p params, _ string) (any, *apiError) {
	_, network, err := net.ParseCIDR(p.get("CidrBlock"))
	if err != nil || network.IP.To4() == nil {
		return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", p.get("CidrBlock"))
	}
	// EC2 takes VPCs of a /16 to a /28.
	if ones, _ := network.Mask.Size(); ones < 16 || ones > 28 {
		return nil, badRequest("InvalidVpc.Range", "The CIDR '%s' is invalid.", p.get("CidrBlock"))
	}
	v := &vpc{VpcID: newID("vpc"), CidrBlock: network.String(), State: "available", OwnerID: accountID,
		Tags: tagList(p.tagSpecs("vpc")), created: s.now(), network: network}
	s.vpcs[v.VpcID] = v
	// As in AWS, every VPC comes with a main route table and a default
	// security group; they go when the VPC goes.
	rt := &routeTable{RouteTableID: newID("rtb"), VpcID: v.VpcID, OwnerID: accountID, created: s.now(), main: true,
		Routes: []route{{DestinationCidrBlock: v.CidrBlock, GatewayID: "local", State: "active", Origin: "CreateRouteTable"}}}
	rt.Associations = []routeTableAssociation{{RouteTableAssociationID: newID("rtbassoc"), RouteTableID: rt.RouteTableID, Main: true, State: "associated"}}
	s.routeTables[rt.RouteTableID] = rt
	sg := newSecurityGroup(newID("sg"), "default", "default VPC security group", v.VpcID, nil, s.now())
	s.groups[sg.GroupID] = sg
	return struct {
		Vpc *vpc `xml:"vpc"`
	}{v}, nil
}

func (s *Simulator) describeVpcs(p params, _ string) (any, *apiError) {
	out, next, err := describe(s, p, "VpcId", s.vpcs, "InvalidVpcID.NotFound", "vpc", func(v *vpc) resourceView {
		return resourceView{created: v.created, tags: v.Tags, values: func(name string) ([]string, bool) {
			switch name {
			case "vpc-id":
				return []string{v.VpcID}, true
			case "cidr", "cidr-block-association.cidr-block":
				return []string{v.CidrBlock}, true
			case "state":
				return []string{v.State}, true
			case "is-default":
				return []string{"false"}, true
			}
			return nil, false
		}}
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Vpcs      []*vpc `xml:"vpcSet>item"`
		NextToken string `xml:"nextToken,omitempty"`
	}{out, next}, nil
}

func (s *Simulator) modifyVpcAttribute(p params, _ string) (any, *apiError) {
	if _, ok := lookup(s, s.vpcs, p.get("VpcId")); !ok {
		return nil, badRequest("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", p.get("VpcId"))
	}
	return returnTrue(), nil
}

func (s *Simulator) deleteVpc(p params, _ string) (any, *apiError) {
	id := p.get("VpcId")
	if _, ok := lookup(s, s.vpcs, id); !ok {
		return nil, badRequest("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	}
	for _, sn := range s.subnets {
		if sn.VpcID == id {
			return nil, dependency("vpc", id)
		}
	}
	for _, g := range s.igws {
		for _, a := range g.Attachments {
			if a.VpcID == id {
				return nil, dependency("vpc", id)
			}
		}
	}
	for _, rt := range s.routeTables {
		if rt.VpcID == id && !rt.main {
			return nil, dependency("vpc", id)
		}
	}
	for _, g := range s.groups {
		if g.VpcID == id && g.GroupName != "default" {
			return nil, dependency("vpc", id)
		}
	}
	for rtID, rt := range s.routeTables {
		if rt.VpcID == id {
			delete(s.routeTables, rtID)
		}
	}
	for gID, g := range s.groups {
		if g.VpcID == id {
			delete(s.groups, gID)
		}
	}
	delete(s.vpcs, id)
	return returnTrue(), nil
}

func (s *Simulator) createSubnet(p params, region string) (any, *apiError) {
	v, ok := lookup(s, s.vpcs, p.get("VpcId"))
	if !ok {
		return nil, badRequest("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", p.get("VpcId"))
	}
	_, network, err := net.ParseCIDR(p.get("CidrBlock"))
	if err != nil || network.IP.To4() == nil {
		return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", p.get("CidrBlock"))
	}
	// As in EC2, a subnet is a /16 to a /28 within its VPC's network.
	ones, bits := network.Mask.Size()
	vpcOnes, _ := v.network.Mask.Size()
	if ones < 16 || ones > 28 || ones < vpcOnes || !v.network.Contains(network.IP) {
		return nil, badRequest("InvalidSubnet.Range", "The CIDR '%s' is invalid.", p.get("CidrBlock"))
	}
	for _, other := range s.subnets {
		if other.VpcID == v.VpcID && (other.network.Contains(network.IP) || network.Contains(other.network.IP)) {
			return nil, badRequest("InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet", p.get("CidrBlock"))
		}
	}
	az := p.get("AvailabilityZone")
	if az == "" {
		az = zones(region)[0]
	}
	if !contains(zones(region), az) && az != localZone(region) {
		return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.",
			az, strings.Join(zones(region), ", "))
	}
	sn := &subnet{SubnetID: newID("subnet"), VpcID: v.VpcID, CidrBlock: network.String(), AvailabilityZone: az,
		AvailabilityZoneID: zoneID(az), State: "available", AvailableIPAddressCount: 1<<(bits-ones) - 5, OwnerID: accountID,
		Tags: tagList(p.tagSpecs("subnet")), created: s.now(), network: network}
	s.subnets[sn.SubnetID] = sn
	return struct {
		Subnet *subnet `xml:"subnet"`
	}{sn}, nil
}

func (s *Simulator) describeSubnets(p params, _ string) (any, *apiError) {
	out, next, err := describe(s, p, "SubnetId", s.subnets, "InvalidSubnetID.NotFound", "subnet", func(v *subnet) resourceView {
		return resourceView{created: v.created, tags: v.Tags, values: func(name string) ([]string, bool) {
			switch name {
			case "subnet-id":
				return []string{v.SubnetID}, true
			case "vpc-id":
				return []string{v.VpcID}, true
			case "availability-zone":
				return []string{v.AvailabilityZone}, true
			case "cidr-block", "cidr":
				return []string{v.CidrBlock}, true
			case "state":
				return []string{v.State}, true
			case "map-public-ip-on-launch":
				return []string{boolString(v.MapPublicIPOnLaunch)}, true
			}
			return nil, false
		}}
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Subnets   []*subnet `xml:"subnetSet>item"`
		NextToken string    `xml:"nextToken,omitempty"`
	}{out, next}, nil
}

func (s *Simulator) modifySubnetAttribute(p params, _ string) (any, *apiError) {
	sn, ok := lookup(s, s.subnets, p.get("SubnetId"))
	if !ok {
		return nil, badRequest("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", p.get("SubnetId"))
	}
	if p.has("MapPublicIpOnLaunch.Value") {
		sn.MapPublicIPOnLaunch = p.get("MapPublicIpOnLaunch.Value") == "true"
	}
	return returnTrue(), nil
}

func (s *Simulator) deleteSubnet(p params, _ string) (any, *apiError) {
	id := p.get("SubnetId")
	if _, ok := lookup(s, s.subnets, id); !ok {
		return nil, badRequest("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
	}
	for _, i := range s.instances {
		if i.SubnetID == id && i.State.Name != "terminated" {
			return nil, dependency("subnet", id)
		}
	}
	for _, n := range s.nats {
		if n.SubnetID == id && n.State != "deleted" {
			return nil, dependency("subnet", id)
		}
	}
	for _, lb := range s.withInterfaces() {
		for _, az := range lb.AvailabilityZones {
			if az.SubnetID == id {
				return nil, dependency("subnet", id)
			}
		}
	}
	for _, rt := range s.routeTables {
		kept := rt.Associations[:0]
		for _, a := range rt.Associations {
			if a.SubnetID != id {
				kept = append(kept, a)
			}
		}
		rt.Associations = kept
	}
	delete(s.subnets, id)
	return returnTrue(), nil
}

func (s *Simulator) createInternetGateway(p params, _ string) (any, *apiError) {
	g := &internetGateway{InternetGatewayID: newID("igw"), OwnerID: accountID, Tags: tagList(p.tagSpecs("internet-gateway")), created: s.now()}
	s.igws[g.InternetGatewayID] = g
	return struct {
		InternetGateway *internetGateway `xml:"internetGateway"`
	}{g}, nil
}

func (s *Simulator) attachInternetGateway(p params, _ string) (any, *apiError) {
	g, ok := lookup(s, s.igws, p.get("InternetGatewayId"))
	if !ok {
		return nil, badRequest("InvalidInternetGatewayID.NotFound", "The internetGateway ID '%s' does not exist", p.get("InternetGatewayId"))
	}
	if _, ok := lookup(s, s.vpcs, p.get("VpcId")); !ok {
		return nil, badRequest("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", p.get("VpcId"))
	}
	if len(g.Attachments) > 0 {
		return nil, badRequest("Resource.AlreadyAssociated", "resource %s is already attached to network %s", g.InternetGatewayID, g.Attachments[0].VpcID)
	}
	// A VPC has at most one internet gateway.
	for _, other := range s.igws {
		for _, a := range other.Attachments {
			if a.VpcID == p.get("VpcId") {
				return nil, badRequest("Resource.AlreadyAssociated", "Network %s already has an internet gateway attached", a.VpcID)
			}
		}
	}
	g.Attachments = []igwAttachment{{VpcID: p.get("VpcId"), State: "available"}}
	return returnTrue(), nil
}

func (s *Simulator) detachInternetGateway(p params, _ string) (any, *apiError) {
	g, ok := lookup(s, s.igws, p.get("InternetGatewayId"))
	if !ok {
		return nil, badRequest("InvalidInternetGatewayID.NotFound", "The internetGateway ID '%s' does not exist", p.get("InternetGatewayId"))
	}
	if len(g.Attachments) == 0 || g.Attachments[0].VpcID != p.get("VpcId") {
		return nil, badRequest("Gateway.NotAttached", "resource %s is not attached to network %s", g.InternetGatewayID, p.get("VpcId"))
	}
	if s.mapsPublicAddresses(p.get("VpcId")) {
		return nil, badRequest("DependencyViolation", "Network %s has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.", p.get("VpcId"))
	}
	g.Attachments = nil
	return returnTrue(), nil
}

// mapsPublicAddresses says whether public IPv4 addresses are mapped in a
// VPC, which its internet gateway serves: those of NAT gateways (until
// they are deleted), of instances (until they are terminated) and of
// internet-facing load balancers' network interfaces.
func (s *Simulator) mapsPublicAddresses(vpcID string) bool {
	for _, n := range s.nats {
		if n.VpcID == vpcID && n.State != "deleted" {
			return true
		}
	}
	for _, i := range s.instances {
		if i.VpcID == vpcID && i.PublicIP != "" && i.State.Name != "terminated" {
			return true
		}
	}
	for _, lb := range s.withInterfaces() {
		if lb.VpcID == vpcID && lb.Scheme == "internet-facing" {
			return true
		}
	}
	return false
}

func (s *Simulator) deleteInternetGateway(p params, _ string) (any, *apiError) {
	id := p.get("InternetGatewayId")
	g, ok := lookup(s, s.igws, id)
	if !ok {
		return nil, badRequest("InvalidInternetGatewayID.NotFound", "The internetGateway ID '%s' does not exist", id)
	}
	if len(g.Attachments) > 0 {
		return nil, dependency("internetGateway", id)
	}
	delete(s.igws, id)
	return returnTrue(), nil
}

func (s *Simulator) describeInternetGateways(p params, _ string) (any, *apiError) {
	out, next, err := describe(s, p, "InternetGatewayId", s.igws, "InvalidInternetGatewayID.NotFound", "internetGateway", func(g *internetGateway) resourceView {
		return resourceView{created: g.created, tags: g.Tags, values: func(name string) ([]string, bool) {
			switch name {
			case "internet-gateway-id":
				return []string{g.InternetGatewayID}, true
			case "attachment.vpc-id":
				var out []string
				for _, a := range g.Attachments {
					out = append(out, a.VpcID)
				}
				return out, true
			}
			return nil, false
		}}
	})
	if err != nil {
		return nil, err
	}
	return struct {
		InternetGateways []*internetGateway `xml:"internetGatewaySet>item"`
		NextToken        string             `xml:"nextToken,omitempty"`
	}{out, next}, nil
}

func (s *Simulator) allocateAddress(p params, _ string) (any, *apiError) {
	s.eipSeq++
	a := &address{AllocationID: newID("eipalloc"), PublicIP: publicIP(s.eipSeq), Domain: "vpc",
		Tags: tagList(p.tagSpecs("elastic-ip")), created: s.now()}
	s.addresses[a.AllocationID] = a
	return struct {
		AllocationID string `xml:"allocationId"`
		PublicIP     string `xml:"publicIp"`
		Domain       string `xml:"domain"`
	}{a.AllocationID, a.PublicIP, a.Domain}, nil
}

func (s *Simulator) describeAddresses(p params, _ string) (any, *apiError) {
	out, _, err := describe(s, p, "AllocationId", s.addresses, "InvalidAllocationID.NotFound", "allocation", func(a *address) resourceView {
		return resourceView{created: a.created, tags: a.Tags, values: func(name string) ([]string, bool) {
			switch name {
			case "allocation-id":
				return []string{a.AllocationID}, true
			case "public-ip":
				return []string{a.PublicIP}, true
			case "domain":
				return []string{a.Domain}, true
			}
			return nil, false
		}}
	})
	if err != nil {
		return nil, err
	}
	return struct {
		Addresses []*address `xml:"addressesSet>item"`
	}{out}, nil
}

func (s *Simulator) releaseAddress(p params, _ string) (any, *apiError) {
	id := p.get("AllocationId")
	a, ok := lookup(s, s.addresses, id)
	if !ok {
		return nil, badRequest("InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", id)
	}
	if a.AssociationID != "" {
		return nil, badRequest("InvalidIPAddress.InUse", "Address %s is in use.", a.PublicIP)
	}
	delete(s.addresses, id)
	return returnTrue(), nil
}

func (s *Simulator) createNatGateway(p params, _ string) (any, *apiError) {
	if token := p.get("ClientToken"); token != "" {
		if id, ok := s.clientTokens["CreateNatGateway/"+token]; ok {
			return struct {
				NatGateway  *natGateway `xml:"natGateway"`
				ClientToken string      `xml:"clientToken"`
			}{s.nats[id], token}, nil
		}
	}
	sn, ok := lookup(s, s.subnets, p.get("SubnetId"))
	if !ok {
		return nil, badRequest("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", p.get("SubnetId"))
	}
	a, ok := lookup(s, s.addresses, p.get("AllocationId"))
	if !ok {
		return nil, badRequest("InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", p.get("AllocationId"))
	}
	if a.AssociationID != "" {
		return nil, badRequest("Resource.AlreadyAssociated", "Elastic IP address [%s] is already associated", a.AllocationID)
	}
	n := &natGateway{NatGatewayID: newID("nat"), SubnetID: sn.SubnetID, VpcID: sn.VpcID, State: "pending", ConnectivityType: "public",
		CreateTime: s.now().UTC().Format(time.RFC3339), Tags: tagList(p.tagSpecs("natgateway")), created: s.now(),
		Addresses: []natAddress{{AllocationID: a.AllocationID, PublicIP: a.PublicIP, PrivateIP: s.nextIP(sn)}}}
	a.AssociationID = n.NatGatewayID
	s.nats[n.NatGatewayID] = n
	if token := p.get("ClientToken"); token != "" {
		s.clientTokens["CreateNatGateway/"+token] = n.NatGatewayID
	}
	return struct {
		NatGateway  *natGateway `xml:"natGateway"`
		ClientToken string      `xml:"clientToken,omitempty"`
	}{n, p.get("ClientToken")}, nil
}

func (s *Simulator) describeNatGateways(p params, _ string) (any, *apiError) {
	out, next, err := describe(s, p, "NatGatewayId", s.nats, "NatGatewayNotFound", "natGateway", func(n *natGateway) resourceView {
		return resourceView{created: n.created, tags: n.Tags, values: func(name string) ([]string, bool) {
			switch name {
			case "nat-gateway-id":
				return []string{n.NatGatewayID}, true
			case "subnet-id":
				return []string{n.SubnetID}, true
			case "vpc-id":
				return []string{n.VpcID}, true
			case "state":
				return []string{n.State}, true
			}
			return nil, false
		}}
	})
	if err != nil {
		return nil, err
	}
	return struct {
		NatGateways []*natGateway `xml:"natGatewaySet>item"`
		NextToken   string        `xml:"nextToken,omitempty"`
	}{out, next}, nil
}

func (s *Simulator) deleteNatGateway(p params, _ string) (any, *apiError) {
	n, ok := lookup(s, s.nats, p.get("NatGatewayId"))
	if !ok || n.State == "deleted" {
		return nil, badRequest("NatGatewayNotFound", "The Nat Gateway %s was not found", p.get("NatGatewayId"))
	}
	if n.State != "deleting" {
		n.State = "deleting"
		n.deleting = s.now()
		s.advance()
	}
	return struct {
		NatGatewayID string `xml:"natGatewayId"`
	}{n.NatGatewayID}, nil
}

func (s *Simulator) createRouteTable(p params, _ string) (any, *apiError) {
	v, ok := lookup(s, s.vpcs, p.get("VpcId"))
	if !ok {
		return nil, badRequest("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", p.get("VpcId"))
	}
	rt := &routeTable{RouteTableID: newID("rtb"), VpcID: v.VpcID, OwnerID: accountID, Tags: tagList(p.tagSpecs("route-table")), created: s.now(),
		Routes: []route{{DestinationCidrBlock: v.CidrBlock, GatewayID: "local", State: "active", Origin: "CreateRouteTable"}}}
	s.routeTables[rt.RouteTableID] = rt
	return struct {
		RouteTable *routeTable `xml:"routeTable"`
	}{rt}, nil
}

func (s *Simulator) createRoute(p params, _ string) (any, *apiError) {
	rt, ok := lookup(s, s.routeTables, p.get("RouteTableId"))
	if !ok {
		return nil, badRequest("InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist", p.get("RouteTableId"))
	}
	r := route{DestinationCidrBlock: p.get("DestinationCidrBlock"), GatewayID: p.get("GatewayId"), NatGatewayID: p.get("NatGatewayId"), State: "active", Origin: "CreateRoute"}
	if _, _, err := net.ParseCIDR(r.DestinationCidrBlock); err != nil {
		return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter destinationCidrBlock is invalid.", r.DestinationCidrBlock)
	}
	switch {
	case r.GatewayID != "":
		if _, ok := lookup(s, s.igws, r.GatewayID); !ok {
			return nil, badRequest("InvalidGatewayID.NotFound", "The gateway ID '%s' does not exist", r.GatewayID)
		}
	case r.NatGatewayID != "":
		if n, ok := lookup(s, s.nats, r.NatGatewayID); !ok || n.State == "deleted" {
			return nil, badRequest("InvalidNatGatewayID.NotFound", "The nat gateway ID '%s' does not exist", r.NatGatewayID)
		}
	default:
		return nil, badRequest("MissingParameter", "The request must contain a gateway or NAT gateway")
	}
	for _, existing := range rt.Routes {
		if existing.DestinationCidrBlock == r.DestinationCidrBlock {
			return nil, badRequest("RouteAlreadyExists", "The route identified by %s already exists.", r.DestinationCidrBlock)
		}
	}
	rt.Routes = append(rt.Routes, r)
	return returnTrue(), nil
}

func (s *Simulator) associateRouteTable(p params, _ string) (any, *apiError) {
	rt, ok := lookup(s, s.routeTables, p.get("RouteTableId"))
	if !ok {
		return nil, badRequest("InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist", p.get("RouteTableId"))
	}
	sn, ok := lookup(s, s.subnets, p.get("SubnetId"))
	if !ok {
		return nil, badRequest("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", p.get("SubnetId"))
	}
	for _, other := range s.routeTables {
		for _, a := range other.Associations {
			if a.SubnetID == sn.SubnetID {
				return nil, badRequest("Resource.AlreadyAssociated", "the specified association for route table %s conflicts with an existing association", rt.RouteTableID)
			}
		}
	}
	a := routeTableAssociation{RouteTableAssociationID: newID("rtbassoc"), RouteTableID: rt.RouteTableID, SubnetID: sn.SubnetID, State: "associated"}
	rt.Associations = append(rt.Associations, a)
	return struct {
		AssociationID string `xml:"associationId"`
	}{a.RouteTableAssociationID}, nil
}

func (s *Simulator) disassociateRouteTable(p params, _ string) (any, *apiError) {
	id := p.get("AssociationId")
	for _, rt := range s.routeTables {
		for i, a := range rt.Associations {
			if a.RouteTableAssociationID == id && !a.Main {
				rt.Associations = append(rt.Associations[:i], rt.Associations[i+1:]...)
				return returnTrue(), nil
			}
		}
	}
	return nil, badRequest("InvalidAssociationID.NotFound", "The association ID '%s' does not exist", id)
}

func (s *Simulator) deleteRouteTable(p params, _ string) (any, *apiError) {
	id := p.get("RouteTableId")
	rt, ok := lookup(s, s.routeTables, id)
	if !ok {
		return nil, badRequest("InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist", id)
	}
	if rt.main || len(rt.Associations) > 0 {
		return nil, dependency("routeTable", id)
	}
	delete(s.routeTables, id)
	return returnTrue(), nil
}

func (s *Simulator) describeRouteTables(p params, _ string) (any, *apiError) {
	out, next, err := describe(s, p, "RouteTableId", s.routeTables, "InvalidRouteTableID.NotFound", "routeTable", func(rt *routeTable) resourceView {
		return resourceView{created: rt.created, tags: rt.Tags, values: func(name string) ([]string, bool) {
			switch name {
			case "route-table-id":
				return []string{rt.RouteTableID}, true
			case "vpc-id":
				return []string{rt.VpcID}, true
			case "association.subnet-id":
				var out []string
				for _, a := range rt.Associations {
					out = append(out, a.SubnetID)
				}
				return out, true
			case "association.main":
				return []string{boolString(rt.main)}, true
			}
			return nil, false
		}}
	})
	if err != nil {
		return nil, err
	}
	return struct {
		RouteTables []*routeTable `xml:"routeTableSet>item"`
		NextToken   string        `xml:"nextToken,omitempty"`
	}{out, next}, nil
}

func (s *Simulator) describeAvailabilityZones(p params, region string) (any, *apiError) {
	type zone struct {
		ZoneName       string `xml:"zoneName"`
		ZoneID         string `xml:"zoneId"`
		State          string `xml:"zoneState"`
		RegionName     string `xml:"regionName"`
		ZoneType       string `xml:"zoneType"`
		OptIn          string `xml:"optInStatus"`
		GroupName      string `xml:"groupName"`
		ParentZoneName string `xml:"parentZoneName,omitempty"`
	}
	all := []zone{}
	for _, z := range zones(region) {
		all = append(all, zone{ZoneName: z, ZoneID: zoneID(z), State: "available", RegionName: region, ZoneType: "availability-zone",
			OptIn: "opt-in-not-required", GroupName: region})
	}
	// An account that opted in to a Local Zone sees it among its zones.
	lz := localZone(region)
	all = append(all, zone{ZoneName: lz, ZoneID: zoneID(lz), State: "available", RegionName: region, ZoneType: "local-zone",
		OptIn: "opted-in", GroupName: strings.TrimSuffix(lz, "a"), ParentZoneName: zones(region)[0]})
	var out []zone
	for _, z := range all {
		ok, err := matchFilters(p.filters(), nil, func(name string) ([]string, bool) {
			switch name {
			case "zone-name":
				return []string{z.ZoneName}, true
			case "zone-id":
				return []string{z.ZoneID}, true
			case "state":
				return []string{z.State}, true
			case "zone-type":
				return []string{z.ZoneType}, true
			case "opt-in-status":
				return []string{z.OptIn}, true
			case "region-name":
				return []string{z.RegionName}, true
			case "group-name":
				return []string{z.GroupName}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, z)
		}
	}
	return struct {
		Zones []zone `xml:"availabilityZoneInfo>item"`
	}{out}, nil
}

func (s *Simulator) createTags(p params, _ string) (any, *apiError) {
	tags := map[string]string{}
	for _, t := range p.indexed("Tag") {
		tags[t.get("Key")] = t.get("Value")
	}
	ids := p.list("ResourceId")
	for _, id := range ids {
		existing := s.ec2Tags(id)
		if existing == nil {
			return nil, badRequest("InvalidID", "The ID '%s' is not valid", id)
		}
		if err := checkTagCount("ec2", *existing, tags); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		setTags(s.ec2Tags(id), tags)
	}
	return returnTrue(), nil
}

func (s *Simulator) ec2Tags(id string) *[]Tag {
	switch {
	case s.vpcs[id] != nil:
		return &s.vpcs[id].Tags
	case s.subnets[id] != nil:
		return &s.subnets[id].Tags
	case s.igws[id] != nil:
		return &s.igws[id].Tags
	case s.addresses[id] != nil:
		return &s.addresses[id].Tags
	case s.nats[id] != nil:
		return &s.nats[id].Tags
	case s.routeTables[id] != nil:
		return &s.routeTables[id].Tags
	case s.groups[id] != nil:
		return &s.groups[id].Tags
	case s.instances[id] != nil:
		return &s.instances[id].Tags
	case s.volumes[id] != nil:
		return &s.volumes[id].Tags
	case s.keyPairs[id] != nil:
		return &s.keyPairs[id].Tags
	}
	return nil
}

// resourceView is what the Describe calls need of a resource.
type resourceView struct {
	created time.Time
	tags    []Tag
	// values gives the resource's values for a filter name, ok=false for a
	// name it does not know.
	values func(name string) ([]string, bool)
}

// describe does what every EC2 Describe call does: take the requested IDs
// (each must exist and be visible, or the call fails with notFound) or all,
// keep those matching the filters, sort them and cut a page by
// MaxResults/NextToken.
func describe[T any](s *Simulator, p params, idParam string, items map[string]T, notFound, noun string, view func(T) resourceView) ([]T, string, *apiError) {
	ids := keys(items)
	if requested := p.list(idParam); len(requested) > 0 {
		for _, id := range requested {
			item, ok := items[id]
			if !ok || s.notYetVisible(view(item).created) {
				return nil, "", badRequest(notFound, "The %s ID '%s' does not exist", noun, id)
			}
		}
		ids = append([]string(nil), requested...)
		sort.Strings(ids)
	}
	filters := p.filters()
	var matched []string
	for _, id := range ids {
		v := view(items[id])
		ok, err := matchFilters(filters, v.tags, v.values)
		if err != nil {
			return nil, "", err
		}
		if ok {
			matched = append(matched, id)
		}
	}
	matched, next, err := page(matched, p.int("MaxResults", 0), p.get("NextToken"))
	if err != nil {
		return nil, "", err
	}
	out := make([]T, 0, len(matched))
	for _, id := range matched {
		out = append(out, items[id])
	}
	return out, next, nil
}

func dependency(noun, id string) *apiError {
	return badRequest("DependencyViolation", "The %s '%s' has dependencies and cannot be deleted.", noun, id)
}

func returnTrue() any {
	return struct {
		Return bool `xml:"return"`
	}{true}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func zones(region string) []string {
	return []string{region + "a", region + "b", region + "c"}
}

// localZone is the region's Local Zone: it sorts before the region's
// availability zones, as us-west-2-lax-1a does before us-west-2a.
func localZone(region string) string {
	switch region {
	case "us-east-1":
		return "us-east-1-bos-1a"
	case "us-west-2":
		return "us-west-2-lax-1a"
	}
	return region + "-lcl-1a"
}

func zoneID(zone string) string {
	id := "use1-az" + string(zone[len(zone)-1]-'a'+'1')
	if strings.Count(zone, "-") > 2 {
		// A Local Zone: use1-bos1-az1.
		parts := strings.Split(zone, "-")
		id = "use1-" + parts[3] + "1-az1"
	}
	return id
}

func publicIP(n int) string {
	// 198.51.100.0/24 and 203.0.113.0/24 are documentation ranges: never routed.
	if n < 255 {
		return net.IPv4(198, 51, 100, byte(n)).String()
	}
	return net.IPv4(203, 0, 113, byte(n%255)).String()
}

// nextIP hands out the subnet's addresses in order, skipping the five AWS
// reserves.
func (s *Simulator) nextIP(sn *subnet) string {
	s.ipSeq[sn.SubnetID]++
	ip := sn.network.IP.To4()
	if ip == nil {
		return ""
	}
	n := uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
	n += uint32(3 + s.ipSeq[sn.SubnetID])
	sn.AvailableIPAddressCount--
	return net.IPv4(byte(n>>24), byte(n>>16), byte(n>>8), byte(n)).String()
}
