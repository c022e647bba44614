package dosim

import (
	"net/netip"
	"slices"
	"strings"
)

// LoadBalancerAdmits says whether a client at source (an IP address)
// gets through the firewall of the load balancer at ip: a deny rule that
// matches drops it, and a load balancer with allow rules admits only the
// sources they match. A load balancer without rules admits everyone, and
// an address that is no load balancer's is not the simulator's to judge.
func (s *Simulator) LoadBalancerAdmits(ip, source string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, lb := range s.lbs {
		if lb.IP == ip {
			return lb.Firewall.admits(source)
		}
	}
	return true
}

func (f lbFirewall) admits(source string) bool {
	addr, err := netip.ParseAddr(source)
	if err != nil {
		// A client without an address on the public network (a droplet
		// without public networking) never reaches a public IP.
		return false
	}
	matches := func(rule string) bool { return ruleMatches(rule, addr) }
	if slices.ContainsFunc(f.Deny, matches) {
		return false
	}
	return len(f.Allow) == 0 || slices.ContainsFunc(f.Allow, matches)
}

// ruleMatches says whether a rule of the form ip:<address> or
// cidr:<block> (the only ones the API accepts) matches addr.
func ruleMatches(rule string, addr netip.Addr) bool {
	kind, value, _ := strings.Cut(rule, ":")
	switch kind {
	case "ip":
		a, err := netip.ParseAddr(value)
		return err == nil && a.Unmap() == addr.Unmap()
	case "cidr":
		p, err := netip.ParsePrefix(value)
		return err == nil && p.Contains(addr.Unmap())
	}
	return false
}
