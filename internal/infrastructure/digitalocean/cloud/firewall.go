package cloud

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/digitalocean/godo"
)

// FirewallRules are what a cluster's cloud firewall opens.
type FirewallRules struct {
	APIServerPort int32
	// APIServerSources may reach the API server port; empty means
	// everywhere.
	APIServerSources []string
	// SSHSources may reach port 22; empty closes it.
	SSHSources []string
	// VPCIPRange is the cluster's VPC, from which the load balancer and
	// the nodes' neighbours come.
	VPCIPRange string
}

var everywhere = []string{"0.0.0.0/0", "::/0"}

// Port ranges of the rules. Kubernetes' NodePorts are what Service load
// balancers forward to.
const (
	allPorts     = "0" // DigitalOcean's "every port", and what ICMP rules carry
	kubeletPort  = "10250"
	nodePorts    = "30000-32767"
	sshPort      = "22"
	protocolTCP  = "tcp"
	protocolUDP  = "udp"
	protocolICMP = "icmp"
)

// firewallRequest is the cluster's firewall with rules. It applies to
// the droplets with the cluster's tag. DigitalOcean drops what no rule
// allows, outbound too, so outbound is opened explicitly.
func firewallRequest(cl Cluster, r FirewallRules) *godo.FirewallRequest {
	apiSources := r.APIServerSources
	if len(apiSources) == 0 {
		apiSources = everywhere
	}
	vpc := []string{r.VPCIPRange}
	cluster := &godo.Sources{Tags: []string{cl.Tag()}}
	inbound := []godo.InboundRule{
		{Protocol: protocolTCP, PortRange: strconv.Itoa(int(r.APIServerPort)), Sources: &godo.Sources{Addresses: union(apiSources, vpc)}},
		{Protocol: protocolTCP, PortRange: allPorts, Sources: cluster},
		{Protocol: protocolUDP, PortRange: allPorts, Sources: cluster},
		{Protocol: protocolICMP, PortRange: allPorts, Sources: cluster},
		{Protocol: protocolTCP, PortRange: kubeletPort, Sources: &godo.Sources{Addresses: vpc}},
		{Protocol: protocolTCP, PortRange: nodePorts, Sources: &godo.Sources{Addresses: vpc}},
		{Protocol: protocolUDP, PortRange: nodePorts, Sources: &godo.Sources{Addresses: vpc}},
	}
	if len(r.SSHSources) > 0 {
		inbound = append(inbound, godo.InboundRule{Protocol: protocolTCP, PortRange: sshPort, Sources: &godo.Sources{Addresses: union(r.SSHSources, nil)}})
	}
	out := &godo.Destinations{Addresses: everywhere}
	return &godo.FirewallRequest{
		Name:         cl.FirewallName(),
		InboundRules: inbound,
		OutboundRules: []godo.OutboundRule{
			{Protocol: protocolTCP, PortRange: allPorts, Destinations: out},
			{Protocol: protocolUDP, PortRange: allPorts, Destinations: out},
			{Protocol: protocolICMP, PortRange: allPorts, Destinations: out},
		},
		Tags: []string{cl.Tag()},
	}
}

// union is a and b without repeats, in order.
func union(a, b []string) []string {
	var out []string
	for _, s := range append(slices.Clone(a), b...) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// EnsureFirewall makes the cluster's firewall exist with rules and
// returns it, and what it did: "created", "updated" (rules that differ,
// such as after a change of the spec) or "".
func (c *Client) EnsureFirewall(ctx context.Context, cl Cluster, r FirewallRules) (*godo.Firewall, string, error) {
	want := firewallRequest(cl, r)
	fw, err := c.findFirewallByName(ctx, cl)
	if err != nil {
		return nil, "", err
	}
	if fw == nil {
		if err := c.ensureTag(ctx, cl.Tag()); err != nil {
			return nil, "", err
		}
		fw, _, err = c.godo.Firewalls.Create(withoutResend(ctx), want)
		if err != nil {
			return nil, "", fmt.Errorf("creating firewall %s: %w", want.Name, err)
		}
		return fw, "created", nil
	}
	if sameRules(fw, want) {
		return fw, "", nil
	}
	fw, _, err = c.godo.Firewalls.Update(ctx, fw.ID, want)
	if err != nil {
		return nil, "", fmt.Errorf("updating firewall %s: %w", want.Name, err)
	}
	return fw, "updated", nil
}

// findFirewallByName returns the cluster's firewall: the one of its name
// that applies to its tag, or nil.
func (c *Client) findFirewallByName(ctx context.Context, cl Cluster) (*godo.Firewall, error) {
	fws, err := listAll(ctx, c.godo.Firewalls.List)
	if err != nil {
		return nil, fmt.Errorf("listing firewalls: %w", err)
	}
	for _, fw := range fws {
		if fw.Name == cl.FirewallName() && slices.Contains(fw.Tags, cl.Tag()) {
			return &fw, nil
		}
	}
	return nil, nil
}

// DeleteFirewall deletes the cluster's firewall, if any, and says whether
// there was one.
func (c *Client) DeleteFirewall(ctx context.Context, cl Cluster) (bool, error) {
	fw, err := c.findFirewallByName(ctx, cl)
	if err != nil || fw == nil {
		return false, err
	}
	if _, err := c.godo.Firewalls.Delete(ctx, fw.ID); err != nil && !IsNotFound(err) {
		return false, fmt.Errorf("deleting firewall %s: %w", fw.ID, err)
	}
	return true, nil
}

// sameRules says whether fw has want's rules and tags, in any order.
func sameRules(fw *godo.Firewall, want *godo.FirewallRequest) bool {
	var have, wanted []string
	for _, r := range fw.InboundRules {
		have = append(have, ruleKey("in", r.Protocol, r.PortRange, (*godo.Destinations)(r.Sources)))
	}
	for _, r := range fw.OutboundRules {
		have = append(have, ruleKey("out", r.Protocol, r.PortRange, r.Destinations))
	}
	for _, r := range want.InboundRules {
		wanted = append(wanted, ruleKey("in", r.Protocol, r.PortRange, (*godo.Destinations)(r.Sources)))
	}
	for _, r := range want.OutboundRules {
		wanted = append(wanted, ruleKey("out", r.Protocol, r.PortRange, r.Destinations))
	}
	slices.Sort(have)
	slices.Sort(wanted)
	return slices.Equal(have, wanted) && slices.Equal(sorted(fw.Tags), sorted(want.Tags))
}

// ruleKey is a rule in one canonical string: all ports may be written
// "0", "1-65535" or not at all, and ICMP has none.
func ruleKey(direction, protocol, ports string, peers *godo.Destinations) string {
	switch {
	case protocol == protocolICMP:
		ports = ""
	case ports == "1-65535" || ports == "all" || ports == "":
		ports = allPorts
	}
	var p godo.Destinations
	if peers != nil {
		p = *peers
	}
	ids := make([]string, 0, len(p.DropletIDs))
	for _, id := range p.DropletIDs {
		ids = append(ids, strconv.Itoa(id))
	}
	return strings.Join([]string{direction, protocol, ports, strings.Join(sorted(p.Addresses), ","), strings.Join(sorted(p.Tags), ","),
		strings.Join(sorted(ids), ","), strings.Join(sorted(p.LoadBalancerUIDs), ","), strings.Join(sorted(p.KubernetesIDs), ",")}, "|")
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
