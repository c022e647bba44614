package dosim

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// The control API, for tests and benchmarks, on the same listener:
//
//	GET    /_lab/resources  every live resource (the leak check):
//	                        [{"kind","id","name","state","region","tags"}], with Spaces'
//	                        spaces_bucket (id: its name) and spaces_object (id: bucket/key)
//	GET    /_lab/calls      calls per action: {"droplets:create": 3, "spaces:PutObject": 1, ...}
//	PUT    /_lab/faults     replace the injected faults: [{"action","rate","error"}],
//	                        error throttling|server|quota|created-then-server; on
//	                        spaces:<Action>, throttling is 503 SlowDown, server 500
//	                        InternalError, quota TooManyBuckets (CreateBucket)
//	DELETE /_lab/faults     remove them
//	PUT    /_lab/timing     {"bootDelay":"2s","actionDelay":"0s","loadBalancerDelay":"0s",
//	                         "loadBalancerIPDelay":"0s","vpcReleaseDelay":"0s","healthCheckTimeScale":0.05};
//	                        fields left out keep their values
//	PUT    /_lab/limits     {"dropletLimit":25,"rateLimitPerHour":5000,"rateLimitPerMinute":250};
//	                        the rate limits are enforced only once set
//	GET    /_lab/droplets/{id}/user_data  a droplet's user data, as its metadata
//	                        service serves it
//	GET    /_lab/images     the catalog: [{"id","name","slug","kubernetesVersion"}]
//	PUT    /_lab/images     register images: [{"name","slug","distribution","kubernetesVersion",
//	                        "minDiskSizeGB","regions","createdAt"}], answers [{"name","id"}]
func (s *Simulator) serveControl(w http.ResponseWriter, r *http.Request) {
	if s.serveUserData(w, r) {
		return
	}
	switch {
	case r.URL.Path == "/_lab/resources" && r.Method == http.MethodGet:
		controlJSON(w, s.Resources())
	case r.URL.Path == "/_lab/calls" && r.Method == http.MethodGet:
		controlJSON(w, s.Calls())
	case r.URL.Path == "/_lab/faults" && r.Method == http.MethodPut:
		var faults []Fault
		if err := json.NewDecoder(r.Body).Decode(&faults); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, f := range faults {
			if f.Rate < 0 || f.Rate > 1 || f.Action == "" || !validFaultKind(f.Error) {
				http.Error(w, "each fault needs an action, a rate between 0 and 1 and an error of throttling, server, quota or created-then-server",
					http.StatusBadRequest)
				return
			}
		}
		s.SetFaults(faults)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_lab/faults" && r.Method == http.MethodDelete:
		s.SetFaults(nil)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_lab/timing" && r.Method == http.MethodPut:
		s.putTiming(w, r)
	case r.URL.Path == "/_lab/limits" && r.Method == http.MethodPut:
		var l struct{ DropletLimit, RateLimitPerHour, RateLimitPerMinute *int }
		if err := json.NewDecoder(r.Body).Decode(&l); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cfg := s.config()
		for _, f := range []struct{ in, out *int }{{l.DropletLimit, &cfg.DropletLimit}, {l.RateLimitPerHour, &cfg.RateLimitPerHour},
			{l.RateLimitPerMinute, &cfg.RateLimitPerMinute}} {
			if f.in == nil {
				continue
			}
			if *f.in < 1 {
				http.Error(w, "limits must be positive", http.StatusBadRequest)
				return
			}
			*f.out = *f.in
		}
		s.SetConfig(cfg)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_lab/images" && r.Method == http.MethodGet:
		controlJSON(w, s.Images())
	case r.URL.Path == "/_lab/images" && r.Method == http.MethodPut:
		var specs []ImageSpec
		if err := json.NewDecoder(r.Body).Decode(&specs); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		registered, err := s.RegisterImages(specs)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		controlJSON(w, registered)
	default:
		http.NotFound(w, r)
	}
}

func (s *Simulator) putTiming(w http.ResponseWriter, r *http.Request) {
	var t struct {
		BootDelay, ActionDelay, LoadBalancerDelay, LoadBalancerIPDelay, VPCReleaseDelay string
		HealthCheckTimeScale                                                            *float64
	}
	if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cfg := s.config()
	for _, d := range []struct {
		in  string
		out *time.Duration
	}{{t.BootDelay, &cfg.BootDelay}, {t.ActionDelay, &cfg.ActionDelay}, {t.LoadBalancerDelay, &cfg.LoadBalancerDelay},
		{t.LoadBalancerIPDelay, &cfg.LoadBalancerIPDelay}, {t.VPCReleaseDelay, &cfg.VPCReleaseDelay}} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil || v < 0 {
			http.Error(w, "durations must be Go durations, not negative: "+d.in, http.StatusBadRequest)
			return
		}
		*d.out = v
	}
	if t.HealthCheckTimeScale != nil {
		if *t.HealthCheckTimeScale < 0 {
			http.Error(w, "healthCheckTimeScale must not be negative", http.StatusBadRequest)
			return
		}
		cfg.HealthCheckTimeScale = *t.HealthCheckTimeScale
	}
	s.SetConfig(cfg)
	w.WriteHeader(http.StatusNoContent)
}

func controlJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// LiveResource is one entry of the leak check.
type LiveResource struct {
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	State string `json:"state,omitempty"`
	// Region is set for Spaces buckets and objects.
	Region string   `json:"region,omitempty"`
	Tags   []string `json:"tags,omitempty"`
}

// Resources lists every resource the account has made, sorted by kind
// and ID: droplets, VPCs (not the regions' default ones, which the
// account always has), firewalls, load balancers, tags, SSH keys, and
// Spaces buckets and objects.
// Tags outlive the droplets that created them, as on DigitalOcean.
func (s *Simulator) Resources() []LiveResource {
	s.mu.Lock()
	s.advance()
	out := []LiveResource{}
	for _, d := range s.droplets {
		out = append(out, LiveResource{Kind: "droplet", ID: strconv.Itoa(d.ID), Name: d.Name, State: d.Status, Tags: d.Tags})
	}
	for _, v := range s.vpcs {
		if !v.Default {
			out = append(out, LiveResource{Kind: "vpc", ID: v.ID, Name: v.Name})
		}
	}
	for _, f := range s.firewalls {
		out = append(out, LiveResource{Kind: "firewall", ID: f.ID, Name: f.Name, State: f.Status, Tags: f.Tags})
	}
	for _, lb := range s.lbs {
		out = append(out, LiveResource{Kind: "load_balancer", ID: lb.ID, Name: lb.Name, State: lb.Status, Tags: lb.Tags})
	}
	for _, t := range s.tags {
		out = append(out, LiveResource{Kind: "tag", ID: t.Name, Name: t.Name})
	}
	for _, k := range s.keys {
		out = append(out, LiveResource{Kind: "ssh_key", ID: strconv.Itoa(k.ID), Name: k.Name})
	}
	s.settle()
	s.mu.Unlock()
	s.runPending()
	// Outside the lock: Spaces takes its own, and asks for this one as it
	// counts a call.
	out = append(out, s.spacesResources()...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Calls returns the number of calls per action so far.
func (s *Simulator) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// CatalogImage is one image of the catalog, as GET /_lab/images lists it.
type CatalogImage struct {
	ID                int    `json:"id"`
	Name              string `json:"name"`
	Slug              string `json:"slug,omitempty"`
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
}

// Images lists the catalog sorted by name.
func (s *Simulator) Images() []CatalogImage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []CatalogImage{}
	for _, img := range s.images {
		c := CatalogImage{ID: img.ID, Name: img.Name, KubernetesVersion: img.kubernetesVersion}
		if img.Slug != nil {
			c.Slug = *img.Slug
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
