package labtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The lab's Spaces key, as `capi-lab env` prints it (SPACES_ACCESS_KEY_ID
// and SPACES_SECRET_ACCESS_KEY); Spaces is served at the DigitalOcean
// simulator's address (SPACES_ENDPOINT_URL).
const (
	SpacesAccessKeyID     = "capi-lab-spaces"
	SpacesSecretAccessKey = "capi-lab-spaces-secret"
)

// SpacesEndpoint is the lab's Spaces URL, as `capi-lab env` prints it
// (SPACES_ENDPOINT_URL).
func (l *Lab) SpacesEndpoint() (string, error) {
	out, err := l.run("env")
	if err != nil {
		return "", fmt.Errorf("capi-lab env: %w\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "export ")
		if v, ok := strings.CutPrefix(line, "SPACES_ENDPOINT_URL="); ok {
			return strings.Trim(v, `'"`), nil
		}
	}
	return "", errors.New("capi-lab env prints no SPACES_ENDPOINT_URL: the lab has no Spaces")
}

// DropletUserData is a droplet's user data as its metadata service serves
// it to any process on the droplet, for the droplet's whole life.
func (l *Lab) DropletUserData(id int) ([]byte, error) {
	body, err := l.doControlGet("/_lab/droplets/" + strconv.Itoa(id) + "/user_data")
	if err != nil {
		return nil, fmt.Errorf("user data of droplet %d: %w", id, err)
	}
	return body, nil
}

// SpacesObjects lists the live objects in the lab's Spaces, ID
// bucket/key, from the DigitalOcean simulator's leak check.
func (l *Lab) SpacesObjects() ([]LiveResource, error) {
	body, err := l.doControlGet("/_lab/resources")
	if err != nil {
		return nil, err
	}
	// The DigitalOcean simulator's tags are names, not AWS's key/value
	// pairs: they are left out.
	var all []struct {
		Kind  string `json:"kind"`
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if err := json.Unmarshal(body, &all); err != nil {
		return nil, fmt.Errorf("the DigitalOcean simulator's resources: %w", err)
	}
	var out []LiveResource
	for _, r := range all {
		if r.Kind == "spaces_object" {
			out = append(out, LiveResource{Kind: r.Kind, ID: r.ID, State: r.State})
		}
	}
	return out, nil
}

// doControlGet reads a path of the DigitalOcean simulator's control API.
func (l *Lab) doControlGet(path string) ([]byte, error) {
	endpoint, err := l.DigitalOceanEndpoint()
	if err != nil {
		return nil, err
	}
	resp, err := http.Get(strings.TrimSuffix(endpoint, "/") + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return body, nil
}
