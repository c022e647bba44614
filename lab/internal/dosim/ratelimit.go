package dosim

import (
	"net/http"
	"strconv"
	"time"
)

// rateLimiter keeps DigitalOcean's request limits per token: a sliding
// hour and a sliding minute. Its headers describe the hour, as
// DigitalOcean's do.
type rateLimiter struct {
	// seen holds, per token, the times of the requests of the last hour,
	// oldest first.
	seen map[string][]time.Time
}

func newRateLimiter() *rateLimiter { return &rateLimiter{seen: map[string][]time.Time{}} }

// rateState is what one request learns about its token's limit.
type rateState struct {
	limit, remaining int
	reset            time.Time
	exceeded         bool
}

// take counts a request unless it is over a limit, and says which.
func (l *rateLimiter) take(token string, now time.Time, cfg Config) rateState {
	hourly, perMinute := cfg.RateLimitPerHour, cfg.RateLimitPerMinute
	if hourly <= 0 {
		hourly = 5000
	}
	if perMinute <= 0 {
		perMinute = 250
	}
	times := l.seen[token]
	for len(times) > 0 && !times[0].After(now.Add(-time.Hour)) {
		times = times[1:]
	}
	lastMinute := 0
	for i := len(times) - 1; i >= 0 && times[i].After(now.Add(-time.Minute)); i-- {
		lastMinute++
	}
	st := rateState{limit: hourly}
	if len(times) >= hourly || lastMinute >= perMinute {
		st.exceeded = true
	} else {
		times = append(times, now)
	}
	l.seen[token] = times
	st.remaining = max(hourly-len(times), 0)
	st.reset = now
	if len(times) > 0 {
		st.reset = times[0].Add(time.Hour)
	}
	return st
}

func (st rateState) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("ratelimit-limit", strconv.Itoa(st.limit))
	h.Set("ratelimit-remaining", strconv.Itoa(st.remaining))
	h.Set("ratelimit-reset", strconv.FormatInt(st.reset.Unix(), 10))
}
