package dosim

import (
	"slices"
	"time"
)

// forwardKey names what a client connects to: a load balancer's IP and
// a forwarding rule's entry port.
type forwardKey struct {
	ip   string
	port int
}

// healthyAfter is how long a new droplet of lb takes to pass its health
// checks: healthy_threshold checks check_interval_seconds apart, scaled
// by Config.HealthCheckTimeScale.
func (s *Simulator) healthyAfter(lb *loadBalancer) time.Duration {
	scale := s.cfg.HealthCheckTimeScale
	if scale <= 0 {
		scale = 1
	}
	hc := lb.HealthCheck
	return time.Duration(float64(hc.HealthyThreshold*hc.CheckIntervalSeconds) * float64(time.Second) * scale)
}

// checkable says whether the load balancer's health check can ever pass
// on a droplet: it must probe a port the droplets serve (a forwarding
// rule's target port), and, as what the lab serves there is a TLS API
// server, over TCP or HTTPS; plain HTTP gets no answer it accepts.
func checkable(lb *loadBalancer) bool {
	hc := lb.HealthCheck
	if hc.Protocol == "http" {
		return false
	}
	return slices.ContainsFunc(lb.ForwardingRules, func(fr forwardingRule) bool { return fr.TargetPort == hc.Port })
}

// isTarget says whether a droplet receives the load balancer's traffic:
// named by ID or carrying its tag, active, and in its VPC.
func (lb *loadBalancer) isTarget(d *droplet) bool {
	named := slices.Contains(lb.DropletIDs, d.ID) || (lb.Tag != "" && hasTag(d.Tags, lb.Tag))
	return named && d.Status == "active" && d.VPCUUID == lb.VPCUUID
}

// trackTargets notes when each droplet became a target of each load
// balancer and forgets those that stopped being one. It runs with the
// lock held.
func (s *Simulator) trackTargets() {
	now := s.now()
	for _, lb := range s.lbs {
		for id := range lb.targets {
			if d := s.droplets[id]; d == nil || !lb.isTarget(d) {
				delete(lb.targets, id)
			}
		}
		for _, d := range s.droplets {
			if _, known := lb.targets[d.ID]; !known && lb.isTarget(d) {
				lb.targets[d.ID] = now
			}
		}
	}
}

// healthyTargets counts the droplets of lb that have passed their checks.
func (s *Simulator) healthyTargets(lb *loadBalancer) int {
	if !checkable(lb) {
		return 0
	}
	n := 0
	for _, since := range lb.targets {
		if !s.now().Before(s.healthyAt(lb, since)) {
			n++
		}
	}
	return n
}

// healthyAt is when a droplet that became a target at since passes its
// checks: they run once the load balancer is active.
func (s *Simulator) healthyAt(lb *loadBalancer, since time.Time) time.Time {
	start := since
	if active := lb.created.Add(s.cfg.LoadBalancerDelay); active.After(start) {
		start = active
	}
	return start.Add(s.healthyAfter(lb))
}

// routable lists the forwarding rules that forward connections: their
// load balancer is active with an IP and has a healthy droplet.
func (s *Simulator) routable() map[forwardKey]bool {
	out := map[forwardKey]bool{}
	for _, lb := range s.lbs {
		if lb.Status != "active" || lb.IP == "" || s.healthyTargets(lb) == 0 {
			continue
		}
		for _, fr := range lb.ForwardingRules {
			out[forwardKey{lb.IP, fr.EntryPort}] = true
		}
	}
	return out
}

// reportHealth queues OnLoadBalancerHealth for every forwarding rule
// whose state changed since the last report. It runs with the lock held.
func (s *Simulator) reportHealth() {
	s.trackTargets()
	now := s.routable()
	var changed []forwardKey
	for k := range now {
		if !s.reported[k] {
			changed = append(changed, k)
		}
	}
	for k := range s.reported {
		if !now[k] {
			changed = append(changed, k)
		}
	}
	s.reported = now
	if cb := s.OnLoadBalancerHealth; cb != nil {
		for _, k := range changed {
			s.pending = append(s.pending, func() { s.deliverHealth(cb, k) })
		}
	}
	s.pending = append(s.pending, s.pendingAfterHealth...)
	s.pendingAfterHealth = nil
}

// deliverHealth calls cb with the rule's current state, not the one that
// queued the call: reports queued by concurrent requests may run in any
// order, and the last one must tell the truth.
func (s *Simulator) deliverHealth(cb func(ip string, port int, healthy bool), k forwardKey) {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	s.mu.Lock()
	healthy := s.reported[k]
	s.mu.Unlock()
	cb(k.ip, k.port, healthy)
}
