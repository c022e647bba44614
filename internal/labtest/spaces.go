package labtest

import (
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

// SpacesEndpoint is the lab's Spaces URL.
func (l *Lab) SpacesEndpoint() (string, error) {
	do, err := l.DigitalOceanEndpoint()
	return strings.TrimSuffix(do, "/"), err
}

// DropletUserData is a droplet's user data as its metadata service serves
// it to any process on the droplet, for the droplet's whole life.
func (l *Lab) DropletUserData(id int) ([]byte, error) {
	endpoint, err := l.DigitalOceanEndpoint()
	if err != nil {
		return nil, err
	}
	resp, err := http.Get(strings.TrimSuffix(endpoint, "/") + "/_lab/droplets/" + strconv.Itoa(id) + "/user_data")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("user data of droplet %d: %s: %s", id, resp.Status, body)
	}
	return body, nil
}
