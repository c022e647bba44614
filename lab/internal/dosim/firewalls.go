package dosim

import (
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

var firewallNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]+$`)

// target is a rule's sources or destinations.
type target struct {
	Addresses        []string `json:"addresses,omitempty"`
	Tags             []string `json:"tags,omitempty"`
	DropletIDs       []int    `json:"droplet_ids,omitempty"`
	LoadBalancerUIDs []string `json:"load_balancer_uids,omitempty"`
	KubernetesIDs    []string `json:"kubernetes_ids,omitempty"`
}

type inboundRule struct {
	Protocol string  `json:"protocol"`
	Ports    string  `json:"ports"`
	Sources  *target `json:"sources"`
}

type outboundRule struct {
	Protocol     string  `json:"protocol"`
	Ports        string  `json:"ports"`
	Destinations *target `json:"destinations"`
}

type pendingChange struct {
	DropletID int    `json:"droplet_id"`
	Removing  bool   `json:"removing"`
	Status    string `json:"status"`
}

type firewall struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Status         string          `json:"status"`
	InboundRules   []inboundRule   `json:"inbound_rules"`
	OutboundRules  []outboundRule  `json:"outbound_rules"`
	CreatedAt      string          `json:"created_at"`
	DropletIDs     []int           `json:"droplet_ids"`
	Tags           []string        `json:"tags"`
	PendingChanges []pendingChange `json:"pending_changes"`

	// changed is when the firewall last changed: it is waiting until
	// the changes are applied.
	changed time.Time
}

type firewallBody struct {
	Name          string         `json:"name"`
	InboundRules  []inboundRule  `json:"inbound_rules"`
	OutboundRules []outboundRule `json:"outbound_rules"`
	DropletIDs    []int          `json:"droplet_ids"`
	Tags          []string       `json:"tags"`
}

// checkPorts normalizes a rule's ports: a port, a range N-M, or all
// ports ("0", or "all" as clients write it), shown as "0"; ICMP has none
// and always shows "0".
func checkPorts(protocol, ports string) (string, *apiError) {
	switch protocol {
	case "icmp":
		return "0", nil
	case "tcp", "udp":
	default:
		return "", badRequest("protocol %q is invalid: use tcp, udp or icmp", protocol)
	}
	switch ports {
	case "":
		return "", badRequest("ports are required for %s rules", protocol)
	case "0", "all":
		return "0", nil
	}
	from, to, isRange := strings.Cut(ports, "-")
	lo, err1 := strconv.Atoi(from)
	hi := lo
	var err2 error
	if isRange {
		hi, err2 = strconv.Atoi(to)
	}
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return "", badRequest("ports %q are invalid: use a port, a range such as 8000-9000, or all", ports)
	}
	return ports, nil
}

// checkTarget validates a rule's sources or destinations: at least one
// of them, addresses as IPs or CIDRs, and droplets, tags and load
// balancers that exist. The lab has no Kubernetes clusters.
func (s *Simulator) checkTarget(t *target, what string) *apiError {
	if t == nil || len(t.Addresses)+len(t.Tags)+len(t.DropletIDs)+len(t.LoadBalancerUIDs)+len(t.KubernetesIDs) == 0 {
		return badRequest("each rule needs at least one of the %s", what)
	}
	for _, a := range t.Addresses {
		if _, err := netip.ParsePrefix(a); err != nil {
			if _, err := netip.ParseAddr(a); err != nil {
				return badRequest("%s address %q is not an IP address or CIDR block", what, a)
			}
		}
	}
	for i, name := range t.Tags {
		canonical, err := s.existingTag(name)
		if err != nil {
			return badRequest("%s", err.Message)
		}
		t.Tags[i] = canonical
	}
	for _, id := range t.DropletIDs {
		if _, ok := s.droplets[id]; !ok {
			return badRequest("droplet %d not found", id)
		}
	}
	for _, id := range t.LoadBalancerUIDs {
		if _, ok := s.lbs[id]; !ok {
			return badRequest("load balancer %s not found", id)
		}
	}
	if len(t.KubernetesIDs) > 0 {
		return badRequest("kubernetes cluster %s not found", t.KubernetesIDs[0])
	}
	return nil
}

func (s *Simulator) checkRules(in []inboundRule, out []outboundRule) *apiError {
	for i := range in {
		ports, err := checkPorts(in[i].Protocol, in[i].Ports)
		if err != nil {
			return err
		}
		in[i].Ports = ports
		if err := s.checkTarget(in[i].Sources, "sources"); err != nil {
			return err
		}
	}
	for i := range out {
		ports, err := checkPorts(out[i].Protocol, out[i].Ports)
		if err != nil {
			return err
		}
		out[i].Ports = ports
		if err := s.checkTarget(out[i].Destinations, "destinations"); err != nil {
			return err
		}
	}
	return nil
}

func (s *Simulator) checkDropletIDs(ids []int) *apiError {
	for _, id := range ids {
		if _, ok := s.droplets[id]; !ok {
			return badRequest("droplet %d not found", id)
		}
	}
	return nil
}

func (s *Simulator) existingTags(names []string) ([]string, *apiError) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		canonical, err := s.existingTag(n)
		if err != nil {
			return nil, badRequest("%s", err.Message)
		}
		if !slices.Contains(out, canonical) {
			out = append(out, canonical)
		}
	}
	return out, nil
}

// checkFirewall validates a whole firewall, as create and update take it.
func (s *Simulator) checkFirewall(b *firewallBody) *apiError {
	if !firewallNamePattern.MatchString(b.Name) || len(b.Name) > 255 {
		return badRequest("name %q is invalid: letters, numbers, periods and dashes, starting with a letter or number", b.Name)
	}
	if len(b.InboundRules)+len(b.OutboundRules) == 0 {
		return badRequest("a firewall needs at least one inbound or outbound rule")
	}
	if err := s.checkRules(b.InboundRules, b.OutboundRules); err != nil {
		return err
	}
	if err := s.checkDropletIDs(b.DropletIDs); err != nil {
		return err
	}
	tags, err := s.existingTags(b.Tags)
	if err != nil {
		return err
	}
	b.Tags = tags
	return nil
}

func (f *firewall) set(b *firewallBody, now time.Time) {
	f.Name, f.InboundRules, f.OutboundRules = b.Name, orEmpty(b.InboundRules), orEmpty(b.OutboundRules)
	f.DropletIDs, f.Tags = uniqueInts(b.DropletIDs), orEmpty(b.Tags)
	f.touch(now)
}

// touch marks the firewall as changing.
func (f *firewall) touch(now time.Time) {
	f.Status, f.changed = "waiting", now
}

func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func uniqueInts(v []int) []int {
	out := []int{}
	for _, x := range v {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func (s *Simulator) createFirewall(r *request) (int, any, *apiError) {
	var body firewallBody
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	if err := s.checkFirewall(&body); err != nil {
		return 0, nil, err
	}
	f := &firewall{ID: newUUID(), CreatedAt: timestamp(s.now()), PendingChanges: []pendingChange{}}
	f.set(&body, s.now())
	s.firewalls[f.ID] = f
	return http.StatusAccepted, map[string]any{"firewall": f}, nil
}

func (s *Simulator) firewall(r *request) (*firewall, *apiError) {
	f, ok := s.firewalls[r.params["firewall_id"]]
	if !ok {
		return nil, notFound()
	}
	return f, nil
}

func (s *Simulator) getFirewall(r *request) (int, any, *apiError) {
	f, err := s.firewall(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"firewall": f}, nil
}

func sortedFirewalls(m map[string]*firewall, keep func(*firewall) bool) []*firewall {
	var out []*firewall
	for _, f := range m {
		if keep(f) {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedAt != out[j].CreatedAt {
			return out[i].CreatedAt < out[j].CreatedAt
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (s *Simulator) listFirewalls(r *request) (int, any, *apiError) {
	page, l, m, err := pageOf(r, sortedFirewalls(s.firewalls, func(*firewall) bool { return true }))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"firewalls": page, "links": l, "meta": m}, nil
}

// listDropletFirewalls lists the firewalls that apply to a droplet, by
// its ID or one of its tags.
func (s *Simulator) listDropletFirewalls(r *request) (int, any, *apiError) {
	d, err := s.droplet(r)
	if err != nil {
		return 0, nil, err
	}
	applies := func(f *firewall) bool {
		return slices.Contains(f.DropletIDs, d.ID) || slices.ContainsFunc(f.Tags, func(t string) bool { return hasTag(d.Tags, t) })
	}
	page, l, m, apiErr := pageOf(r, sortedFirewalls(s.firewalls, applies))
	if apiErr != nil {
		return 0, nil, apiErr
	}
	return http.StatusOK, map[string]any{"firewalls": page, "links": l, "meta": m}, nil
}

// updateFirewall replaces the whole firewall: what the body leaves out
// is removed.
func (s *Simulator) updateFirewall(r *request) (int, any, *apiError) {
	f, err := s.firewall(r)
	if err != nil {
		return 0, nil, err
	}
	var body firewallBody
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	if err := s.checkFirewall(&body); err != nil {
		return 0, nil, err
	}
	f.set(&body, s.now())
	return http.StatusOK, map[string]any{"firewall": f}, nil
}

func (s *Simulator) deleteFirewall(r *request) (int, any, *apiError) {
	f, err := s.firewall(r)
	if err != nil {
		return 0, nil, err
	}
	delete(s.firewalls, f.ID)
	return http.StatusNoContent, nil, nil
}

func (s *Simulator) firewallDropletsBody(r *request) (*firewall, []int, *apiError) {
	f, err := s.firewall(r)
	if err != nil {
		return nil, nil, err
	}
	var body struct {
		DropletIDs []int `json:"droplet_ids"`
	}
	if err := r.decode(&body); err != nil {
		return nil, nil, err
	}
	if len(body.DropletIDs) == 0 {
		return nil, nil, badRequest("droplet_ids must not be empty")
	}
	if err := s.checkDropletIDs(body.DropletIDs); err != nil {
		return nil, nil, err
	}
	return f, body.DropletIDs, nil
}

func (s *Simulator) addFirewallDroplets(r *request) (int, any, *apiError) {
	f, ids, err := s.firewallDropletsBody(r)
	if err != nil {
		return 0, nil, err
	}
	f.DropletIDs = uniqueInts(append(f.DropletIDs, ids...))
	f.touch(s.now())
	return http.StatusNoContent, nil, nil
}

func (s *Simulator) removeFirewallDroplets(r *request) (int, any, *apiError) {
	f, ids, err := s.firewallDropletsBody(r)
	if err != nil {
		return 0, nil, err
	}
	f.DropletIDs = slices.DeleteFunc(f.DropletIDs, func(id int) bool { return slices.Contains(ids, id) })
	f.touch(s.now())
	return http.StatusNoContent, nil, nil
}

func (s *Simulator) firewallTagsBody(r *request) (*firewall, []string, *apiError) {
	f, err := s.firewall(r)
	if err != nil {
		return nil, nil, err
	}
	var body struct {
		Tags []string `json:"tags"`
	}
	if err := r.decode(&body); err != nil {
		return nil, nil, err
	}
	if len(body.Tags) == 0 {
		return nil, nil, badRequest("tags must not be empty")
	}
	tags, err := s.existingTags(body.Tags)
	if err != nil {
		return nil, nil, err
	}
	return f, tags, nil
}

func (s *Simulator) addFirewallTags(r *request) (int, any, *apiError) {
	f, tags, err := s.firewallTagsBody(r)
	if err != nil {
		return 0, nil, err
	}
	for _, t := range tags {
		if !hasTag(f.Tags, t) {
			f.Tags = append(f.Tags, t)
		}
	}
	f.touch(s.now())
	return http.StatusNoContent, nil, nil
}

func (s *Simulator) removeFirewallTags(r *request) (int, any, *apiError) {
	f, tags, err := s.firewallTagsBody(r)
	if err != nil {
		return 0, nil, err
	}
	f.Tags = slices.DeleteFunc(f.Tags, func(t string) bool { return hasTag(tags, t) })
	f.touch(s.now())
	return http.StatusNoContent, nil, nil
}

func (s *Simulator) firewallRulesBody(r *request) (*firewall, *firewallBody, *apiError) {
	f, err := s.firewall(r)
	if err != nil {
		return nil, nil, err
	}
	var body firewallBody
	if err := r.decode(&body); err != nil {
		return nil, nil, err
	}
	if len(body.InboundRules)+len(body.OutboundRules) == 0 {
		return nil, nil, badRequest("inbound_rules or outbound_rules must not be empty")
	}
	if err := s.checkRules(body.InboundRules, body.OutboundRules); err != nil {
		return nil, nil, err
	}
	return f, &body, nil
}

func (s *Simulator) addFirewallRules(r *request) (int, any, *apiError) {
	f, body, err := s.firewallRulesBody(r)
	if err != nil {
		return 0, nil, err
	}
	for _, rule := range body.InboundRules {
		if !slices.ContainsFunc(f.InboundRules, func(o inboundRule) bool {
			return sameRule(o.Protocol, o.Ports, o.Sources, rule.Protocol, rule.Ports, rule.Sources)
		}) {
			f.InboundRules = append(f.InboundRules, rule)
		}
	}
	for _, rule := range body.OutboundRules {
		if !slices.ContainsFunc(f.OutboundRules, func(o outboundRule) bool {
			return sameRule(o.Protocol, o.Ports, o.Destinations, rule.Protocol, rule.Ports, rule.Destinations)
		}) {
			f.OutboundRules = append(f.OutboundRules, rule)
		}
	}
	f.touch(s.now())
	return http.StatusNoContent, nil, nil
}

func (s *Simulator) removeFirewallRules(r *request) (int, any, *apiError) {
	f, body, err := s.firewallRulesBody(r)
	if err != nil {
		return 0, nil, err
	}
	for _, rule := range body.InboundRules {
		f.InboundRules = slices.DeleteFunc(f.InboundRules, func(o inboundRule) bool {
			return sameRule(o.Protocol, o.Ports, o.Sources, rule.Protocol, rule.Ports, rule.Sources)
		})
	}
	for _, rule := range body.OutboundRules {
		f.OutboundRules = slices.DeleteFunc(f.OutboundRules, func(o outboundRule) bool {
			return sameRule(o.Protocol, o.Ports, o.Destinations, rule.Protocol, rule.Ports, rule.Destinations)
		})
	}
	f.touch(s.now())
	return http.StatusNoContent, nil, nil
}

func sameRule(p1, ports1 string, t1 *target, p2, ports2 string, t2 *target) bool {
	if p1 != p2 || ports1 != ports2 || (t1 == nil) != (t2 == nil) {
		return false
	}
	if t1 == nil {
		return true
	}
	return slices.Equal(t1.Addresses, t2.Addresses) && slices.Equal(t1.Tags, t2.Tags) && slices.Equal(t1.DropletIDs, t2.DropletIDs) &&
		slices.Equal(t1.LoadBalancerUIDs, t2.LoadBalancerUIDs) && slices.Equal(t1.KubernetesIDs, t2.KubernetesIDs)
}

// forget removes a deleted droplet or load balancer from every rule's
// sources and destinations, as DigitalOcean does.
func (s *Simulator) forget(dropletID int, lbID string) {
	drop := func(t *target) {
		if t == nil {
			return
		}
		t.DropletIDs = slices.DeleteFunc(t.DropletIDs, func(id int) bool { return id == dropletID })
		t.LoadBalancerUIDs = slices.DeleteFunc(t.LoadBalancerUIDs, func(id string) bool { return id == lbID })
	}
	for _, f := range s.firewalls {
		f.DropletIDs = slices.DeleteFunc(f.DropletIDs, func(id int) bool { return id == dropletID })
		for _, r := range f.InboundRules {
			drop(r.Sources)
		}
		for _, r := range f.OutboundRules {
			drop(r.Destinations)
		}
	}
}
