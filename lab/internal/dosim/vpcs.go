package dosim

import (
	"net/http"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"time"
)

// vpc is a VPC network of the account.
type vpc struct {
	ID          string `json:"id"`
	URN         string `json:"urn"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Region      string `json:"region"`
	IPRange     string `json:"ip_range"`
	CreatedAt   string `json:"created_at"`
	Default     bool   `json:"default"`

	prefix netip.Prefix
	// used holds the addresses given to droplets and load balancers.
	used map[netip.Addr]bool
}

var vpcNamePattern = regexp.MustCompile(`^[a-zA-Z0-9\-.]+$`)

// privateRanges are RFC 1918's; a VPC must lie inside one.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
}

// reservedRanges are DigitalOcean's own (DOKS's pod and service networks
// among them), which no VPC may overlap.
var reservedRanges = []netip.Prefix{
	netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("10.245.0.0/16"),
	netip.MustParsePrefix("10.246.0.0/24"), netip.MustParsePrefix("10.229.0.0/16"),
}

// defaultRanges are the default VPCs' networks, /20s as DigitalOcean
// gives them.
var defaultRanges = map[string]string{
	"ams3": "10.110.0.0/20", "blr1": "10.122.0.0/20", "fra1": "10.114.0.0/20", "lon1": "10.106.0.0/20", "nyc1": "10.116.0.0/20",
	"nyc3": "10.108.0.0/20", "sfo3": "10.124.0.0/20", "sgp1": "10.104.0.0/20", "syd1": "10.126.0.0/20", "tor1": "10.118.0.0/20",
}

// seedDefaultVPCs gives every available region the default VPC an
// account has before it creates anything.
func (s *Simulator) seedDefaultVPCs() {
	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, region := range availableRegionSlugs() {
		v := newVPC("default-"+region, region, netip.MustParsePrefix(defaultRanges[region]), created)
		v.Default = true
		s.vpcs[v.ID] = v
	}
}

func newVPC(name, region string, prefix netip.Prefix, created time.Time) *vpc {
	id := newUUID()
	return &vpc{ID: id, URN: "do:vpc:" + id, Name: name, Region: region, IPRange: prefix.String(), CreatedAt: timestamp(created),
		prefix: prefix, used: map[netip.Addr]bool{}}
}

// defaultVPC is the region's default VPC.
func (s *Simulator) defaultVPC(region string) *vpc {
	for _, v := range s.vpcs {
		if v.Default && v.Region == region {
			return v
		}
	}
	return nil
}

// allocate gives out the lowest free address of the VPC's network,
// past the network address and gateway and before the broadcast one.
func (v *vpc) allocate() (netip.Addr, bool) {
	a := v.prefix.Addr().Next().Next()
	for v.prefix.Contains(a) {
		next := a.Next()
		if !v.prefix.Contains(next) {
			break // a is the broadcast address
		}
		if !v.used[a] {
			v.used[a] = true
			return a, true
		}
		a = next
	}
	return netip.Addr{}, false
}

func (v *vpc) release(a string) {
	if addr, err := netip.ParseAddr(a); err == nil {
		delete(v.used, addr)
	}
}

func overlaps(a, b netip.Prefix) bool { return a.Overlaps(b) }

// checkIPRange applies DigitalOcean's rules to a VPC's network.
func (s *Simulator) checkIPRange(ipRange string) (netip.Prefix, *apiError) {
	p, err := netip.ParsePrefix(ipRange)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, unprocessable("ip_range %q is not an IPv4 CIDR block", ipRange)
	}
	if p.Masked() != p {
		return netip.Prefix{}, unprocessable("ip_range %q is not a network address: use %s", ipRange, p.Masked())
	}
	if p.Bits() < 16 || p.Bits() > 28 {
		return netip.Prefix{}, unprocessable("ip_range %q must not be larger than /16 nor smaller than /28", ipRange)
	}
	private := false
	for _, r := range privateRanges {
		private = private || r.Contains(p.Addr()) && r.Bits() <= p.Bits()
	}
	if !private {
		return netip.Prefix{}, unprocessable("ip_range %q must be in a private range as defined in RFC 1918", ipRange)
	}
	for _, r := range reservedRanges {
		if overlaps(r, p) {
			return netip.Prefix{}, unprocessable("ip_range %q overlaps %s, which DigitalOcean reserves", ipRange, r)
		}
	}
	for _, v := range s.vpcs {
		if overlaps(v.prefix, p) {
			return netip.Prefix{}, unprocessable("ip_range %q overlaps the network %s of VPC %s", ipRange, v.IPRange, v.Name)
		}
	}
	return p, nil
}

// generatedRange is a /20 in 10.0.0.0/8 that overlaps nothing, as
// DigitalOcean picks for a VPC created without a range.
func (s *Simulator) generatedRange() (netip.Prefix, bool) {
	for second := 100; second < 356; second++ {
		for third := 0; third < 256; third += 16 {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(second % 256), byte(third), 0}), 20)
			if _, err := s.checkIPRange(p.String()); err == nil {
				return p, true
			}
		}
	}
	return netip.Prefix{}, false
}

func (s *Simulator) checkVPCName(name, except string) *apiError {
	if name == "" || len(name) > 255 || !vpcNamePattern.MatchString(name) {
		return unprocessable("name %q is invalid: letters, numbers, dashes and periods only", name)
	}
	for _, v := range s.vpcs {
		if v.ID != except && strings.EqualFold(v.Name, name) {
			return unprocessable("A VPC with the name %s already exists", name)
		}
	}
	return nil
}

func (s *Simulator) createVPC(r *request) (int, any, *apiError) {
	var body struct {
		Name        string `json:"name"`
		Region      string `json:"region"`
		Description string `json:"description"`
		IPRange     string `json:"ip_range"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	if err := s.checkVPCName(body.Name, ""); err != nil {
		return 0, nil, err
	}
	if reg, ok := findRegion(body.Region); !ok || !reg.Available {
		return 0, nil, unprocessable("region %q is not available", body.Region)
	}
	if len(body.Description) > 255 {
		return 0, nil, unprocessable("description must be at most 255 characters")
	}
	var prefix netip.Prefix
	if body.IPRange == "" {
		p, ok := s.generatedRange()
		if !ok {
			return 0, nil, unprocessable("no free network is left for a VPC")
		}
		prefix = p
	} else {
		p, err := s.checkIPRange(body.IPRange)
		if err != nil {
			return 0, nil, err
		}
		prefix = p
	}
	v := newVPC(body.Name, body.Region, prefix, s.now())
	v.Description = body.Description
	s.vpcs[v.ID] = v
	return http.StatusCreated, map[string]any{"vpc": v}, nil
}

func (s *Simulator) getVPC(r *request) (int, any, *apiError) {
	v, ok := s.vpcs[r.params["vpc_id"]]
	if !ok {
		return 0, nil, notFound()
	}
	return http.StatusOK, map[string]any{"vpc": v}, nil
}

func (s *Simulator) listVPCs(r *request) (int, any, *apiError) {
	var out []*vpc
	for _, v := range s.vpcs {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedAt != out[j].CreatedAt {
			return out[i].CreatedAt < out[j].CreatedAt
		}
		return out[i].Name < out[j].Name
	})
	page, l, m, err := pageOf(r, out)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"vpcs": page, "links": l, "meta": m}, nil
}

type vpcChange struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Default     *bool   `json:"default"`
}

func (s *Simulator) updateVPC(r *request) (int, any, *apiError) {
	return s.changeVPC(r, true)
}

func (s *Simulator) patchVPC(r *request) (int, any, *apiError) {
	return s.changeVPC(r, false)
}

// changeVPC is PUT (name required) and PATCH. Making a VPC the default
// takes the flag from the region's current default; a default VPC stops
// being one only that way.
func (s *Simulator) changeVPC(r *request, put bool) (int, any, *apiError) {
	v, ok := s.vpcs[r.params["vpc_id"]]
	if !ok {
		return 0, nil, notFound()
	}
	var body vpcChange
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	if put && body.Name == nil {
		return 0, nil, unprocessable("name is required")
	}
	if body.Name != nil {
		if err := s.checkVPCName(*body.Name, v.ID); err != nil {
			return 0, nil, err
		}
	}
	if body.Description != nil && len(*body.Description) > 255 {
		return 0, nil, unprocessable("description must be at most 255 characters")
	}
	if body.Default != nil && !*body.Default && v.Default {
		return 0, nil, unprocessable("a region's default VPC stays the default until another VPC is made the default")
	}
	if body.Name != nil {
		v.Name = *body.Name
	}
	if body.Description != nil {
		v.Description = *body.Description
	}
	if body.Default != nil && *body.Default && !v.Default {
		if old := s.defaultVPC(v.Region); old != nil {
			old.Default = false
		}
		v.Default = true
	}
	return http.StatusOK, map[string]any{"vpc": v}, nil
}

type vpcMember struct {
	URN       string `json:"urn"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

// members lists the VPC's droplets and load balancers, optionally of one
// resource type.
func (s *Simulator) members(v *vpc, resourceType string) []vpcMember {
	var out []vpcMember
	if resourceType == "" || resourceType == "droplet" {
		for _, d := range s.droplets {
			if d.VPCUUID == v.ID {
				out = append(out, vpcMember{URN: d.urn(), Name: d.Name, CreatedAt: d.CreatedAt})
			}
		}
	}
	if resourceType == "" || resourceType == "load_balancer" {
		for _, lb := range s.lbs {
			if lb.VPCUUID == v.ID {
				out = append(out, vpcMember{URN: "do:loadbalancer:" + lb.ID, Name: lb.Name, CreatedAt: lb.CreatedAt})
			}
		}
	}
	for _, m := range s.leaving {
		if m.vpcID == v.ID && (resourceType == "" || resourceType == m.resourceType) {
			out = append(out, m.vpcMember)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// leavingMember is a deleted droplet or load balancer that is still a
// member of its VPC until Config.VPCReleaseDelay has passed: deleting
// the VPC right after its last resource fails with 403 for a while.
type leavingMember struct {
	vpcMember
	vpcID, resourceType string
	until               time.Time
}

// leave notes a deleted resource's departure from its VPC.
func (s *Simulator) leave(vpcID, resourceType string, m vpcMember) {
	if s.cfg.VPCReleaseDelay > 0 {
		s.leaving = append(s.leaving, leavingMember{vpcMember: m, vpcID: vpcID, resourceType: resourceType, until: s.now().Add(s.cfg.VPCReleaseDelay)})
	}
}

func (s *Simulator) listVPCMembers(r *request) (int, any, *apiError) {
	v, ok := s.vpcs[r.params["vpc_id"]]
	if !ok {
		return 0, nil, notFound()
	}
	page, l, m, err := pageOf(r, s.members(v, r.query.Get("resource_type")))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"members": page, "links": l, "meta": m}, nil
}

func (s *Simulator) deleteVPC(r *request) (int, any, *apiError) {
	v, ok := s.vpcs[r.params["vpc_id"]]
	if !ok {
		return 0, nil, notFound()
	}
	if v.Default {
		return 0, nil, forbidden("Can not delete default VPC")
	}
	if len(s.members(v, "")) > 0 {
		return 0, nil, forbidden("Can not delete VPC with members")
	}
	delete(s.vpcs, v.ID)
	return http.StatusNoContent, nil, nil
}
