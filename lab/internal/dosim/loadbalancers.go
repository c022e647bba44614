package dosim

import (
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

var lbNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]*$`)

type forwardingRule struct {
	EntryProtocol  string `json:"entry_protocol"`
	EntryPort      int    `json:"entry_port"`
	TargetProtocol string `json:"target_protocol"`
	TargetPort     int    `json:"target_port"`
	CertificateID  string `json:"certificate_id,omitempty"`
	TLSPassthrough bool   `json:"tls_passthrough"`
}

type healthCheck struct {
	Protocol               string `json:"protocol"`
	Port                   int    `json:"port"`
	Path                   string `json:"path"`
	CheckIntervalSeconds   int    `json:"check_interval_seconds"`
	ResponseTimeoutSeconds int    `json:"response_timeout_seconds"`
	UnhealthyThreshold     int    `json:"unhealthy_threshold"`
	HealthyThreshold       int    `json:"healthy_threshold"`
}

type stickySessions struct {
	Type             string `json:"type"`
	CookieName       string `json:"cookie_name,omitempty"`
	CookieTTLSeconds int    `json:"cookie_ttl_seconds,omitempty"`
}

type lbFirewall struct {
	Allow []string `json:"allow"`
	Deny  []string `json:"deny"`
}

type loadBalancer struct {
	ID                           string           `json:"id"`
	Name                         string           `json:"name"`
	IP                           string           `json:"ip"`
	SizeUnit                     int              `json:"size_unit"`
	Size                         string           `json:"size,omitempty"`
	Type                         string           `json:"type"`
	Algorithm                    string           `json:"algorithm"`
	Status                       string           `json:"status"`
	CreatedAt                    string           `json:"created_at"`
	ForwardingRules              []forwardingRule `json:"forwarding_rules"`
	HealthCheck                  healthCheck      `json:"health_check"`
	StickySessions               stickySessions   `json:"sticky_sessions"`
	Region                       region           `json:"region"`
	Tag                          string           `json:"tag"`
	DropletIDs                   []int            `json:"droplet_ids"`
	Tags                         []string         `json:"tags,omitempty"`
	RedirectHTTPToHTTPS          bool             `json:"redirect_http_to_https"`
	EnableProxyProtocol          bool             `json:"enable_proxy_protocol"`
	EnableBackendKeepalive       bool             `json:"enable_backend_keepalive"`
	HTTPIdleTimeoutSeconds       int              `json:"http_idle_timeout_seconds"`
	VPCUUID                      string           `json:"vpc_uuid"`
	DisableLetsEncryptDNSRecords bool             `json:"disable_lets_encrypt_dns_records"`
	Firewall                     lbFirewall       `json:"firewall"`
	Network                      string           `json:"network"`
	NetworkStack                 string           `json:"network_stack"`
	TLSCipherPolicy              string           `json:"tls_cipher_policy"`

	created time.Time
	// targets are the droplets the load balancer sends to, with when each
	// became one: health checks start then.
	targets map[int]time.Time
}

type healthCheckBody struct {
	Protocol               string `json:"protocol"`
	Port                   *int   `json:"port"`
	Path                   string `json:"path"`
	CheckIntervalSeconds   *int   `json:"check_interval_seconds"`
	ResponseTimeoutSeconds *int   `json:"response_timeout_seconds"`
	UnhealthyThreshold     *int   `json:"unhealthy_threshold"`
	HealthyThreshold       *int   `json:"healthy_threshold"`
}

type lbBody struct {
	Name                         string           `json:"name"`
	Region                       string           `json:"region"`
	Size                         string           `json:"size"`
	SizeUnit                     *int             `json:"size_unit"`
	Type                         string           `json:"type"`
	Algorithm                    string           `json:"algorithm"`
	ForwardingRules              []forwardingRule `json:"forwarding_rules"`
	HealthCheck                  *healthCheckBody `json:"health_check"`
	StickySessions               *stickySessions  `json:"sticky_sessions"`
	DropletIDs                   []int            `json:"droplet_ids"`
	Tag                          string           `json:"tag"`
	Tags                         []string         `json:"tags"`
	RedirectHTTPToHTTPS          bool             `json:"redirect_http_to_https"`
	EnableProxyProtocol          bool             `json:"enable_proxy_protocol"`
	EnableBackendKeepalive       bool             `json:"enable_backend_keepalive"`
	VPCUUID                      string           `json:"vpc_uuid"`
	SubnetUUID                   string           `json:"subnet_uuid"`
	DisableLetsEncryptDNSRecords *bool            `json:"disable_lets_encrypt_dns_records"`
	HTTPIdleTimeoutSeconds       *int             `json:"http_idle_timeout_seconds"`
	Firewall                     *lbFirewall      `json:"firewall"`
	Network                      string           `json:"network"`
	NetworkStack                 string           `json:"network_stack"`
	TLSCipherPolicy              string           `json:"tls_cipher_policy"`
	IP                           string           `json:"ip"`
	Domains                      []any            `json:"domains"`
	GLBSettings                  any              `json:"glb_settings"`
	TargetLoadBalancerIDs        []string         `json:"target_load_balancer_ids"`
}

// oneOf checks an enumerated field, filling in its default.
func oneOf(field string, v *string, def string, allowed ...string) *apiError {
	if *v == "" {
		*v = def
	}
	if !slices.Contains(allowed, *v) {
		return unprocessable("%s %q is invalid: use one of %s", field, *v, strings.Join(allowed, ", "))
	}
	return nil
}

func between(field string, v, lo, hi int) *apiError {
	if v < lo || v > hi {
		return unprocessable("%s must be between %d and %d, not %d", field, lo, hi, v)
	}
	return nil
}

// checkForwardingRules applies the rules' protocol pairs: TCP and UDP
// forward to themselves, the HTTP family to HTTP, HTTPS or HTTP/2; an
// encrypted entry needs a certificate (the lab's account has none) or
// TLS passthrough to HTTPS.
func checkForwardingRules(rules []forwardingRule, lbType string) *apiError {
	if len(rules) == 0 {
		return unprocessable("forwarding_rules must contain at least one rule")
	}
	seen := map[string]bool{}
	for _, fr := range rules {
		if err := oneOf("entry_protocol", &fr.EntryProtocol, "", "http", "https", "http2", "http3", "tcp", "udp"); err != nil {
			return err
		}
		if err := oneOf("target_protocol", &fr.TargetProtocol, "", "http", "https", "http2", "tcp", "udp"); err != nil {
			return err
		}
		if err := between("entry_port", fr.EntryPort, 1, 65535); err != nil {
			return err
		}
		if err := between("target_port", fr.TargetPort, 1, 65535); err != nil {
			return err
		}
		l4 := fr.EntryProtocol == "tcp" || fr.EntryProtocol == "udp"
		switch {
		case l4 && fr.TargetProtocol != fr.EntryProtocol:
			return unprocessable("a %s forwarding rule must target %s, not %s", fr.EntryProtocol, fr.EntryProtocol, fr.TargetProtocol)
		case !l4 && (fr.TargetProtocol == "tcp" || fr.TargetProtocol == "udp"):
			return unprocessable("a %s forwarding rule must target http, https or http2, not %s", fr.EntryProtocol, fr.TargetProtocol)
		case lbType == "REGIONAL_NETWORK" && !l4:
			return unprocessable("a REGIONAL_NETWORK load balancer forwards tcp and udp only, not %s", fr.EntryProtocol)
		case fr.TLSPassthrough && (fr.EntryProtocol != "https" || fr.TargetProtocol != "https"):
			return unprocessable("tls_passthrough needs an https entry and target")
		case fr.TLSPassthrough && fr.CertificateID != "":
			return unprocessable("certificate_id and tls_passthrough are mutually exclusive")
		case fr.CertificateID != "":
			return unprocessable("certificate %s not found", fr.CertificateID)
		case !l4 && fr.EntryProtocol != "http" && !fr.TLSPassthrough:
			return unprocessable("a %s forwarding rule needs a certificate_id or tls_passthrough", fr.EntryProtocol)
		}
		key := fmt.Sprintf("%s/%d", map[bool]string{true: "udp", false: "tcp"}[fr.EntryProtocol == "udp"], fr.EntryPort)
		if seen[key] {
			return unprocessable("two forwarding rules use the entry port %d", fr.EntryPort)
		}
		seen[key] = true
	}
	return nil
}

// healthCheckOf fills in the API's defaults (http on port 80, path /,
// every 10 s, 5 s timeout, 5 failures unhealthy, 3 successes healthy)
// and applies its bounds.
func healthCheckOf(b *healthCheckBody) (healthCheck, *apiError) {
	hc := healthCheck{Protocol: "http", Port: 80, Path: "/", CheckIntervalSeconds: 10, ResponseTimeoutSeconds: 5, UnhealthyThreshold: 5, HealthyThreshold: 3}
	if b == nil {
		return hc, nil
	}
	if b.Protocol != "" {
		hc.Protocol = b.Protocol
	}
	if err := oneOf("health_check.protocol", &hc.Protocol, "http", "http", "https", "tcp"); err != nil {
		return hc, err
	}
	for _, f := range []struct {
		in  *int
		out *int
	}{{b.Port, &hc.Port}, {b.CheckIntervalSeconds, &hc.CheckIntervalSeconds}, {b.ResponseTimeoutSeconds, &hc.ResponseTimeoutSeconds},
		{b.UnhealthyThreshold, &hc.UnhealthyThreshold}, {b.HealthyThreshold, &hc.HealthyThreshold}} {
		if f.in != nil && *f.in != 0 {
			*f.out = *f.in
		}
	}
	if b.Path != "" {
		hc.Path = b.Path
	}
	if hc.Protocol == "tcp" {
		hc.Path = ""
	} else if !strings.HasPrefix(hc.Path, "/") {
		return hc, unprocessable("health_check.path %q must start with /", hc.Path)
	}
	for _, c := range []struct {
		field     string
		v, lo, hi int
	}{{"health_check.port", hc.Port, 1, 65535}, {"health_check.check_interval_seconds", hc.CheckIntervalSeconds, 3, 300},
		{"health_check.response_timeout_seconds", hc.ResponseTimeoutSeconds, 3, 300},
		{"health_check.unhealthy_threshold", hc.UnhealthyThreshold, 2, 10}, {"health_check.healthy_threshold", hc.HealthyThreshold, 2, 10}} {
		if err := between(c.field, c.v, c.lo, c.hi); err != nil {
			return hc, err
		}
	}
	return hc, nil
}

func checkLBFirewall(f *lbFirewall) (lbFirewall, *apiError) {
	out := lbFirewall{Allow: []string{}, Deny: []string{}}
	if f == nil {
		return out, nil
	}
	for _, list := range []struct {
		in  []string
		out *[]string
	}{{f.Allow, &out.Allow}, {f.Deny, &out.Deny}} {
		for _, rule := range list.in {
			kind, value, _ := strings.Cut(rule, ":")
			var err error
			switch kind {
			case "ip":
				_, err = netip.ParseAddr(value)
			case "cidr":
				_, err = netip.ParsePrefix(value)
			default:
				err = fmt.Errorf("unknown kind")
			}
			if err != nil {
				return out, unprocessable("firewall rule %q is invalid: use ip:<address> or cidr:<block>", rule)
			}
			*list.out = append(*list.out, rule)
		}
	}
	return out, nil
}

// checkTargets applies the rules for a load balancer's droplets: IDs or a
// tag, not both; droplets that exist, in its region and VPC.
func (s *Simulator) checkTargets(ids []int, tagName string, regionSlug, vpcID string) *apiError {
	if len(ids) > 0 && tagName != "" {
		return unprocessable("droplet_ids and tag are mutually exclusive: set one of them")
	}
	for _, id := range ids {
		d, ok := s.droplets[id]
		switch {
		case !ok:
			return unprocessable("droplet %d not found", id)
		case d.Region.Slug != regionSlug:
			return unprocessable("droplet %d is in %s, not in the load balancer's region %s", id, d.Region.Slug, regionSlug)
		case d.VPCUUID != vpcID:
			return unprocessable("droplet %d is not in the load balancer's VPC %s", id, vpcID)
		}
	}
	return nil
}

// buildLoadBalancer validates a create or full update and returns the
// load balancer it describes; old is the one an update replaces.
func (s *Simulator) buildLoadBalancer(b *lbBody, old *loadBalancer) (*loadBalancer, *apiError) {
	if b.Name == "" || len(b.Name) > 255 || !lbNamePattern.MatchString(b.Name) {
		return nil, unprocessable("name %q is invalid: letters, numbers, periods and dashes, starting with a letter or number", b.Name)
	}
	if err := oneOf("type", &b.Type, "REGIONAL", "REGIONAL", "REGIONAL_NETWORK", "GLOBAL"); err != nil {
		return nil, err
	}
	if b.Type == "GLOBAL" || len(b.Domains) > 0 || b.GLBSettings != nil || len(b.TargetLoadBalancerIDs) > 0 {
		return nil, unprocessable("the lab's account has no global load balancers")
	}
	if b.IP != "" {
		return nil, unprocessable("ip %s is not a BYOIP address of the account", b.IP)
	}
	if b.SubnetUUID != "" {
		return nil, unprocessable("subnet %s not found", b.SubnetUUID)
	}
	reg, ok := findRegion(b.Region)
	if !ok || !reg.Available {
		return nil, unprocessable("region %q is not available", b.Region)
	}
	if old != nil && old.Region.Slug != reg.Slug {
		return nil, unprocessable("the region of a load balancer cannot be changed")
	}
	sizeUnit := 1
	switch {
	case b.Size != "" && b.SizeUnit != nil:
		return nil, unprocessable("size and size_unit are mutually exclusive")
	case b.Size != "":
		if err := oneOf("size", &b.Size, "", "lb-small", "lb-medium", "lb-large"); err != nil {
			return nil, err
		}
	case b.SizeUnit != nil:
		if err := between("size_unit", *b.SizeUnit, 1, 100); err != nil {
			return nil, err
		}
		sizeUnit = *b.SizeUnit
	}
	if err := oneOf("algorithm", &b.Algorithm, "round_robin", "round_robin", "least_connections"); err != nil {
		return nil, err
	}
	if err := checkForwardingRules(b.ForwardingRules, b.Type); err != nil {
		return nil, err
	}
	hc, err := healthCheckOf(b.HealthCheck)
	if err != nil {
		return nil, err
	}
	sticky := stickySessions{Type: "none"}
	if b.StickySessions != nil {
		sticky = *b.StickySessions
		if err := oneOf("sticky_sessions.type", &sticky.Type, "none", "none", "cookies"); err != nil {
			return nil, err
		}
		if sticky.Type == "cookies" && (sticky.CookieName == "" || sticky.CookieTTLSeconds < 1) {
			return nil, unprocessable("cookie sticky sessions need cookie_name and cookie_ttl_seconds")
		}
	}
	idle := 60
	if b.HTTPIdleTimeoutSeconds != nil {
		if err := between("http_idle_timeout_seconds", *b.HTTPIdleTimeoutSeconds, 30, 600); err != nil {
			return nil, err
		}
		idle = *b.HTTPIdleTimeoutSeconds
	}
	fw, err := checkLBFirewall(b.Firewall)
	if err != nil {
		return nil, err
	}
	for _, e := range []struct {
		field string
		v     *string
		def   string
		allow []string
	}{{"network", &b.Network, "EXTERNAL", []string{"EXTERNAL", "INTERNAL"}}, {"network_stack", &b.NetworkStack, "IPV4", []string{"IPV4", "DUALSTACK"}},
		{"tls_cipher_policy", &b.TLSCipherPolicy, "DEFAULT", []string{"DEFAULT", "STRONG"}}} {
		if err := oneOf(e.field, e.v, e.def, e.allow...); err != nil {
			return nil, err
		}
	}
	var v *vpc
	if b.VPCUUID == "" {
		v = s.defaultVPC(reg.Slug)
		if old != nil {
			v = s.vpcs[old.VPCUUID]
		}
	} else if v, ok = s.vpcs[b.VPCUUID]; !ok {
		return nil, unprocessable("VPC %s could not be found", b.VPCUUID)
	}
	switch {
	case v == nil:
		return nil, unprocessable("VPC %s could not be found", b.VPCUUID)
	case v.Region != reg.Slug:
		return nil, unprocessable("VPC %s is in %s, not in the load balancer's region %s", v.ID, v.Region, reg.Slug)
	case old != nil && v.ID != old.VPCUUID:
		return nil, unprocessable("the VPC of a load balancer cannot be changed")
	}
	if err := s.checkTargets(b.DropletIDs, b.Tag, reg.Slug, v.ID); err != nil {
		return nil, err
	}
	if b.Tag != "" {
		if b.Tag, err = s.ensureTag(b.Tag); err != nil {
			return nil, err
		}
	}
	var tags []string
	for _, t := range b.Tags {
		name, err := s.ensureTag(t)
		if err != nil {
			return nil, err
		}
		tags = append(tags, name)
	}
	lb := &loadBalancer{Name: b.Name, SizeUnit: sizeUnit, Size: b.Size, Type: b.Type, Algorithm: b.Algorithm,
		ForwardingRules: slices.Clone(b.ForwardingRules), HealthCheck: hc, StickySessions: sticky, Region: reg, Tag: b.Tag,
		DropletIDs: uniqueInts(b.DropletIDs), Tags: tags, RedirectHTTPToHTTPS: b.RedirectHTTPToHTTPS,
		EnableProxyProtocol: b.EnableProxyProtocol, EnableBackendKeepalive: b.EnableBackendKeepalive, HTTPIdleTimeoutSeconds: idle,
		VPCUUID: v.ID, Firewall: fw, Network: b.Network, NetworkStack: b.NetworkStack, TLSCipherPolicy: b.TLSCipherPolicy}
	if b.DisableLetsEncryptDNSRecords != nil {
		lb.DisableLetsEncryptDNSRecords = *b.DisableLetsEncryptDNSRecords
	}
	return lb, nil
}

func (s *Simulator) createLoadBalancer(r *request) (int, any, *apiError) {
	var body lbBody
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	lb, err := s.buildLoadBalancer(&body, nil)
	if err != nil {
		return 0, nil, err
	}
	lb.ID, lb.Status, lb.CreatedAt, lb.created, lb.targets = newUUID(), "new", timestamp(s.now()), s.now(), map[int]time.Time{}
	s.lbs[lb.ID] = lb
	// The answer goes out before the IP is assigned, however short the
	// delay: clients must wait for it.
	view := *lb
	return http.StatusAccepted, map[string]any{"load_balancer": &view}, nil
}

// loadBalancerIP is a new load balancer's address.
func (s *Simulator) loadBalancerIP() string {
	if s.LoadBalancerAddress != nil {
		return s.LoadBalancerAddress()
	}
	return s.publicAddress()
}

func (s *Simulator) loadBalancer(r *request) (*loadBalancer, *apiError) {
	lb, ok := s.lbs[r.params["lb_id"]]
	if !ok {
		return nil, notFound()
	}
	return lb, nil
}

func (s *Simulator) getLoadBalancer(r *request) (int, any, *apiError) {
	lb, err := s.loadBalancer(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"load_balancer": lb}, nil
}

// listLoadBalancers filters by names or uuids (comma-separated), as
// godo's ListByNames and ListByUUIDs ask.
func (s *Simulator) listLoadBalancers(r *request) (int, any, *apiError) {
	split := func(v string) []string {
		if v == "" {
			return nil
		}
		return strings.Split(v, ",")
	}
	names, uuids := split(r.query.Get("names")), split(r.query.Get("uuids"))
	var out []*loadBalancer
	for _, lb := range s.lbs {
		if (names != nil && !slices.Contains(names, lb.Name)) || (uuids != nil && !slices.Contains(uuids, lb.ID)) {
			continue
		}
		out = append(out, lb)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].created.Equal(out[j].created) {
			return out[i].created.Before(out[j].created)
		}
		return out[i].ID < out[j].ID
	})
	page, l, m, err := pageOf(r, out)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"load_balancers": page, "links": l, "meta": m}, nil
}

// updateLoadBalancer replaces the whole configuration; the ID, IP,
// status and creation time stay.
func (s *Simulator) updateLoadBalancer(r *request) (int, any, *apiError) {
	old, err := s.loadBalancer(r)
	if err != nil {
		return 0, nil, err
	}
	var body lbBody
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	lb, err := s.buildLoadBalancer(&body, old)
	if err != nil {
		return 0, nil, err
	}
	lb.ID, lb.IP, lb.Status, lb.CreatedAt, lb.created, lb.targets = old.ID, old.IP, old.Status, old.CreatedAt, old.created, old.targets
	s.lbs[lb.ID] = lb
	return http.StatusOK, map[string]any{"load_balancer": lb}, nil
}

func (s *Simulator) deleteLoadBalancer(r *request) (int, any, *apiError) {
	lb, err := s.loadBalancer(r)
	if err != nil {
		return 0, nil, err
	}
	delete(s.lbs, lb.ID)
	s.leave(lb.VPCUUID, "load_balancer", vpcMember{URN: "do:loadbalancer:" + lb.ID, Name: lb.Name, CreatedAt: lb.CreatedAt})
	s.forget(0, lb.ID)
	if ip := lb.IP; ip != "" {
		if cb := s.OnLoadBalancerDeleted; cb != nil {
			// After the health report that the deletion causes.
			s.pendingAfterHealth = append(s.pendingAfterHealth, func() { cb(ip) })
		}
	}
	return http.StatusNoContent, nil, nil
}

func (s *Simulator) lbDropletsBody(r *request) (*loadBalancer, []int, *apiError) {
	lb, err := s.loadBalancer(r)
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
		return nil, nil, unprocessable("droplet_ids must not be empty")
	}
	if lb.Tag != "" {
		return nil, nil, unprocessable("the load balancer targets the tag %s: droplets join it by that tag, not by ID", lb.Tag)
	}
	return lb, body.DropletIDs, nil
}

func (s *Simulator) addLoadBalancerDroplets(r *request) (int, any, *apiError) {
	lb, ids, err := s.lbDropletsBody(r)
	if err != nil {
		return 0, nil, err
	}
	if err := s.checkTargets(ids, "", lb.Region.Slug, lb.VPCUUID); err != nil {
		return 0, nil, err
	}
	lb.DropletIDs = uniqueInts(append(lb.DropletIDs, ids...))
	return http.StatusNoContent, nil, nil
}

func (s *Simulator) removeLoadBalancerDroplets(r *request) (int, any, *apiError) {
	lb, ids, err := s.lbDropletsBody(r)
	if err != nil {
		return 0, nil, err
	}
	lb.DropletIDs = slices.DeleteFunc(lb.DropletIDs, func(id int) bool { return slices.Contains(ids, id) })
	return http.StatusNoContent, nil, nil
}

func (s *Simulator) forwardingRulesBody(r *request) (*loadBalancer, []forwardingRule, *apiError) {
	lb, err := s.loadBalancer(r)
	if err != nil {
		return nil, nil, err
	}
	var body struct {
		ForwardingRules []forwardingRule `json:"forwarding_rules"`
	}
	if err := r.decode(&body); err != nil {
		return nil, nil, err
	}
	if err := checkForwardingRules(body.ForwardingRules, lb.Type); err != nil {
		return nil, nil, err
	}
	return lb, body.ForwardingRules, nil
}

func (s *Simulator) addForwardingRules(r *request) (int, any, *apiError) {
	lb, rules, err := s.forwardingRulesBody(r)
	if err != nil {
		return 0, nil, err
	}
	merged := append(slices.Clone(lb.ForwardingRules), rules...)
	if err := checkForwardingRules(merged, lb.Type); err != nil {
		return 0, nil, err
	}
	lb.ForwardingRules = merged
	return http.StatusNoContent, nil, nil
}

func (s *Simulator) removeForwardingRules(r *request) (int, any, *apiError) {
	lb, rules, err := s.forwardingRulesBody(r)
	if err != nil {
		return 0, nil, err
	}
	kept := slices.DeleteFunc(slices.Clone(lb.ForwardingRules), func(fr forwardingRule) bool { return slices.Contains(rules, fr) })
	if len(kept) == 0 {
		return 0, nil, unprocessable("a load balancer keeps at least one forwarding rule")
	}
	lb.ForwardingRules = kept
	return http.StatusNoContent, nil, nil
}
