package dosim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// control calls the control API.
func (l *lab) control(t *testing.T, method, path, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, l.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (l *lab) controlOK(t *testing.T, method, path, body string, out any) {
	t.Helper()
	resp := l.control(t, method, path, body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		decodeJSON(t, resp, out)
		return
	}
	resp.Body.Close()
}

func itoa(i int) string { return strconv.Itoa(i) }

// newServer serves sim on a loopback port for the test's life.
func newServer(t *testing.T, sim *Simulator) string {
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return srv.URL
}
