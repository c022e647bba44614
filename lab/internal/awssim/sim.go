// Package awssim simulates the parts of the Amazon EC2 and Elastic Load
// Balancing v2 query APIs and of Secrets Manager's JSON API that a
// Cluster API infrastructure provider uses, for the real aws-sdk-go-v2
// clients over HTTP, all on one endpoint. It behaves like AWS where
// that matters to such a client: AWS-shaped IDs, tags on create, filters,
// pagination, client-token idempotency, instances that are pending before
// they run, optional eventual consistency, dependency errors on delete.
// It refuses what AWS refuses: unknown images (a catalog holds Cluster
// API's published AMIs), instance profiles (the account has CAPA's) and
// key pairs; instance types it does not know (a table of real ones), or
// that the zone does not offer, or of another architecture than the
// image; VPCs and subnets outside /16 to /28, subnets outside their VPC's
// network or overlapping another, subnets in a zone of another region;
// root volumes below their snapshot, invalid load balancer names,
// tags past AWS's limits, a second internet gateway on a VPC; deleting a
// security group or subnet that an instance, a load balancer or a rule
// still uses (a load balancer's network interfaces outlive it by
// Config.LoadBalancerDetachDelay), and detaching an internet gateway
// from a VPC where public addresses are mapped. It reports targets
// healthy only after their health checks.
// Secrets Manager refuses invalid names, values over 65,536 bytes, a name
// that a secret scheduled for deletion still holds (also for a moment
// after a forced deletion), and reading a secret marked for deletion;
// its ListSecrets lags behind by Config.ConsistencyDelay. An instance
// reads and deletes secrets itself (InstanceGetSecretValue,
// InstanceDeleteSecret) only with credentials from its instance profile,
// as that profile's role allows. Instances carry their metadata options
// (RunInstances' MetadataOptions) and their volumes their encryption; a
// KMS key EBS cannot use fails the launch.
// OnLoadBalancerHealth tells the lab when a load balancer's listener has
// a healthy target to forward to, so that what is served behind it
// answers only then.
//
// A control API under /_lab/ injects faults, counts calls per action,
// lists every live resource, changes the timing and adds images and
// instance profiles.
package awssim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config sets the simulator's timing. Zero durations mean "at once".
type Config struct {
	// Region answers when a request's signature names none.
	Region string
	// BootDelay is how long an instance stays pending.
	BootDelay time.Duration
	// TerminateDelay is how long an instance stays shutting-down.
	TerminateDelay time.Duration
	// NATGatewayDelay is how long a NAT gateway stays pending.
	NATGatewayDelay time.Duration
	// LoadBalancerDelay is how long a load balancer stays provisioning.
	LoadBalancerDelay time.Duration
	// LoadBalancerDetachDelay is how long a deleted load balancer's
	// network interfaces linger: until then its subnets and security
	// groups are still in use and refuse to be deleted, as in ELBv2.
	LoadBalancerDetachDelay time.Duration
	// ConsistencyDelay is how long a resource is not found by ID after
	// its creation, as with EC2's eventual consistency.
	ConsistencyDelay time.Duration
	// HealthCheckTimeScale is the share of real time that load balancer
	// health checks take: a new target turns healthy after its target
	// group's HealthyThreshold x Interval times this. 0 means 1 (real
	// time); 0.05 turns CAPA's 5 x 10 s into 2.5 s.
	HealthCheckTimeScale float64
	// Now replaces the clock in tests.
	Now func() time.Time
	// AfterFunc replaces time.AfterFunc in tests: it calls f once d has
	// passed on the clock Now reads.
	AfterFunc func(d time.Duration, f func())
}

// Instance is what OnInstanceRunning learns about an instance that has
// just started.
type Instance struct {
	ID, PrivateIP, PrivateDNSName, AvailabilityZone, SubnetID string
	Tags                                                      map[string]string
	UserData                                                  []byte
	// KubernetesVersion is what the instance's image runs: "" for an
	// image without Kubernetes.
	KubernetesVersion string
	// IAMInstanceProfile is the name of the instance's profile, if any.
	IAMInstanceProfile string
	// MetadataOptions are the instance metadata service's options.
	MetadataOptions MetadataOptions
	// Volumes are the EBS volumes RunInstances made, the root volume
	// first.
	Volumes []InstanceVolume
}

// InstanceVolume is one EBS volume of an instance, as launched.
type InstanceVolume struct {
	Device, VolumeID, VolumeType string
	SizeGiB                      int
	// Root says whether it is the image's root device.
	Root, DeleteOnTermination bool
	Encrypted                 bool
	// KMSKeyID is the ARN of the key an encrypted volume is encrypted
	// with, as DescribeVolumes shows it.
	KMSKeyID string
}

// RootVolume is the instance's root volume.
func (i Instance) RootVolume() (InstanceVolume, bool) {
	for _, v := range i.Volumes {
		if v.Root {
			return v, true
		}
	}
	return InstanceVolume{}, false
}

// Simulator is an in-memory EC2, ELBv2 and Secrets Manager. It is an
// http.Handler.
type Simulator struct {
	mu  sync.Mutex
	cfg Config

	// OnInstanceRunning, when set, is called (without the lock held) for
	// every instance that reaches running.
	OnInstanceRunning func(Instance)
	// OnInstanceTerminated, when set, is called for every instance that
	// reaches terminated.
	OnInstanceTerminated func(id string)
	// LoadBalancerAddress, when set, gives each new load balancer the
	// address its DNS name stands for; it then is the DNS name, since the
	// lab resolves no DNS. Unset, names are AWS-shaped host names.
	LoadBalancerAddress func() string
	// OnLoadBalancerDeleted, when set, is called with the DNS name of
	// every deleted load balancer.
	OnLoadBalancerDeleted func(dnsName string)
	// OnLoadBalancerHealth, when set, is called (without the lock held)
	// whenever a load balancer's listener starts or stops forwarding
	// connections: it does while its load balancer is active and a target
	// behind it is healthy. Targets turn healthy with time (see
	// Config.HealthCheckTimeScale) and stop being so when they are
	// deregistered or their instance stops running; a deleted load
	// balancer forwards nothing.
	OnLoadBalancerHealth func(dnsName string, port int, healthy bool)

	// healthMu orders the calls of OnLoadBalancerHealth.
	healthMu sync.Mutex
	// reported holds the listeners last reported forwarding.
	reported map[listenerKey]bool
	// wakeAt is when the health timer fires, zero if it is not armed.
	wakeAt time.Time

	vpcs        map[string]*vpc
	subnets     map[string]*subnet
	igws        map[string]*internetGateway
	addresses   map[string]*address
	nats        map[string]*natGateway
	routeTables map[string]*routeTable
	groups      map[string]*securityGroup
	instances   map[string]*instance
	volumes     map[string]*volume
	images      map[string]*image
	lbs         map[string]*loadBalancer
	tgs         map[string]*targetGroup
	listeners   map[string]*listener
	profiles    map[string]*instanceProfile
	keyPairs    map[string]*keyPair
	// secrets are Secrets Manager's, by region and name.
	secrets map[string]*secret
	// detaching are deleted load balancers whose network interfaces have
	// not gone yet.
	detaching []*loadBalancer

	// clientTokens maps an action's client token to what it created.
	clientTokens map[string]string
	calls        map[string]int
	faults       []*Fault
	ipSeq        map[string]int
	eipSeq       int
	pending      []func()
}

// New returns a simulator with no resources, the built-in image catalog
// (Cluster API's published AMIs) and CAPA's instance profiles.
func New(cfg Config) *Simulator {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Simulator{
		cfg:          cfg,
		vpcs:         map[string]*vpc{},
		subnets:      map[string]*subnet{},
		igws:         map[string]*internetGateway{},
		addresses:    map[string]*address{},
		nats:         map[string]*natGateway{},
		routeTables:  map[string]*routeTable{},
		groups:       map[string]*securityGroup{},
		instances:    map[string]*instance{},
		volumes:      map[string]*volume{},
		images:       map[string]*image{},
		lbs:          map[string]*loadBalancer{},
		tgs:          map[string]*targetGroup{},
		listeners:    map[string]*listener{},
		profiles:     map[string]*instanceProfile{},
		keyPairs:     map[string]*keyPair{},
		secrets:      map[string]*secret{},
		clientTokens: map[string]string{},
		calls:        map[string]int{},
		ipSeq:        map[string]int{},
	}
	if _, err := s.registerImages(builtinImages()); err != nil {
		panic(err)
	}
	// The account had them before the simulator started: never too new.
	if err := s.registerInstanceProfiles(CAPAInstanceProfiles, time.Time{}); err != nil {
		panic(err)
	}
	return s
}

// SetConfig replaces the timing; the region and clock stay. Health
// checks under way take the new time scale at once.
func (s *Simulator) SetConfig(cfg Config) {
	s.mu.Lock()
	cfg.Region, cfg.Now, cfg.AfterFunc = s.cfg.Region, s.cfg.Now, s.cfg.AfterFunc
	s.cfg = cfg
	s.reportHealth()
	callbacks := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, cb := range callbacks {
		cb()
	}
}

// config returns the current timing.
func (s *Simulator) config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

const accountID = "123456789012"

func (s *Simulator) now() time.Time { return s.cfg.Now() }

// newID returns an AWS-shaped ID: prefix, a dash and 17 hex digits.
func newID(prefix string) string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)[:17]
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

// ServeHTTP answers EC2 and ELBv2 query requests on / and the control API
// on /_lab/.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_lab/") {
		s.serveControl(w, r)
		return
	}
	// The JSON protocol names its action in a header and carries no form
	// to parse.
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		s.serveJSON(w, r, target)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p := params(r.Form)
	action, version := p.get("Action"), p.get("Version")
	region := regionOf(r, s.cfg.Region)
	reqID := requestID()

	var (
		service string
		write   func(http.ResponseWriter, string, string, any)
		writeE  func(http.ResponseWriter, string, *apiError)
		handler func(*Simulator, params, string) (any, *apiError)
	)
	switch version {
	case "2016-11-15":
		service, write, writeE, handler = "ec2", writeEC2, writeEC2Error, ec2Actions[action]
	case "2015-12-01":
		service, write, writeE, handler = "elasticloadbalancing", writeELBv2, writeELBv2Error, elbv2Actions[action]
	default:
		http.Error(w, fmt.Sprintf("unsupported API version %q", version), http.StatusBadRequest)
		return
	}

	s.mu.Lock()
	s.calls[service+":"+action]++
	if e := s.injectedFault(service, action); e != nil {
		s.mu.Unlock()
		writeE(w, reqID, e)
		return
	}
	if handler == nil {
		s.mu.Unlock()
		writeE(w, reqID, badRequest("InvalidAction", "The action %s is not valid for this web service.", action))
		return
	}
	if e := checkRequestTags(service, p); e != nil {
		s.mu.Unlock()
		writeE(w, reqID, e)
		return
	}
	s.advance()
	body, apiErr := handler(s, p, region)
	s.reportHealth()
	callbacks := s.pending
	s.pending = nil
	s.mu.Unlock()

	for _, cb := range callbacks {
		cb()
	}
	if apiErr != nil {
		writeE(w, reqID, apiErr)
		return
	}
	write(w, action, reqID, body)
}

// regionOf reads the region from the SigV4 credential scope.
func regionOf(r *http.Request, def string) string {
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return def
	}
	parts := strings.Split(strings.SplitN(cred, ",", 2)[0], "/")
	if len(parts) >= 3 && parts[2] != "" {
		return parts[2]
	}
	return def
}

// advance moves every resource whose delay has passed to its next state.
// It runs with the lock held; callbacks are queued for after.
func (s *Simulator) advance() {
	now := s.now()
	for _, i := range s.instances {
		switch {
		case i.State.Name == "pending" && i.launchFailure != nil && !now.Before(i.launched.Add(s.cfg.BootDelay)):
			// The instance never ran: it goes, and its volumes with it.
			i.setState("terminated")
			i.StateReason = i.launchFailure
			s.releaseVolumes(i.InstanceID, false)
			id := i.InstanceID
			if cb := s.OnInstanceTerminated; cb != nil {
				s.pending = append(s.pending, func() { cb(id) })
			}
		case i.State.Name == "pending" && !now.Before(i.launched.Add(s.cfg.BootDelay)):
			i.setState("running")
			info := i.info()
			if cb := s.OnInstanceRunning; cb != nil {
				s.pending = append(s.pending, func() { cb(info) })
			}
		case i.State.Name == "shutting-down" && !now.Before(i.terminating.Add(s.cfg.TerminateDelay)):
			i.setState("terminated")
			s.releaseVolumes(i.InstanceID, true)
			id := i.InstanceID
			if cb := s.OnInstanceTerminated; cb != nil {
				s.pending = append(s.pending, func() { cb(id) })
			}
		}
	}
	for _, n := range s.nats {
		switch {
		case n.State == "pending" && !now.Before(n.created.Add(s.cfg.NATGatewayDelay)):
			n.State = "available"
		case n.State == "deleting" && !now.Before(n.deleting.Add(s.cfg.NATGatewayDelay)):
			n.State = "deleted"
			for _, a := range s.addresses {
				if a.AssociationID == n.NatGatewayID {
					a.AssociationID = ""
				}
			}
		}
	}
	for _, lb := range s.lbs {
		if lb.State.Code == "provisioning" && !now.Before(lb.created.Add(s.cfg.LoadBalancerDelay)) {
			lb.State.Code = "active"
		}
	}
	kept := s.detaching[:0]
	for _, lb := range s.detaching {
		if now.Before(lb.deleted.Add(s.cfg.LoadBalancerDetachDelay)) {
			kept = append(kept, lb)
		}
	}
	s.detaching = kept
	s.purgeSecrets(now)
}

// notYetVisible says whether a resource created at t is still hidden from
// lookups by ID.
func (s *Simulator) notYetVisible(t time.Time) bool {
	return s.cfg.ConsistencyDelay > 0 && s.now().Before(t.Add(s.cfg.ConsistencyDelay))
}

// Fault makes a share of the calls to an action fail.
type Fault struct {
	// Action is "RunInstances", "ec2:RunInstances",
	// "secretsmanager:GetSecretValue", or "*" for every action.
	Action string `json:"action"`
	// Rate is the share of calls that fail, from 0 to 1. The failures are
	// spread evenly: with 0.3, exactly 3 calls in every 10 fail, the first
	// of them the second call.
	Rate float64 `json:"rate"`
	// Error is "throttling", "server" or "capacity" (InsufficientInstanceCapacity).
	Error string `json:"error"`

	credit float64
	calls  int
}

func (s *Simulator) injectedFault(service, action string) *apiError {
	for _, f := range s.faults {
		if f.Action != "*" && f.Action != action && f.Action != service+":"+action {
			continue
		}
		f.calls++
		f.credit += f.Rate
		if f.credit < 1 {
			continue
		}
		f.credit--
		switch f.Error {
		case "capacity":
			return errorf(http.StatusInternalServerError, "InsufficientInstanceCapacity",
				"We currently do not have sufficient capacity in the Availability Zone you requested.")
		case "server":
			if service == "secretsmanager" {
				return errorf(http.StatusInternalServerError, "InternalServiceError", "An error occurred on the server side.")
			}
			return errorf(http.StatusInternalServerError, "InternalError", "An internal error has occurred.")
		default:
			switch service {
			case "ec2":
				return errorf(http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded.")
			case "secretsmanager":
				return errorf(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
			}
			return errorf(http.StatusBadRequest, "Throttling", "Rate exceeded")
		}
	}
	return nil
}

// LiveResource is one entry of the leak check.
type LiveResource struct {
	Kind  string            `json:"kind"`
	ID    string            `json:"id"`
	State string            `json:"state,omitempty"`
	Tags  map[string]string `json:"tags,omitempty"`
}

// Resources lists every resource that exists and is not deleted or
// terminated, sorted by kind and ID. The default security group and main
// route table of a VPC go with the VPC and are not listed.
func (s *Simulator) Resources() []LiveResource {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	out := []LiveResource{}
	add := func(kind, id, state string, tags []Tag) {
		out = append(out, LiveResource{Kind: kind, ID: id, State: state, Tags: tagMap(tags)})
	}
	for _, v := range s.vpcs {
		add("vpc", v.VpcID, v.State, v.Tags)
	}
	for _, v := range s.subnets {
		add("subnet", v.SubnetID, v.State, v.Tags)
	}
	for _, v := range s.igws {
		add("internet-gateway", v.InternetGatewayID, "", v.Tags)
	}
	for _, v := range s.addresses {
		add("elastic-ip", v.AllocationID, "", v.Tags)
	}
	for _, v := range s.nats {
		if v.State != "deleted" {
			add("natgateway", v.NatGatewayID, v.State, v.Tags)
		}
	}
	for _, v := range s.routeTables {
		if !v.main {
			add("route-table", v.RouteTableID, "", v.Tags)
		}
	}
	for _, v := range s.groups {
		if v.GroupName != "default" {
			add("security-group", v.GroupID, "", v.Tags)
		}
	}
	for _, v := range s.instances {
		if v.State.Name != "terminated" {
			add("instance", v.InstanceID, v.State.Name, v.Tags)
		}
	}
	// A volume goes with its instance unless it outlived it.
	for _, v := range s.volumes {
		if len(v.Attachments) == 0 {
			add("volume", v.VolumeID, v.Status, v.Tags)
		}
	}
	for _, v := range s.lbs {
		add("loadbalancer", v.LoadBalancerArn, v.State.Code, v.tags)
	}
	for _, v := range s.tgs {
		add("targetgroup", v.TargetGroupArn, "", v.tags)
	}
	for _, v := range s.listeners {
		add("listener", v.ListenerArn, "", v.tags)
	}
	for _, v := range s.keyPairs {
		add("key-pair", v.KeyPairID, "", v.Tags)
	}
	// A secret scheduled for deletion still exists (and can be restored)
	// until its recovery window ends; one deleted without recovery is
	// only waiting for Secrets Manager's background deletion.
	for _, v := range s.secrets {
		switch {
		case v.forced:
		case !v.deleted.IsZero():
			add("secret", v.name, "scheduled-for-deletion", v.tags)
		default:
			add("secret", v.name, "", v.tags)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Calls returns the number of calls per "service:Action" so far.
func (s *Simulator) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// SetFaults replaces the injected faults.
func (s *Simulator) SetFaults(faults []Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	for i := range faults {
		f := faults[i]
		// Starting half way makes the failures fall evenly: with a rate of
		// 0.3 the 2nd, 5th and 8th of every ten calls fail.
		f.credit = 0.5
		s.faults = append(s.faults, &f)
	}
}

// Tag is an EC2 tag.
type Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func tagList(m map[string]string) []Tag {
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		out = append(out, Tag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func tagMap(tags []Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func setTags(tags *[]Tag, add map[string]string) {
	m := tagMap(*tags)
	if m == nil {
		m = map[string]string{}
	}
	for k, v := range add {
		m[k] = v
	}
	*tags = tagList(m)
}

// matchFilters applies EC2 filters: every filter must match, any of a
// filter's values may. values gives the resource's values for a filter
// name, and ok=false for a name it does not know.
func matchFilters(filters []filter, tags []Tag, values func(name string) ([]string, bool)) (bool, *apiError) {
	for _, f := range filters {
		var have []string
		switch {
		case strings.HasPrefix(f.name, "tag:"):
			if v, ok := tagMap(tags)[strings.TrimPrefix(f.name, "tag:")]; ok {
				have = []string{v}
			}
		case f.name == "tag-key":
			for _, t := range tags {
				have = append(have, t.Key)
			}
		default:
			var ok bool
			if have, ok = values(f.name); !ok {
				return false, badRequest("InvalidParameterValue", "The filter '%s' is invalid", f.name)
			}
		}
		if !anyMatch(f.values, have) {
			return false, nil
		}
	}
	return true, nil
}

func anyMatch(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if wildcardMatch(p, v) {
				return true
			}
		}
	}
	return false
}

// wildcardMatch supports EC2 filter wildcards: * and ?.
func wildcardMatch(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildcardMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && wildcardMatch(pattern[1:], s[1:])
	default:
		return s != "" && s[0] == pattern[0] && wildcardMatch(pattern[1:], s[1:])
	}
}

// page cuts a sorted list of IDs by MaxResults/NextToken.
func page(ids []string, maxResults int, token string) ([]string, string, *apiError) {
	start := 0
	if token != "" {
		i := sort.SearchStrings(ids, token)
		if i == len(ids) || ids[i] != token {
			return nil, "", badRequest("InvalidNextToken", "The token '%s' is invalid.", token)
		}
		start = i
	}
	if maxResults <= 0 || start+maxResults >= len(ids) {
		return ids[start:], "", nil
	}
	return ids[start : start+maxResults], ids[start+maxResults], nil
}

// createdAt is when a resource was created, for eventual consistency.
func (v *vpc) createdAt() time.Time             { return v.created }
func (v *subnet) createdAt() time.Time          { return v.created }
func (v *internetGateway) createdAt() time.Time { return v.created }
func (v *address) createdAt() time.Time         { return v.created }
func (v *natGateway) createdAt() time.Time      { return v.created }
func (v *routeTable) createdAt() time.Time      { return v.created }
func (v *securityGroup) createdAt() time.Time   { return v.created }
func (v *instance) createdAt() time.Time        { return v.launched }

// lookup finds a resource by the ID a request names. As in EC2, a
// resource created less than the consistency delay ago is not known yet
// to calls that name it: they fail as for an ID that does not exist.
func lookup[T interface{ createdAt() time.Time }](s *Simulator, items map[string]T, id string) (T, bool) {
	item, ok := items[id]
	if !ok || s.notYetVisible(item.createdAt()) {
		var zero T
		return zero, false
	}
	return item, true
}
