package dosim

// Fault kinds.
const (
	// faultThrottling answers 429 too_many_requests.
	faultThrottling = "throttling"
	// faultServer answers 500 without doing anything.
	faultServer = "server"
	// faultQuota answers 422 with DigitalOcean's droplet-limit message.
	faultQuota = "quota"
	// faultCreatedThenServer does the call and then answers 500, as when
	// the answer is lost after DigitalOcean acted: a client that retries
	// a create makes a second resource unless it looks first.
	faultCreatedThenServer = "created-then-server"
)

// Fault makes a share of the calls to an action fail.
type Fault struct {
	// Action is a call's action ("droplets:create", see /_lab/calls), or
	// "*" for every call.
	Action string `json:"action"`
	// Rate is the share of calls that fail, from 0 to 1. The failures are
	// spread evenly: with 0.3, exactly 3 calls in every 10 fail, the first
	// of them the second call.
	Rate float64 `json:"rate"`
	// Error is throttling (the default), server, quota or
	// created-then-server.
	Error string `json:"error"`

	credit float64
}

func (f *Fault) apiError() *apiError {
	switch f.Error {
	case faultServer, faultCreatedThenServer:
		return serverError()
	case faultQuota:
		return unprocessable("creating this/these droplet(s) will exceed your droplet limit")
	default:
		return tooManyRequests()
	}
}

func validFaultKind(kind string) bool {
	switch kind {
	case "", faultThrottling, faultServer, faultQuota, faultCreatedThenServer:
		return true
	}
	return false
}

// injectedFault returns the fault that hits this call of the action, if
// any. It runs with the lock held.
func (s *Simulator) injectedFault(action string) *Fault {
	for _, f := range s.faults {
		if f.Action != "*" && f.Action != action {
			continue
		}
		f.credit += f.Rate
		if f.credit < 1 {
			continue
		}
		f.credit--
		return f
	}
	return nil
}

// SetFaults replaces the injected faults.
func (s *Simulator) SetFaults(faults []Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	for i := range faults {
		f := faults[i]
		// Starting half way makes the failures fall evenly.
		f.credit = 0.5
		s.faults = append(s.faults, &f)
	}
}
