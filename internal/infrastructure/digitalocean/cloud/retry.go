package cloud

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/oauth2"
)

// The HTTP client's retries: godo's defaults (4 retries, 1 s doubling to
// 30 s), so a throttled or failing call still fails within about a minute
// and the reconciler's own backoff takes over.
const (
	retryMax     = 4
	retryWaitMin = time.Second
	retryWaitMax = 30 * time.Second
)

// rateLimitReset is the header in which DigitalOcean says, as a Unix time,
// when the oldest request of the rate limit's window expires. Its 429s
// carry no Retry-After, which is all the HTTP client's backoff reads.
const rateLimitReset = "Ratelimit-Reset"

// noResendKey marks the context of a create, which the HTTP client must
// not re-send after an answer that may come from a create that happened.
type noResendKey struct{}

// withoutResend returns a context whose requests are retried only when
// DigitalOcean surely did nothing: a 429, or a connection that was never
// made. A 5xx or a timeout may come after the resource was made, and a
// re-sent POST would make a second droplet (names are not unique); the
// caller's next pass looks the resource up before it creates again.
func withoutResend(ctx context.Context) context.Context {
	return context.WithValue(ctx, noResendKey{}, true)
}

// errRetryLayout is returned when godo's retrying HTTP client is not
// built as this package expects, so that an upgrade of godo that changes
// it fails the first client instead of re-sending creates.
var errRetryLayout = errors.New("godo's retrying HTTP client has an unexpected layout: cannot set its retry policy")

// tuneRetries sets the retry policy and backoff of the HTTP client that
// godo.New built with WithRetryAndBackoffs: godo offers no option for
// either, and its policy re-sends any request after a 5xx.
func tuneRetries(hc *http.Client) error {
	t, ok := hc.Transport.(*oauth2.Transport)
	if !ok {
		return errRetryLayout
	}
	rt, ok := t.Base.(*retryablehttp.RoundTripper)
	if !ok || rt.Client == nil || rt.Client.CheckRetry == nil {
		return errRetryLayout
	}
	rt.Client.CheckRetry = retryPolicy(rt.Client.CheckRetry)
	rt.Client.Backoff = backoff
	return nil
}

// retryPolicy is godo's policy (connection errors, 429 and 5xx), except
// for creates (see withoutResend).
func retryPolicy(godoPolicy retryablehttp.CheckRetry) retryablehttp.CheckRetry {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		retry, checkErr := godoPolicy(ctx, resp, err)
		if !retry || ctx.Value(noResendKey{}) == nil {
			return retry, checkErr
		}
		if err != nil {
			var op *net.OpError
			return errors.As(err, &op) && op.Op == "dial", checkErr
		}
		return resp.StatusCode == http.StatusTooManyRequests, checkErr
	}
}

// backoff waits for the rate limit's reset on a 429 that names it (within
// the client's bounds), and otherwise as the HTTP client does by default.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		if reset, err := strconv.ParseInt(resp.Header.Get(rateLimitReset), 10, 64); err == nil {
			return min(max(time.Until(time.Unix(reset, 0)), minWait), maxWait)
		}
	}
	return retryablehttp.DefaultBackoff(minWait, maxWait, attempt, resp)
}
