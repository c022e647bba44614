package workload

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// The boothook that fetches a droplet's bootstrap data from DigitalOcean
// Spaces, as this project's provider writes it: a bash script that sets
// BOOTSTRAP_DATA_URL and BOOTSTRAP_DATA_DELETE_URL (presigned URLs, in
// single quotes) and FILE, GETs the first with curl into "${FILE}.gz",
// sends a DELETE to the second whether or not the GET worked (so that the
// object does not outlive the boot), and gunzips the result into FILE,
// which the user data's include part hands to cloud-init. The lab plays
// exactly that, over HTTP to the URLs, as the droplet reaches Spaces over
// the internet: no credential but the URLs' signatures.

// spacesAssignment is a line of the script that sets one of its
// variables, its value in single or double quotes or bare.
var spacesAssignment = regexp.MustCompile(`(?m)^[ \t]*(?:export[ \t]+)?(BOOTSTRAP_DATA_URL|BOOTSTRAP_DATA_DELETE_URL|FILE)=(?:'([^']*)'|"([^"$` + "`" + `\\]*)"|([^\s"'$` + "`" + `;#]*))[ \t]*(?:#.*)?$`)

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
	if !hasGet || !strings.Contains(string(script), "curl ") {
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

// dropletHTTP is the droplet's curl: a timeout per request, and retries
// of connection failures only (curl --retry-connrefused): an HTTP answer,
// even an error, is final.
var dropletHTTP = &http.Client{Timeout: 30 * time.Second}

const dropletHTTPAttempts = 5

func dropletRequest(method, url string) (int, []byte, error) {
	var lastErr error
	for attempt := range dropletHTTPAttempts {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
		}
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			return 0, nil, err
		}
		resp, err := dropletHTTP.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, body, err
	}
	return 0, nil, lastErr
}

// runSpacesBoothook plays a Spaces boothook on a droplet, writing the
// data into files.
func (s *Simulator) runSpacesBoothook(i Instance, f spacesFetchScript, files map[string][]byte) error {
	status, gz, getErr := dropletRequest(http.MethodGet, f.getURL)
	if getErr == nil && (status < 200 || status > 299) {
		getErr = fmt.Errorf("curl: (22) The requested URL returned error: %d", status)
	}
	// The DELETE goes whatever the GET did; its failure is only logged.
	if status, _, err := dropletRequest(http.MethodDelete, f.deleteURL); err != nil || status < 200 || status > 299 {
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
