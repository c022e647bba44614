package awssim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
)

type elbTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type lbZone struct {
	ZoneName string `xml:"ZoneName"`
	SubnetID string `xml:"SubnetId"`
}

type loadBalancer struct {
	LoadBalancerArn       string   `xml:"LoadBalancerArn"`
	LoadBalancerName      string   `xml:"LoadBalancerName"`
	DNSName               string   `xml:"DNSName"`
	CanonicalHostedZoneID string   `xml:"CanonicalHostedZoneId"`
	CreatedTime           string   `xml:"CreatedTime"`
	Scheme                string   `xml:"Scheme"`
	VpcID                 string   `xml:"VpcId"`
	Type                  string   `xml:"Type"`
	IPAddressType         string   `xml:"IpAddressType"`
	State                 lbState  `xml:"State"`
	AvailabilityZones     []lbZone `xml:"AvailabilityZones>member"`
	SecurityGroups        []string `xml:"SecurityGroups>member"`
	tags                  []Tag
	created               time.Time
	deleted               time.Time
}

type lbState struct {
	Code string `xml:"Code"`
}

type targetGroup struct {
	TargetGroupArn             string   `xml:"TargetGroupArn"`
	TargetGroupName            string   `xml:"TargetGroupName"`
	Protocol                   string   `xml:"Protocol"`
	Port                       int      `xml:"Port"`
	VpcID                      string   `xml:"VpcId"`
	TargetType                 string   `xml:"TargetType"`
	HealthCheckProtocol        string   `xml:"HealthCheckProtocol"`
	HealthCheckPort            string   `xml:"HealthCheckPort"`
	HealthCheckEnabled         bool     `xml:"HealthCheckEnabled"`
	HealthCheckIntervalSeconds int      `xml:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int      `xml:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int      `xml:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int      `xml:"UnhealthyThresholdCount"`
	LoadBalancerArns           []string `xml:"LoadBalancerArns>member"`
	tags                       []Tag
	targets                    map[string]*target
	attributes                 map[string]string
}

// target is a registered target of a target group.
type target struct {
	port       int
	registered time.Time
}

type listenerAction struct {
	Type           string `xml:"Type"`
	TargetGroupArn string `xml:"TargetGroupArn"`
}

type listener struct {
	ListenerArn     string           `xml:"ListenerArn"`
	LoadBalancerArn string           `xml:"LoadBalancerArn"`
	Port            int              `xml:"Port"`
	Protocol        string           `xml:"Protocol"`
	DefaultActions  []listenerAction `xml:"DefaultActions>member"`
	tags            []Tag
}

func hex16() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func elbARN(region, resource string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s", region, accountID, resource)
}

func elbTags(p params) map[string]string {
	tags := map[string]string{}
	for _, t := range p.indexed("Tags.member") {
		tags[t.get("Key")] = t.get("Value")
	}
	return tags
}

func (s *Simulator) createLoadBalancer(p params, region string) (any, *apiError) {
	name := p.get("Name")
	if err := checkELBName("Load balancer", name); err != nil {
		return nil, err
	}
	subnetIDs := p.list("Subnets.member")
	if len(subnetIDs) == 0 {
		return nil, badRequest("ValidationError", "At least one subnet must be specified")
	}
	var zones []lbZone
	var vpcID string
	seenAZ := map[string]bool{}
	for _, id := range subnetIDs {
		sn, ok := s.subnets[id]
		if !ok {
			return nil, badRequest("SubnetNotFound", "The subnet ID '%s' is not valid", id)
		}
		if seenAZ[sn.AvailabilityZone] {
			return nil, badRequest("InvalidConfigurationRequest", "A load balancer cannot be attached to multiple subnets in the same Availability Zone")
		}
		seenAZ[sn.AvailabilityZone] = true
		vpcID = sn.VpcID
		zones = append(zones, lbZone{ZoneName: sn.AvailabilityZone, SubnetID: sn.SubnetID})
	}
	lbType := p.get("Type")
	if lbType == "" {
		lbType = "application"
	}
	scheme := p.get("Scheme")
	if scheme == "" {
		scheme = "internet-facing"
	}
	groups := p.list("SecurityGroups.member")
	for _, id := range groups {
		if _, ok := lookup(s, s.groups, id); !ok {
			return nil, badRequest("InvalidSecurityGroup", "The security group '%s' does not exist", id)
		}
	}
	// As in ELBv2, creating a load balancer that exists with the same
	// settings returns it; different settings are a conflict.
	for _, lb := range s.lbs {
		if lb.LoadBalancerName != name {
			continue
		}
		if lb.Type != lbType || lb.Scheme != scheme || len(lb.AvailabilityZones) != len(zones) {
			return nil, badRequest("DuplicateLoadBalancerName", "A load balancer with the same name '%s' exists, but with different settings", name)
		}
		return struct {
			LoadBalancers []*loadBalancer `xml:"LoadBalancers>member"`
		}{[]*loadBalancer{lb}}, nil
	}
	id := hex16()
	dnsName := fmt.Sprintf("%s-%s.elb.%s.amazonaws.com", name, id[:10], region)
	if s.LoadBalancerAddress != nil {
		dnsName = s.LoadBalancerAddress()
	}
	lb := &loadBalancer{
		LoadBalancerArn:  elbARN(region, fmt.Sprintf("loadbalancer/%s/%s/%s", shortType(lbType), name, id)),
		LoadBalancerName: name, DNSName: dnsName,
		CanonicalHostedZoneID: "Z26RNL4JYFTOTI", CreatedTime: s.now().UTC().Format(time.RFC3339), Scheme: scheme,
		VpcID: vpcID, Type: lbType, IPAddressType: "ipv4", State: lbState{Code: "provisioning"},
		AvailabilityZones: zones, SecurityGroups: groups, tags: tagList(elbTags(p)), created: s.now(),
	}
	s.lbs[lb.LoadBalancerArn] = lb
	s.advance()
	return struct {
		LoadBalancers []*loadBalancer `xml:"LoadBalancers>member"`
	}{[]*loadBalancer{lb}}, nil
}

func shortType(t string) string {
	switch t {
	case "network":
		return "net"
	case "application":
		return "app"
	}
	return "gwy"
}

func (s *Simulator) describeLoadBalancers(p params, _ string) (any, *apiError) {
	arns, names := p.list("LoadBalancerArns.member"), p.list("Names.member")
	var out []*loadBalancer
	switch {
	case len(arns) > 0:
		for _, arn := range arns {
			lb, ok := s.lbs[arn]
			if !ok || s.notYetVisible(lb.created) {
				return nil, badRequest("LoadBalancerNotFound", "One or more load balancers not found")
			}
			out = append(out, lb)
		}
	case len(names) > 0:
		for _, name := range names {
			var found *loadBalancer
			for _, lb := range s.lbs {
				if lb.LoadBalancerName == name && !s.notYetVisible(lb.created) {
					found = lb
				}
			}
			if found == nil {
				return nil, badRequest("LoadBalancerNotFound", "Load balancers '[%s]' not found", name)
			}
			out = append(out, found)
		}
	default:
		for _, arn := range keys(s.lbs) {
			out = append(out, s.lbs[arn])
		}
	}
	out, marker, err := pageELB(out, p, func(lb *loadBalancer) string { return lb.LoadBalancerArn })
	if err != nil {
		return nil, err
	}
	return struct {
		LoadBalancers []*loadBalancer `xml:"LoadBalancers>member"`
		NextMarker    string          `xml:"NextMarker,omitempty"`
	}{out, marker}, nil
}

func (s *Simulator) deleteLoadBalancer(p params, _ string) (any, *apiError) {
	arn := p.get("LoadBalancerArn")
	lb, ok := s.lbs[arn]
	if !ok {
		// Deleting a load balancer that does not exist succeeds in ELBv2.
		return struct{}{}, nil
	}
	if cb := s.OnLoadBalancerDeleted; cb != nil {
		dnsName := lb.DNSName
		s.pending = append(s.pending, func() { cb(dnsName) })
	}
	for id, l := range s.listeners {
		if l.LoadBalancerArn == arn {
			delete(s.listeners, id)
		}
	}
	for _, tg := range s.tgs {
		tg.LoadBalancerArns = without(tg.LoadBalancerArns, arn)
	}
	delete(s.lbs, arn)
	lb.deleted = s.now()
	s.detaching = append(s.detaching, lb)
	s.advance()
	return struct{}{}, nil
}

// withInterfaces lists the load balancers whose network interfaces exist:
// every live one, and those deleted less than LoadBalancerDetachDelay ago.
// Their subnets and security groups are in use.
func (s *Simulator) withInterfaces() []*loadBalancer {
	out := append([]*loadBalancer(nil), s.detaching...)
	for _, arn := range keys(s.lbs) {
		out = append(out, s.lbs[arn])
	}
	return out
}

func (s *Simulator) createTargetGroup(p params, region string) (any, *apiError) {
	name := p.get("Name")
	if err := checkELBName("Target group", name); err != nil {
		return nil, err
	}
	if _, ok := s.vpcs[p.get("VpcId")]; !ok && p.get("TargetType") != "lambda" {
		return nil, badRequest("ValidationError", "The VPC ID '%s' is not found", p.get("VpcId"))
	}
	port := p.int("Port", 0)
	if port < 1 || port > 65535 {
		return nil, badRequest("ValidationError", "Port must be between 1 and 65535")
	}
	targetType := p.get("TargetType")
	if targetType == "" {
		targetType = "instance"
	}
	for _, tg := range s.tgs {
		if tg.TargetGroupName != name {
			continue
		}
		if tg.Port != port || tg.Protocol != p.get("Protocol") || tg.VpcID != p.get("VpcId") {
			return nil, badRequest("DuplicateTargetGroupName", "A target group with the same name '%s' exists, but with different settings", name)
		}
		return struct {
			TargetGroups []*targetGroup `xml:"TargetGroups>member"`
		}{[]*targetGroup{tg}}, nil
	}
	tg := &targetGroup{
		TargetGroupArn:  elbARN(region, fmt.Sprintf("targetgroup/%s/%s", name, hex16())),
		TargetGroupName: name, Protocol: p.get("Protocol"), Port: port, VpcID: p.get("VpcId"), TargetType: targetType,
		// ELBv2's defaults for a TCP target group.
		HealthCheckProtocol: p.get("Protocol"), HealthCheckPort: "traffic-port", HealthCheckEnabled: true,
		HealthCheckIntervalSeconds: 30, HealthCheckTimeoutSeconds: 10, HealthyThresholdCount: 5, UnhealthyThresholdCount: 2,
		tags: tagList(elbTags(p)), targets: map[string]*target{},
		attributes: map[string]string{"preserve_client_ip.enabled": boolString(targetType == "instance"), "deregistration_delay.timeout_seconds": "300",
			"proxy_protocol_v2.enabled": "false", "stickiness.enabled": "false", "deregistration_delay.connection_termination.enabled": "false"},
	}
	if err := setHealthCheck(tg, p); err != nil {
		return nil, err
	}
	s.tgs[tg.TargetGroupArn] = tg
	return struct {
		TargetGroups []*targetGroup `xml:"TargetGroups>member"`
	}{[]*targetGroup{tg}}, nil
}

// setHealthCheck applies a request's HealthCheck* settings within
// ELBv2's ranges.
func setHealthCheck(tg *targetGroup, p params) *apiError {
	if v := p.get("HealthCheckProtocol"); v != "" {
		tg.HealthCheckProtocol = v
	}
	if v := p.get("HealthCheckPort"); v != "" {
		tg.HealthCheckPort = v
	}
	if p.has("HealthCheckEnabled") {
		tg.HealthCheckEnabled = p.get("HealthCheckEnabled") == "true"
	}
	for _, f := range []struct {
		param    string
		field    *int
		min, max int
	}{
		{"HealthCheckIntervalSeconds", &tg.HealthCheckIntervalSeconds, 5, 300},
		{"HealthCheckTimeoutSeconds", &tg.HealthCheckTimeoutSeconds, 2, 120},
		{"HealthyThresholdCount", &tg.HealthyThresholdCount, 2, 10},
		{"UnhealthyThresholdCount", &tg.UnhealthyThresholdCount, 2, 10},
	} {
		if !p.has(f.param) {
			continue
		}
		v := p.int(f.param, 0)
		if v < f.min || v > f.max {
			return badRequest("ValidationError", "%s must be between %d and %d, not %d", f.param, f.min, f.max, v)
		}
		*f.field = v
	}
	if tg.HealthCheckTimeoutSeconds > tg.HealthCheckIntervalSeconds {
		return badRequest("ValidationError", "Health check timeout '%d' must be smaller than or equal to the interval '%d'", tg.HealthCheckTimeoutSeconds, tg.HealthCheckIntervalSeconds)
	}
	return nil
}

func (s *Simulator) modifyTargetGroup(p params, _ string) (any, *apiError) {
	tg, ok := s.tgs[p.get("TargetGroupArn")]
	if !ok {
		return nil, badRequest("TargetGroupNotFound", "Target group '%s' not found", p.get("TargetGroupArn"))
	}
	changed := *tg
	if err := setHealthCheck(&changed, p); err != nil {
		return nil, err
	}
	*tg = changed
	return struct {
		TargetGroups []*targetGroup `xml:"TargetGroups>member"`
	}{[]*targetGroup{tg}}, nil
}

type attribute struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func (tg *targetGroup) attributeList() []attribute {
	var out []attribute
	for _, k := range keys(tg.attributes) {
		out = append(out, attribute{Key: k, Value: tg.attributes[k]})
	}
	return out
}

func (s *Simulator) describeTargetGroupAttributes(p params, _ string) (any, *apiError) {
	tg, ok := s.tgs[p.get("TargetGroupArn")]
	if !ok {
		return nil, badRequest("TargetGroupNotFound", "Target group '%s' not found", p.get("TargetGroupArn"))
	}
	return struct {
		Attributes []attribute `xml:"Attributes>member"`
	}{tg.attributeList()}, nil
}

func (s *Simulator) modifyTargetGroupAttributes(p params, _ string) (any, *apiError) {
	tg, ok := s.tgs[p.get("TargetGroupArn")]
	if !ok {
		return nil, badRequest("TargetGroupNotFound", "Target group '%s' not found", p.get("TargetGroupArn"))
	}
	changes := map[string]string{}
	for _, a := range p.indexed("Attributes.member") {
		k, v := a.get("Key"), a.get("Value")
		if _, known := tg.attributes[k]; !known {
			return nil, badRequest("ValidationError", "Target group attribute key '%s' is not recognized", k)
		}
		if strings.HasSuffix(k, ".enabled") && v != "true" && v != "false" {
			return nil, badRequest("ValidationError", "Target group attribute '%s' must be true or false, not '%s'", k, v)
		}
		changes[k] = v
	}
	for k, v := range changes {
		tg.attributes[k] = v
	}
	return struct {
		Attributes []attribute `xml:"Attributes>member"`
	}{tg.attributeList()}, nil
}

func (s *Simulator) describeTargetGroups(p params, _ string) (any, *apiError) {
	arns, names, lbArn := p.list("TargetGroupArns.member"), p.list("Names.member"), p.get("LoadBalancerArn")
	var out []*targetGroup
	for _, arn := range keys(s.tgs) {
		tg := s.tgs[arn]
		switch {
		case len(arns) > 0 && !contains(arns, arn):
			continue
		case len(names) > 0 && !contains(names, tg.TargetGroupName):
			continue
		case lbArn != "" && !contains(tg.LoadBalancerArns, lbArn):
			continue
		}
		out = append(out, tg)
	}
	if (len(arns) > 0 && len(out) != len(arns)) || (len(names) > 0 && len(out) != len(names)) {
		return nil, badRequest("TargetGroupNotFound", "One or more target groups not found")
	}
	out, marker, err := pageELB(out, p, func(tg *targetGroup) string { return tg.TargetGroupArn })
	if err != nil {
		return nil, err
	}
	return struct {
		TargetGroups []*targetGroup `xml:"TargetGroups>member"`
		NextMarker   string         `xml:"NextMarker,omitempty"`
	}{out, marker}, nil
}

func (s *Simulator) deleteTargetGroup(p params, _ string) (any, *apiError) {
	arn := p.get("TargetGroupArn")
	for _, l := range s.listeners {
		for _, a := range l.DefaultActions {
			if a.TargetGroupArn == arn {
				return nil, badRequest("ResourceInUse", "Target group '%s' is currently in use by a listener or a rule", arn)
			}
		}
	}
	delete(s.tgs, arn)
	return struct{}{}, nil
}

func (s *Simulator) createListener(p params, region string) (any, *apiError) {
	lb, ok := s.lbs[p.get("LoadBalancerArn")]
	if !ok {
		return nil, badRequest("LoadBalancerNotFound", "One or more load balancers not found")
	}
	port := p.int("Port", 0)
	var actions []listenerAction
	for _, a := range p.indexed("DefaultActions.member") {
		tg, ok := s.tgs[a.get("TargetGroupArn")]
		if !ok {
			return nil, badRequest("TargetGroupNotFound", "Target group '%s' not found", a.get("TargetGroupArn"))
		}
		actions = append(actions, listenerAction{Type: a.get("Type"), TargetGroupArn: tg.TargetGroupArn})
	}
	if len(actions) == 0 {
		return nil, badRequest("ValidationError", "A default action must be specified")
	}
	for _, l := range s.listeners {
		if l.LoadBalancerArn != lb.LoadBalancerArn || l.Port != port {
			continue
		}
		if l.Protocol == p.get("Protocol") && len(l.DefaultActions) == len(actions) && l.DefaultActions[0] == actions[0] {
			return struct {
				Listeners []*listener `xml:"Listeners>member"`
			}{[]*listener{l}}, nil
		}
		return nil, badRequest("DuplicateListener", "A listener already exists on this port for this load balancer")
	}
	l := &listener{
		ListenerArn:     elbARN(region, fmt.Sprintf("listener/%s/%s/%s/%s", shortType(lb.Type), lb.LoadBalancerName, lastPart(lb.LoadBalancerArn), hex16())),
		LoadBalancerArn: lb.LoadBalancerArn, Port: port, Protocol: p.get("Protocol"), DefaultActions: actions, tags: tagList(elbTags(p)),
	}
	s.listeners[l.ListenerArn] = l
	for _, a := range actions {
		tg := s.tgs[a.TargetGroupArn]
		if !contains(tg.LoadBalancerArns, lb.LoadBalancerArn) {
			tg.LoadBalancerArns = append(tg.LoadBalancerArns, lb.LoadBalancerArn)
		}
	}
	return struct {
		Listeners []*listener `xml:"Listeners>member"`
	}{[]*listener{l}}, nil
}

func (s *Simulator) describeListeners(p params, _ string) (any, *apiError) {
	lbArn, arns := p.get("LoadBalancerArn"), p.list("ListenerArns.member")
	if lbArn != "" {
		if _, ok := s.lbs[lbArn]; !ok {
			return nil, badRequest("LoadBalancerNotFound", "One or more load balancers not found")
		}
	}
	var out []*listener
	for _, arn := range keys(s.listeners) {
		l := s.listeners[arn]
		if (lbArn != "" && l.LoadBalancerArn != lbArn) || (len(arns) > 0 && !contains(arns, arn)) {
			continue
		}
		out = append(out, l)
	}
	if len(arns) > 0 && len(out) != len(arns) {
		return nil, badRequest("ListenerNotFound", "One or more listeners not found")
	}
	return struct {
		Listeners []*listener `xml:"Listeners>member"`
	}{out}, nil
}

func (s *Simulator) deleteListener(p params, _ string) (any, *apiError) {
	arn := p.get("ListenerArn")
	if _, ok := s.listeners[arn]; !ok {
		return nil, badRequest("ListenerNotFound", "One or more listeners not found")
	}
	delete(s.listeners, arn)
	return struct{}{}, nil
}

func (s *Simulator) registerTargets(p params, _ string) (any, *apiError) {
	tg, ok := s.tgs[p.get("TargetGroupArn")]
	if !ok {
		return nil, badRequest("TargetGroupNotFound", "Target group '%s' not found", p.get("TargetGroupArn"))
	}
	targets := p.indexed("Targets.member")
	for _, t := range targets {
		if i, ok := s.instances[t.get("Id")]; !ok || i.State.Name != "running" {
			return nil, badRequest("InvalidTarget", "The following targets are not in a running state and cannot be registered: '%s'", t.get("Id"))
		}
	}
	for _, t := range targets {
		// Registering a target again changes nothing, its health included.
		if _, ok := tg.targets[t.get("Id")]; !ok {
			tg.targets[t.get("Id")] = &target{port: t.int("Port", tg.Port), registered: s.now()}
		}
	}
	return struct{}{}, nil
}

func (s *Simulator) deregisterTargets(p params, _ string) (any, *apiError) {
	tg, ok := s.tgs[p.get("TargetGroupArn")]
	if !ok {
		return nil, badRequest("TargetGroupNotFound", "Target group '%s' not found", p.get("TargetGroupArn"))
	}
	for _, t := range p.indexed("Targets.member") {
		delete(tg.targets, t.get("Id"))
	}
	return struct{}{}, nil
}

func (s *Simulator) describeTargetHealth(p params, _ string) (any, *apiError) {
	tg, ok := s.tgs[p.get("TargetGroupArn")]
	if !ok {
		return nil, badRequest("TargetGroupNotFound", "Target group '%s' not found", p.get("TargetGroupArn"))
	}
	type targetDescription struct {
		ID   string `xml:"Id"`
		Port int    `xml:"Port"`
	}
	type health struct {
		Target targetDescription `xml:"Target"`
		State  string            `xml:"TargetHealth>State"`
		Reason string            `xml:"TargetHealth>Reason,omitempty"`
	}
	var out []health
	for _, id := range keys(tg.targets) {
		state, reason := s.targetHealth(tg, id)
		out = append(out, health{Target: targetDescription{ID: id, Port: tg.targets[id].port}, State: state, Reason: reason})
	}
	return struct {
		TargetHealthDescriptions []health `xml:"TargetHealthDescriptions>member"`
	}{out}, nil
}

// targetHealth is what an NLB's health checks make of a target: initial
// until HealthyThreshold checks Interval apart have passed since it was
// registered (scaled by Config.HealthCheckTimeScale), then healthy.
func (s *Simulator) targetHealth(tg *targetGroup, id string) (state, reason string) {
	i, ok := s.instances[id]
	switch {
	case len(tg.LoadBalancerArns) == 0:
		return "unused", "Target.NotInUse"
	case !ok || i.State.Name != "running":
		return "unused", "Target.InvalidState"
	case !tg.HealthCheckEnabled:
		return "unavailable", "Target.HealthCheckDisabled"
	}
	if s.now().Before(tg.targets[id].registered.Add(s.healthyAfter(tg))) {
		return "initial", "Elb.RegistrationInProgress"
	}
	return "healthy", ""
}

func (s *Simulator) elbTagsOf(arn string) *[]Tag {
	switch {
	case s.lbs[arn] != nil:
		return &s.lbs[arn].tags
	case s.tgs[arn] != nil:
		return &s.tgs[arn].tags
	case s.listeners[arn] != nil:
		return &s.listeners[arn].tags
	}
	return nil
}

func (s *Simulator) addTags(p params, _ string) (any, *apiError) {
	arns := p.list("ResourceArns.member")
	for _, arn := range arns {
		existing := s.elbTagsOf(arn)
		if existing == nil {
			return nil, badRequest("LoadBalancerNotFound", "Resource '%s' not found", arn)
		}
		if err := checkTagCount("elasticloadbalancing", *existing, elbTags(p)); err != nil {
			return nil, err
		}
	}
	for _, arn := range arns {
		setTags(s.elbTagsOf(arn), elbTags(p))
	}
	return struct{}{}, nil
}

func (s *Simulator) describeTags(p params, _ string) (any, *apiError) {
	type description struct {
		ResourceArn string   `xml:"ResourceArn"`
		Tags        []elbTag `xml:"Tags>member"`
	}
	var out []description
	for _, arn := range p.list("ResourceArns.member") {
		tags := s.elbTagsOf(arn)
		if tags == nil {
			return nil, badRequest("LoadBalancerNotFound", "Resource '%s' not found", arn)
		}
		d := description{ResourceArn: arn}
		for _, t := range *tags {
			d.Tags = append(d.Tags, elbTag{Key: t.Key, Value: t.Value})
		}
		out = append(out, d)
	}
	return struct {
		TagDescriptions []description `xml:"TagDescriptions>member"`
	}{out}, nil
}

// pageELB cuts a list by PageSize/Marker, the ELBv2 way.
func pageELB[T any](items []T, p params, id func(T) string) ([]T, string, *apiError) {
	sort.Slice(items, func(i, j int) bool { return id(items[i]) < id(items[j]) })
	start := 0
	if marker := p.get("Marker"); marker != "" {
		start = -1
		for i, it := range items {
			if id(it) == marker {
				start = i
			}
		}
		if start < 0 {
			return nil, "", badRequest("ValidationError", "Invalid marker '%s'", marker)
		}
	}
	size := p.int("PageSize", 0)
	if size <= 0 || start+size >= len(items) {
		return items[start:], "", nil
	}
	return items[start : start+size], id(items[start+size]), nil
}

func without(list []string, s string) []string {
	var out []string
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

func lastPart(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}

var elbv2Actions = map[string]func(*Simulator, params, string) (any, *apiError){
	"CreateLoadBalancer":    (*Simulator).createLoadBalancer,
	"DescribeLoadBalancers": (*Simulator).describeLoadBalancers,
	"DeleteLoadBalancer":    (*Simulator).deleteLoadBalancer,
	"CreateTargetGroup":     (*Simulator).createTargetGroup,
	"DescribeTargetGroups":  (*Simulator).describeTargetGroups,
	"DeleteTargetGroup":     (*Simulator).deleteTargetGroup,
	"CreateListener":        (*Simulator).createListener,
	"DescribeListeners":     (*Simulator).describeListeners,
	"DeleteListener":        (*Simulator).deleteListener,
	"RegisterTargets":       (*Simulator).registerTargets,
	"DeregisterTargets":     (*Simulator).deregisterTargets,
	"DescribeTargetHealth":  (*Simulator).describeTargetHealth,
	"ModifyTargetGroup":     (*Simulator).modifyTargetGroup,

	"DescribeTargetGroupAttributes": (*Simulator).describeTargetGroupAttributes,
	"ModifyTargetGroupAttributes":   (*Simulator).modifyTargetGroupAttributes,
	"AddTags":                       (*Simulator).addTags,
	"DescribeTags":                  (*Simulator).describeTags,
}
