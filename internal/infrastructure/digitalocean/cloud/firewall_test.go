package cloud

import (
	"slices"
	"testing"

	"github.com/digitalocean/godo"
)

func TestFirewallRules(t *testing.T) {
	cl := Cluster{Namespace: "default", Name: "prod", Region: "nyc3"}
	req := firewallRequest(cl, FirewallRules{APIServerPort: 6443, VPCIPRange: "10.10.0.0/20"})
	find := func(protocol, ports string) *godo.InboundRule {
		for _, r := range req.InboundRules {
			if r.Protocol == protocol && r.PortRange == ports {
				return &r
			}
		}
		return nil
	}
	if api := find("tcp", "6443"); api == nil || !slices.Equal(api.Sources.Addresses, []string{"0.0.0.0/0", "::/0", "10.10.0.0/20"}) {
		t.Errorf("API server rule %+v, want everywhere by default", api)
	}
	if find("tcp", "22") != nil {
		t.Error("SSH open without sources")
	}
	for _, ports := range []string{"10250", "30000-32767"} {
		if r := find("tcp", ports); r == nil || !slices.Equal(r.Sources.Addresses, []string{"10.10.0.0/20"}) {
			t.Errorf("tcp %s rule %+v, want the VPC only", ports, r)
		}
	}
	if r := find("tcp", "0"); r == nil || !slices.Equal(r.Sources.Tags, []string{cl.Tag()}) {
		t.Errorf("droplets not open to each other: %+v", r)
	}
	if len(req.OutboundRules) != 3 || !slices.Equal(req.Tags, []string{cl.Tag()}) {
		t.Errorf("outbound %+v, tags %v", req.OutboundRules, req.Tags)
	}

	restricted := firewallRequest(cl, FirewallRules{APIServerPort: 443, APIServerSources: []string{"203.0.113.0/24"}, SSHSources: []string{"198.51.100.7"},
		VPCIPRange: "10.10.0.0/20"})
	if api := restricted.InboundRules[0]; api.PortRange != "443" || !slices.Equal(api.Sources.Addresses, []string{"203.0.113.0/24", "10.10.0.0/20"}) {
		t.Errorf("restricted API server rule %+v", api)
	}
	if ssh := restricted.InboundRules[len(restricted.InboundRules)-1]; ssh.PortRange != "22" || !slices.Equal(ssh.Sources.Addresses, []string{"198.51.100.7"}) {
		t.Errorf("SSH rule %+v", ssh)
	}
}

// A firewall as DigitalOcean returns it (rules in another order, all
// ports written otherwise) has the same rules; one with other sources
// does not.
func TestSameRules(t *testing.T) {
	cl := Cluster{Namespace: "default", Name: "prod", Region: "nyc3"}
	want := firewallRequest(cl, FirewallRules{APIServerPort: 6443, VPCIPRange: "10.10.0.0/20"})
	fw := &godo.Firewall{Tags: want.Tags, OutboundRules: want.OutboundRules}
	for i := len(want.InboundRules) - 1; i >= 0; i-- {
		r := want.InboundRules[i]
		if r.PortRange == "0" {
			r.PortRange = "all"
		}
		if r.Protocol == "icmp" {
			r.PortRange = ""
		}
		fw.InboundRules = append(fw.InboundRules, r)
	}
	if !sameRules(fw, want) {
		t.Error("reordered rules differ")
	}
	other := firewallRequest(cl, FirewallRules{APIServerPort: 6443, APIServerSources: []string{"203.0.113.0/24"}, VPCIPRange: "10.10.0.0/20"})
	if sameRules(fw, other) {
		t.Error("rules with other sources are the same")
	}
}
