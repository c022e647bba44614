package dosim

import (
	"net/http"
	"strconv"
	"time"
)

// rateLimiter keeps DigitalOcean's request limits per token: a sliding
// hour (5000 requests) and a sliding minute (250). Its headers describe
// the hour, as DigitalOcean's do.
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

// take counts a request unless it is over an enforced limit, and says
// which. The headers describe DigitalOcean's hourly 5000 (or the
// configured hourly limit); the limits are enforced only when set, as the
// lab's users share one placeholder token.
func (l *rateLimiter) take(token string, now time.Time, cfg Config) rateState {
	hourly := cfg.RateLimitPerHour
	if hourly <= 0 {
		hourly = 5000
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
	if (cfg.RateLimitPerHour > 0 && len(times) >= cfg.RateLimitPerHour) || (cfg.RateLimitPerMinute > 0 && lastMinute >= cfg.RateLimitPerMinute) {
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
