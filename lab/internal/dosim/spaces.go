package dosim

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/terraform-capi/terraform-provider-capi/lab/internal/spacessim"
)

// Spaces is served on the API's address, off its /v2/ and /_lab/ paths:
// path-style requests /{bucket}/{key}, which no API path is (bucket names
// are three or more characters of [a-z0-9-], so never v2 or _lab). Its
// calls are counted and faulted under spaces:<Action>, not rate limited
// with the API's token: Spaces is another service, with its own key and
// its own limits.

// newSpaces is the account's Spaces, on the simulator's clock, faulted
// and counted as the API's calls are.
func (s *Simulator) newSpaces() *spacessim.Simulator {
	sp := spacessim.New()
	sp.Now = s.cfg.Now
	sp.Fault = func(action string) string {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls[action]++
		f := s.injectedFault(action)
		switch {
		case f == nil:
			return ""
		case f.Error == "":
			return spacessim.FaultThrottling
		}
		// The control API's fault kinds are Spaces' too.
		return f.Error
	}
	return sp
}

// isSpacesPath says whether a request is for Spaces rather than the API.
func isSpacesPath(path string) bool {
	return !strings.HasPrefix(path, "/v2/") && path != "/v2" && !strings.HasPrefix(path, "/_lab/")
}

// spacesResources are the live buckets and objects, for the leak check.
func (s *Simulator) spacesResources() []LiveResource {
	var out []LiveResource
	for _, r := range s.spaces.Resources() {
		// Buckets and objects have no state of their own: live ones are
		// there to use.
		out = append(out, LiveResource{Kind: r.Kind, ID: r.ID, Name: r.ID, State: "active", Region: r.Region})
	}
	return out
}

// serveUserData answers GET /_lab/droplets/{id}/user_data: what the
// droplet's metadata service serves at /metadata/v1/user-data, to any
// process on the droplet, for the droplet's whole life.
func (s *Simulator) serveUserData(w http.ResponseWriter, r *http.Request) bool {
	rest, ok := strings.CutPrefix(r.URL.Path, "/_lab/droplets/")
	idText, ok2 := strings.CutSuffix(rest, "/user_data")
	if !ok || !ok2 || r.Method != http.MethodGet {
		return false
	}
	id, err := strconv.Atoi(idText)
	if err != nil {
		http.Error(w, "no such droplet", http.StatusNotFound)
		return true
	}
	s.mu.Lock()
	d := s.droplets[id]
	var data []byte
	if d != nil {
		data = append(data, d.userData...)
	}
	s.mu.Unlock()
	if d == nil {
		http.Error(w, "no such droplet", http.StatusNotFound)
		return true
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(data)
	return true
}
