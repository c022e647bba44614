package awssim

import "time"

// listenerKey names what a client connects to: a load balancer's DNS name
// and a listener's port.
type listenerKey struct {
	dnsName string
	port    int
}

// healthyAfter is how long a new target of tg takes to pass its health
// checks: HealthyThreshold checks Interval apart, scaled by
// Config.HealthCheckTimeScale.
func (s *Simulator) healthyAfter(tg *targetGroup) time.Duration {
	scale := s.cfg.HealthCheckTimeScale
	if scale <= 0 {
		scale = 1
	}
	return time.Duration(float64(tg.HealthyThresholdCount*tg.HealthCheckIntervalSeconds) * float64(time.Second) * scale)
}

// routable lists the listeners that forward connections: their load
// balancer is active and one of their target groups has a healthy target.
// An NLB routes nothing to a target still in its initial health checks,
// so a listener with none healthy is left out.
func (s *Simulator) routable() map[listenerKey]bool {
	out := map[listenerKey]bool{}
	for _, l := range s.listeners {
		lb := s.lbs[l.LoadBalancerArn]
		if lb == nil || lb.State.Code != "active" || !s.anyHealthyTarget(l) {
			continue
		}
		out[listenerKey{lb.DNSName, l.Port}] = true
	}
	return out
}

func (s *Simulator) anyHealthyTarget(l *listener) bool {
	for _, a := range l.DefaultActions {
		tg := s.tgs[a.TargetGroupArn]
		if tg == nil {
			continue
		}
		for id := range tg.targets {
			if state, _ := s.targetHealth(tg, id); state == "healthy" {
				return true
			}
		}
	}
	return false
}

// reportHealth queues OnLoadBalancerHealth for every listener whose
// routability changed since the last report, and arms the timer for the
// next change that comes with time alone. It runs with the lock held.
func (s *Simulator) reportHealth() {
	now := s.routable()
	var changed []listenerKey
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
	s.armHealthTimer()
}

// deliverHealth calls cb with the listener's current routability, not
// the one that queued the call: reports queued by concurrent requests
// may run in any order, and the last one must tell the truth.
func (s *Simulator) deliverHealth(cb func(dnsName string, port int, healthy bool), k listenerKey) {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	s.mu.Lock()
	healthy := s.reported[k]
	s.mu.Unlock()
	cb(k.dnsName, k.port, healthy)
}

// nextHealthChange is the earliest time after now at which a listener may
// start forwarding without any call: a load balancer turning active or a
// target passing its health checks.
func (s *Simulator) nextHealthChange() (time.Time, bool) {
	now := s.now()
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, lb := range s.lbs {
		if lb.State.Code == "provisioning" {
			consider(lb.created.Add(s.cfg.LoadBalancerDelay))
		}
	}
	for _, tg := range s.tgs {
		for _, t := range tg.targets {
			consider(t.registered.Add(s.healthyAfter(tg)))
		}
	}
	return next, !next.IsZero()
}

// armHealthTimer makes sure the simulator wakes up at the next change. A
// timer armed for an earlier time re-arms when it fires; one that is no
// longer wanted wakes the simulator for nothing.
func (s *Simulator) armHealthTimer() {
	at, ok := s.nextHealthChange()
	if !ok || (!s.wakeAt.IsZero() && !s.wakeAt.After(at)) {
		return
	}
	s.wakeAt = at
	s.afterFunc(at.Sub(s.now()), func() { s.wake(at) })
}

func (s *Simulator) afterFunc(d time.Duration, f func()) {
	if s.cfg.AfterFunc != nil {
		s.cfg.AfterFunc(d, f)
		return
	}
	time.AfterFunc(d, f)
}

// wake moves resources on as a call would and reports what changed.
func (s *Simulator) wake(at time.Time) {
	s.mu.Lock()
	if s.wakeAt.Equal(at) {
		s.wakeAt = time.Time{}
	}
	s.advance()
	s.reportHealth()
	callbacks := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, cb := range callbacks {
		cb()
	}
}
