// Package dosim simulates the parts of the DigitalOcean API v2 that a
// Cluster API infrastructure provider uses, for the real godo client over
// HTTP. It is served at the URL root: godo sends some paths relative to
// its base URL (v2/droplets) and others absolute (/v2/vpcs), so a base URL
// with a path prefix would lose the latter.
//
// It behaves like DigitalOcean where that matters to such a client: a
// bearer token on every call, integer droplet IDs and UUIDs elsewhere,
// droplets that are new before they are active and get their addresses
// only then, load balancers that get their IP and turn active later,
// actions with their own status, pagination links and meta.total,
// rate-limit headers on every answer and errors shaped
// {"id","message","request_id"}. It refuses what DigitalOcean refuses:
// invalid names and tags, unknown regions, sizes, images and SSH keys,
// sizes a region does not offer, user data past 64 KiB, droplets past
// the account's limit, VPC ranges outside RFC 1918, outside /16 to /28,
// reserved or overlapping another VPC of the account, deleting the
// default VPC or one with members (deleted ones count for
// Config.VPCReleaseDelay), malformed firewall rules, a load
// balancer with both droplet IDs and a tag, and adding droplets to one
// that targets a tag.
//
// OnDropletActive and OnDropletDeleted tell the lab when a droplet boots
// and goes; LoadBalancerAddress gives each load balancer its IP, and
// OnLoadBalancerHealth tells when a load balancer forwards a port to a
// healthy droplet, so that what is served behind it answers only then.
//
// A control API under /_lab/ injects faults, counts calls per action,
// lists every live resource, changes the timing and limits, adds images
// and shows what each droplet's metadata service serves as its user data.
//
// Spaces (spacessim) is served on the same address, on every path that
// is neither /v2/ nor /_lab/ (spaces.go).
package dosim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/terraform-capi/terraform-provider-capi/lab/internal/spacessim"
)

// Config sets the simulator's timing and limits. Zero durations mean
// "at once".
type Config struct {
	// BootDelay is how long a droplet stays new.
	BootDelay time.Duration
	// ActionDelay is how long a droplet action stays in-progress and a
	// firewall's changes stay waiting.
	ActionDelay time.Duration
	// LoadBalancerDelay is how long a load balancer stays new.
	LoadBalancerDelay time.Duration
	// LoadBalancerIPDelay is how long a load balancer has no IP. The
	// answer to its creation never carries one.
	LoadBalancerIPDelay time.Duration
	// VPCReleaseDelay is how long a deleted droplet or load balancer
	// stays a member of its VPC, keeping the VPC from being deleted.
	VPCReleaseDelay time.Duration
	// HealthCheckTimeScale is the share of real time that load balancer
	// health checks take: a droplet turns healthy after its load
	// balancer's healthy_threshold x check_interval_seconds times this.
	// 0 means 1 (real time).
	HealthCheckTimeScale float64
	// DropletLimit is the account's droplet limit, 25 unless set.
	DropletLimit int
	// RateLimitPerHour and RateLimitPerMinute, when set, are enforced per
	// token with 429 too_many_requests, as DigitalOcean enforces 5000 and
	// 250. Unset, the rate-limit headers count against 5000 an hour and
	// nothing is refused: the lab's clients share one placeholder token.
	RateLimitPerHour, RateLimitPerMinute int
	// Now replaces the clock in tests.
	Now func() time.Time
	// AfterFunc replaces time.AfterFunc in tests.
	AfterFunc func(d time.Duration, f func())
}

// Droplet is what OnDropletActive learns about a droplet that has just
// booted.
type Droplet struct {
	ID                          int
	Name, Region, Size, VPCUUID string
	PrivateIP, PublicIP         string
	Tags                        []string
	UserData                    []byte
	// KubernetesVersion is what the droplet's image runs: "" for an image
	// without Kubernetes.
	KubernetesVersion string
}

// Simulator is an in-memory DigitalOcean API. It is an http.Handler.
type Simulator struct {
	mu  sync.Mutex
	cfg Config

	// OnDropletActive, when set, is called (without the lock held) for
	// every droplet that turns active for the first time.
	OnDropletActive func(Droplet)
	// OnDropletDeleted, when set, is called with the ID of every deleted
	// droplet.
	OnDropletDeleted func(id int)
	// LoadBalancerAddress, when set, gives each load balancer its IP.
	// Unset, IPs come from a public-looking range.
	LoadBalancerAddress func() string
	// OnLoadBalancerDeleted, when set, is called with the IP of every
	// deleted load balancer that had one.
	OnLoadBalancerDeleted func(ip string)
	// OnLoadBalancerHealth, when set, is called (without the lock held)
	// whenever a load balancer's forwarding rule starts or stops
	// forwarding: it does while its load balancer is active with an IP
	// and one of its droplets (by droplet_ids or tag, active, in its VPC)
	// has passed its health checks.
	OnLoadBalancerHealth func(ip string, port int, healthy bool)

	healthMu sync.Mutex
	reported map[forwardKey]bool
	wakeAt   time.Time

	droplets  map[int]*droplet
	actions   map[int]*action
	vpcs      map[string]*vpc
	firewalls map[string]*firewall
	lbs       map[string]*loadBalancer
	tags      map[string]*tag // by lower-case name
	keys      map[int]*sshKey
	images    map[int]*image

	// pendingAfterHealth are callbacks that must follow the health
	// reports of the same change.
	pendingAfterHealth []func()

	// leaving are deleted resources still counted as VPC members.
	leaving []leavingMember

	calls  map[string]int
	faults []*Fault
	// spaces is the account's Spaces (spaces.go).
	spaces  *spacessim.Simulator
	limiter *rateLimiter
	seq     struct{ droplet, action, key, publicIP int }
	pending []func()
}

// New returns a simulator with the built-in regions, sizes and images
// and a default VPC in every region.
func New(cfg Config) *Simulator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Simulator{
		cfg:       cfg,
		reported:  map[forwardKey]bool{},
		droplets:  map[int]*droplet{},
		actions:   map[int]*action{},
		vpcs:      map[string]*vpc{},
		firewalls: map[string]*firewall{},
		lbs:       map[string]*loadBalancer{},
		tags:      map[string]*tag{},
		keys:      map[int]*sshKey{},
		images:    map[int]*image{},
		calls:     map[string]int{},
		limiter:   newRateLimiter(),
	}
	s.spaces = s.newSpaces()
	s.seq.droplet, s.seq.action, s.seq.key = 510000000, 2400000000, 41000000
	if _, err := s.registerImages(builtinImages()); err != nil {
		panic(err)
	}
	s.seedDefaultVPCs()
	return s
}

// SetConfig replaces the timing and limits; the clock stays.
func (s *Simulator) SetConfig(cfg Config) {
	s.mu.Lock()
	cfg.Now, cfg.AfterFunc = s.cfg.Now, s.cfg.AfterFunc
	s.cfg = cfg
	s.advance()
	s.settle()
	s.mu.Unlock()
	s.runPending()
}

func (s *Simulator) config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

func (s *Simulator) now() time.Time { return s.cfg.Now() }

func (s *Simulator) dropletLimit() int {
	if s.cfg.DropletLimit > 0 {
		return s.cfg.DropletLimit
	}
	return 25
}

// timestamp is how DigitalOcean writes times.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// newUUID returns a random version 4 UUID.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

// ServeHTTP answers the API under /v2/, the control API under /_lab/,
// and Spaces on every other path.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_lab/") {
		s.serveControl(w, r)
		return
	}
	if isSpacesPath(r.URL.Path) {
		s.spaces.ServeHTTP(w, r)
		return
	}
	reqID := newUUID()
	w.Header().Set("x-request-id", reqID)
	token, ok := bearerToken(r)
	s.mu.Lock()
	now := s.now()
	rate := s.limiter.take(token, now, s.cfg)
	s.mu.Unlock()
	rate.write(w)
	if !ok {
		writeError(w, reqID, errorf(http.StatusUnauthorized, "Unauthorized", "Unable to authenticate you"))
		return
	}
	if rate.exceeded {
		writeError(w, reqID, tooManyRequests())
		return
	}
	rt, params := match(r.Method, r.URL.Path)
	if rt == nil {
		writeError(w, reqID, notFound())
		return
	}
	req, apiErr := newRequest(r, params)
	if apiErr != nil {
		writeError(w, reqID, apiErr)
		return
	}

	s.mu.Lock()
	s.calls[rt.action]++
	fault := s.injectedFault(rt.action)
	if fault != nil && fault.Error != faultCreatedThenServer {
		s.mu.Unlock()
		writeError(w, reqID, fault.apiError())
		return
	}
	s.advance()
	status, body, apiErr := rt.handle(s, req)
	// The body holds live resources: it is encoded before the lock goes,
	// and before what the call made moves on, so that a zero delay means
	// "at once" but a create still answers with the resource's first
	// state.
	data, encErr := encodeBody(body)
	s.advance()
	s.settle()
	s.mu.Unlock()
	s.runPending()

	switch {
	case fault != nil:
		// The call took effect; only its answer is lost, as when a load
		// balancer in front of the API times out after the backend acted.
		writeError(w, reqID, fault.apiError())
	case apiErr != nil:
		writeError(w, reqID, apiErr)
	case encErr != nil:
		writeError(w, reqID, serverError())
	default:
		writeBody(w, status, data)
	}
}

// bearerToken reads the OAuth token; any non-empty one is accepted.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// settle reports health changes and arms the timer for the next change
// that comes with time alone. It runs with the lock held.
func (s *Simulator) settle() {
	s.reportHealth()
	s.armTimer()
}

func (s *Simulator) runPending() {
	s.mu.Lock()
	callbacks := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, cb := range callbacks {
		cb()
	}
}

// advance moves every resource whose delay has passed to its next state.
// It runs with the lock held; callbacks are queued for after.
func (s *Simulator) advance() {
	now := s.now()
	for _, d := range s.droplets {
		if d.Status == "new" && !now.Before(d.created.Add(s.cfg.BootDelay)) {
			s.boot(d)
		}
	}
	for _, a := range s.actions {
		if a.Status == "in-progress" && !now.Before(a.started.Add(a.delay)) {
			s.complete(a)
		}
	}
	for _, f := range s.firewalls {
		if f.Status == "waiting" && !now.Before(f.changed.Add(s.cfg.ActionDelay)) {
			f.Status = "succeeded"
		}
	}
	for _, lb := range s.lbs {
		if lb.IP == "" && !now.Before(lb.created.Add(s.cfg.LoadBalancerIPDelay)) {
			lb.IP = s.loadBalancerIP()
		}
		if lb.Status == "new" && lb.IP != "" && !now.Before(lb.created.Add(s.cfg.LoadBalancerDelay)) {
			lb.Status = "active"
		}
	}
	kept := s.leaving[:0]
	for _, m := range s.leaving {
		if now.Before(m.until) {
			kept = append(kept, m)
		}
	}
	s.leaving = kept
	s.trackTargets()
}

// nextChange is the earliest time after now at which something changes
// without a call.
func (s *Simulator) nextChange() (time.Time, bool) {
	now := s.now()
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, d := range s.droplets {
		if d.Status == "new" {
			consider(d.created.Add(s.cfg.BootDelay))
		}
	}
	for _, a := range s.actions {
		if a.Status == "in-progress" {
			consider(a.started.Add(a.delay))
		}
	}
	for _, f := range s.firewalls {
		if f.Status == "waiting" {
			consider(f.changed.Add(s.cfg.ActionDelay))
		}
	}
	for _, lb := range s.lbs {
		if lb.IP == "" {
			consider(lb.created.Add(s.cfg.LoadBalancerIPDelay))
		}
		if lb.Status == "new" {
			consider(lb.created.Add(s.cfg.LoadBalancerDelay))
		}
		for _, since := range lb.targets {
			consider(s.healthyAt(lb, since))
		}
	}
	return next, !next.IsZero()
}

// armTimer makes sure the simulator wakes up at the next change. A timer
// armed for an earlier time re-arms when it fires.
func (s *Simulator) armTimer() {
	at, ok := s.nextChange()
	if !ok || (!s.wakeAt.IsZero() && !s.wakeAt.After(at)) {
		return
	}
	s.wakeAt = at
	d := at.Sub(s.now())
	wake := func() { s.wake(at) }
	if s.cfg.AfterFunc != nil {
		s.cfg.AfterFunc(d, wake)
		return
	}
	time.AfterFunc(d, wake)
}

func (s *Simulator) wake(at time.Time) {
	s.mu.Lock()
	if s.wakeAt.Equal(at) {
		s.wakeAt = time.Time{}
	}
	s.advance()
	s.settle()
	s.mu.Unlock()
	s.runPending()
}
