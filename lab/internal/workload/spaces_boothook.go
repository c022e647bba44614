package workload

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"
)

// The boothook that fetches a droplet's bootstrap data from DigitalOcean
// Spaces, as this project's provider writes it: a bash script that sets
// BOOTSTRAP_DATA_URL and BOOTSTRAP_DATA_DELETE_URL (presigned URLs, in
// single quotes) and FILE, GETs the first with curl into "${FILE}.gz",
// sends a DELETE to the second whether or not the GET worked (so that the
// object does not outlive the boot), and gunzips the result into FILE,
// which the user data's include part hands to cloud-init. The lab plays
// exactly that, over HTTP to the URLs with curl's retries, as the droplet
// reaches Spaces over the internet: no credential but the URLs'
// signatures. A fetch answered with an error (an object gone, a URL
// expired or tampered with) fails the boothook, and the droplet never
// joins.

// spacesAssignment is a line of the script that sets one of its
// variables, its value in single or double quotes or bare.
var spacesAssignment = regexp.MustCompile(`(?m)^[ \t]*(?:export[ \t]+)?(BOOTSTRAP_DATA_URL|BOOTSTRAP_DATA_DELETE_URL|FILE)=(?:'([^']*)'|"([^"$` + "`" + `\\]*)"|([^\s"'$` + "`" + `;#]*))[ \t]*(?:#.*)?$`)

// usesCurl matches a script that runs curl.
var usesCurl = regexp.MustCompile(`(?m)(^|[\s;&|(` + "`" + `])curl\s`)

// spacesFetchScript is what the lab reads from a Spaces boothook.
type spacesFetchScript struct {
	getURL, deleteURL, file string
}

// parseSpacesFetchScript reads the variables of a Spaces boothook; ok is
// false for a boothook that is not one.
func parseSpacesFetchScript(script []byte) (f spacesFetchScript, ok bool, err error) {
	vars := map[string]string{}
	for _, m := range spacesAssignment.FindAllSubmatch(script, -1) {
		vars[string(m[1])] = string(m[2]) + string(m[3]) + string(m[4])
	}
	get, hasGet := vars["BOOTSTRAP_DATA_URL"]
	if !hasGet || !usesCurl.Match(script) {
		return f, false, nil
	}
	f = spacesFetchScript{getURL: get, deleteURL: vars["BOOTSTRAP_DATA_DELETE_URL"], file: defaultBootstrapFile}
	if file, ok := vars["FILE"]; ok {
		f.file = file
	}
	if f.deleteURL == "" {
		return f, true, errors.New("BOOTSTRAP_DATA_DELETE_URL is not set")
	}
	return f, true, nil
}

// dropletHTTP is the droplet's curl: a timeout per request (curl has
// none by default, but a droplet's boot does not wait for ever).
var dropletHTTP = &http.Client{Timeout: 30 * time.Second}

// curlRetries is how often the droplet's curl tries again (--retry):
// after a failed connection (--retry-connrefused) or an answer curl takes
// for transient: 408, 429, 500, 502, 503 and 504. Any other answer is
// final.
const curlRetries = 5

// curlRetryDelay is the wait before the nth retry; curl waits seconds,
// the lab a fraction of that.
func curlRetryDelay(n int) time.Duration { return time.Duration(n) * 100 * time.Millisecond }

func transientStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// curl sends a request as the boothook's curl does, and returns the last
// answer's status and body, or the error of the last attempt to connect.
func curl(method, url string) (int, []byte, error) {
	var (
		status int
		body   []byte
		err    error
	)
	for attempt := range curlRetries + 1 {
		if attempt > 0 {
			time.Sleep(curlRetryDelay(attempt))
		}
		status, body, err = send(method, url)
		if err == nil && !transientStatus(status) {
			break
		}
	}
	return status, body, err
}

func send(method, url string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := dropletHTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// runSpacesBoothook plays a Spaces boothook on a droplet, writing the
// data into files.
func (s *Simulator) runSpacesBoothook(i Instance, f spacesFetchScript, files map[string][]byte) error {
	status, gz, getErr := curl(http.MethodGet, f.getURL)
	if getErr == nil && (status < 200 || status > 299) {
		// curl -f: an error answer is a failed fetch, whatever its body.
		getErr = fmt.Errorf("curl: (22) The requested URL returned error: %d", status)
	}
	// The DELETE goes whatever the GET did, so that the object does not
	// outlive the boot; its failure is only logged.
	if status, _, err := curl(http.MethodDelete, f.deleteURL); err != nil || status < 200 || status > 299 {
		s.log.Info("boothook could not delete its bootstrap data", "droplet", i.ID, "status", status, "error", fmt.Sprint(err))
	}
	if getErr != nil {
		return fmt.Errorf("cannot fetch the bootstrap data from Spaces: %w", getErr)
	}
	data, err := gunzip(gz)
	if err != nil {
		return fmt.Errorf("gunzip %s.gz: %w", f.file, err)
	}
	files[f.file] = data
	s.log.Info("bootstrap data fetched from Spaces", "droplet", i.ID)
	return nil
}
