package cloud

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// A create is re-sent only when DigitalOcean surely did nothing; other
// requests keep godo's policy.
func TestRetryPolicy(t *testing.T) {
	policy := retryPolicy(retryablehttp.DefaultRetryPolicy)
	create, other := withoutResend(context.Background()), context.Background()
	dial := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	read := &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}
	for _, c := range []struct {
		name  string
		ctx   context.Context
		resp  *http.Response
		err   error
		retry bool
	}{
		{"create throttled", create, &http.Response{StatusCode: 429}, nil, true},
		{"create answered 500", create, &http.Response{StatusCode: 500}, nil, false},
		{"create answered 503", create, &http.Response{StatusCode: 503}, nil, false},
		{"create never connected", create, nil, dial, true},
		{"create lost on the way back", create, nil, read, false},
		{"create refused", create, &http.Response{StatusCode: 422}, nil, false},
		{"read answered 500", other, &http.Response{StatusCode: 500}, nil, true},
		{"read throttled", other, &http.Response{StatusCode: 429}, nil, true},
		{"read reset", other, nil, read, true},
		{"read not found", other, &http.Response{StatusCode: 404}, nil, false},
	} {
		if retry, _ := policy(c.ctx, c.resp, c.err); retry != c.retry {
			t.Errorf("%s: retry %v, want %v", c.name, retry, c.retry)
		}
	}
}

// A 429 waits until the rate limit's reset, within the client's bounds.
func TestBackoffWaitsForRateLimitReset(t *testing.T) {
	throttled := func(reset time.Time) *http.Response {
		return &http.Response{StatusCode: 429, Header: http.Header{rateLimitReset: []string{strconv.FormatInt(reset.Unix(), 10)}}}
	}
	if d := backoff(time.Second, 30*time.Second, 0, throttled(time.Now().Add(10*time.Second))); d < 8*time.Second || d > 10*time.Second {
		t.Errorf("reset in 10 s: wait %s", d)
	}
	if d := backoff(time.Second, 30*time.Second, 0, throttled(time.Now().Add(time.Hour))); d != 30*time.Second {
		t.Errorf("reset in an hour: wait %s, want the maximum", d)
	}
	if d := backoff(time.Second, 30*time.Second, 0, throttled(time.Now().Add(-time.Minute))); d != time.Second {
		t.Errorf("reset passed: wait %s, want the minimum", d)
	}
	if d := backoff(time.Second, 30*time.Second, 2, &http.Response{StatusCode: 500}); d != 4*time.Second {
		t.Errorf("third retry of a 500: wait %s", d)
	}
}

// The client's retries are this package's: a godo whose HTTP client is
// built otherwise fails to make a client rather than re-send creates.
func TestNewClientTunesGodoRetries(t *testing.T) {
	c, err := NewClient(Settings{Token: "t", APIURL: "http://127.0.0.1:1/"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tuneRetries(c.godo.HTTPClient); err != nil {
		t.Fatal(err)
	}
	if err := tuneRetries(http.DefaultClient); !errors.Is(err, errRetryLayout) {
		t.Errorf("a plain HTTP client: %v", err)
	}
	t.Setenv("DIGITALOCEAN_TOKEN", "")
	t.Setenv("DIGITALOCEAN_ACCESS_TOKEN", "")
	if _, err := NewClient(Settings{}); AsPermanent(err) == nil {
		t.Errorf("no token: %v, want a permanent error", err)
	}
}
