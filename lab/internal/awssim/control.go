package awssim

import (
	"encoding/json"
	"net/http"
	"time"
)

// The control API, for tests and benchmarks:
//
//	GET    /_lab/resources   every live resource (the leak check)
//	GET    /_lab/calls       calls per "service:Action"
//	PUT    /_lab/faults      replace the injected faults: [{"action","rate","error"}]
//	DELETE /_lab/faults      remove them
//	PUT    /_lab/timing      {"bootDelay":"2s","terminateDelay":"0s","natGatewayDelay":"0s",
//	                          "loadBalancerDelay":"0s","loadBalancerDetachDelay":"0s","consistencyDelay":"0s",
//	                          "healthCheckTimeScale":0.05};
//	                          fields left out keep their values
//	PUT    /_lab/images      register images: [{"name","owner","rootDeviceName","snapshotSizeGiB",
//	                          "architecture","kubernetesVersion","state","creationDate","imdsSupport"}],
//	                          answers [{"name","imageId"}]
//	PUT    /_lab/instance-profiles  add instance profiles: ["name", ...]
func (s *Simulator) serveControl(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_lab/resources" && r.Method == http.MethodGet:
		writeJSON(w, s.Resources())
	case r.URL.Path == "/_lab/calls" && r.Method == http.MethodGet:
		writeJSON(w, s.Calls())
	case r.URL.Path == "/_lab/faults" && r.Method == http.MethodPut:
		var faults []Fault
		if err := json.NewDecoder(r.Body).Decode(&faults); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, f := range faults {
			if f.Rate < 0 || f.Rate > 1 || f.Action == "" {
				http.Error(w, "each fault needs an action and a rate between 0 and 1", http.StatusBadRequest)
				return
			}
		}
		s.SetFaults(faults)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_lab/faults" && r.Method == http.MethodDelete:
		s.SetFaults(nil)
		w.WriteHeader(http.StatusNoContent)
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
		writeJSON(w, registered)
	case r.URL.Path == "/_lab/instance-profiles" && r.Method == http.MethodPut:
		var names []string
		if err := json.NewDecoder(r.Body).Decode(&names); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.RegisterInstanceProfiles(names); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_lab/timing" && r.Method == http.MethodPut:
		var t struct {
			BootDelay, TerminateDelay, NATGatewayDelay, LoadBalancerDelay, LoadBalancerDetachDelay, ConsistencyDelay string
			HealthCheckTimeScale                                                                                     *float64
		}
		if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cfg := s.config()
		for _, d := range []struct {
			in  string
			out *time.Duration
		}{{t.BootDelay, &cfg.BootDelay}, {t.TerminateDelay, &cfg.TerminateDelay}, {t.NATGatewayDelay, &cfg.NATGatewayDelay},
			{t.LoadBalancerDelay, &cfg.LoadBalancerDelay}, {t.LoadBalancerDetachDelay, &cfg.LoadBalancerDetachDelay},
			{t.ConsistencyDelay, &cfg.ConsistencyDelay}} {
			if d.in == "" {
				continue
			}
			v, err := time.ParseDuration(d.in)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
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
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
