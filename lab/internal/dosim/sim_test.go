package dosim

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"golang.org/x/oauth2"
)

// clock is a settable time for the simulator; it moves only when a test
// says so, and resources move on at the next call.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// lab is a simulator behind an HTTP server with a godo client for it.
type lab struct {
	sim    *Simulator
	srv    *httptest.Server
	clock  *clock
	client *godo.Client
}

// newLab starts a simulator on a fake clock whose timers never fire by
// themselves: every change happens at a call.
func newLab(t *testing.T, cfg Config) *lab {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Now = c.Now
	cfg.AfterFunc = func(time.Duration, func()) {}
	sim := New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &lab{sim: sim, srv: srv, clock: c, client: newClient(t, srv.URL+"/")}
}

// newClient is godo as a provider builds it: an OAuth2 client with a
// static token, and the base URL at the server's root.
func newClient(t *testing.T, baseURL string, opts ...godo.ClientOpt) *godo.Client {
	t.Helper()
	return newClientWithToken(t, baseURL, "capi-lab", opts...)
}

func newClientWithToken(t *testing.T, baseURL, token string, opts ...godo.ClientOpt) *godo.Client {
	t.Helper()
	hc := oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}))
	client, err := godo.New(hc, append([]godo.ClientOpt{godo.SetBaseURL(baseURL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

var ctx = context.Background()

// statusOf is the HTTP status of a godo error, 0 for none.
func statusOf(err error) int {
	var e *godo.ErrorResponse
	if errors.As(err, &e) && e.Response != nil {
		return e.Response.StatusCode
	}
	return 0
}

// mustStatus fails unless err is an API error with that status.
func mustStatus(t *testing.T, err error, status int) {
	t.Helper()
	if got := statusOf(err); got != status {
		t.Fatalf("want HTTP %d, got %v (status %d)", status, err, got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ubuntu is the distribution image every droplet test boots by default.
var ubuntu = godo.DropletCreateImage{Slug: "ubuntu-24-04-x64"}

func (l *lab) createDroplet(t *testing.T, req godo.DropletCreateRequest) *godo.Droplet {
	t.Helper()
	if req.Region == "" {
		req.Region = "nyc3"
	}
	if req.Size == "" {
		req.Size = "s-2vcpu-4gb"
	}
	if req.Image == (godo.DropletCreateImage{}) {
		req.Image = ubuntu
	}
	d, _, err := l.client.Droplets.Create(ctx, &req)
	must(t, err)
	return d
}

func TestBearerTokenRequired(t *testing.T) {
	l := newLab(t, Config{})
	for _, auth := range []string{"", "Bearer ", "Basic abc"} {
		req, _ := http.NewRequest(http.MethodGet, l.srv.URL+"/v2/account", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		var body map[string]string
		decodeJSON(t, resp, &body)
		if resp.StatusCode != http.StatusUnauthorized || body["id"] != "Unauthorized" || body["message"] != "Unable to authenticate you" ||
			body["request_id"] == "" || resp.Header.Get("x-request-id") != body["request_id"] || resp.Header.Get("ratelimit-limit") == "" {
			t.Fatalf("%q: %d %v %v", auth, resp.StatusCode, body, resp.Header)
		}
	}
	acct, _, err := l.client.Account.Get(ctx)
	must(t, err)
	if acct.DropletLimit != 25 || acct.Status != "active" {
		t.Fatalf("account %+v", acct)
	}
}

func TestUnknownPathIsNotFound(t *testing.T) {
	l := newLab(t, Config{})
	req, _ := l.client.NewRequest(ctx, http.MethodGet, "v2/nothing-here", nil)
	_, err := l.client.Do(ctx, req, nil)
	mustStatus(t, err, http.StatusNotFound)
}
