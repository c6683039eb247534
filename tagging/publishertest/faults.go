package publishertest

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults is the fault switch a vendor fake embeds: it gives the fake
// Fake's Throttle, SetDown and Requests, and Admit counts each request and
// answers it, in the vendor's own words, while the fake is told to be down
// or throttled.
type Faults struct {
	mu         sync.Mutex
	requests   int
	throttle   int
	retryAfter time.Duration
	down       bool
}

// Throttle makes the next n requests answer 429, with Retry-After (whole
// seconds) when retryAfter > 0.
func (f *Faults) Throttle(n int, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle, f.retryAfter = n, retryAfter
}

// SetDown makes every request answer 503 while down.
func (f *Faults) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// Requests is how many requests the fake has answered.
func (f *Faults) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// Admit counts a request and reports whether the fake may go on with it:
// while down it writes unavailable (a 503), while throttled it sets
// Retry-After when asked and writes throttled (a 429).
func (f *Faults) Admit(w http.ResponseWriter, unavailable, throttled func(http.ResponseWriter)) bool {
	f.mu.Lock()
	f.requests++
	down, isThrottled, wait := f.down, f.throttle > 0, f.retryAfter
	if isThrottled && !down {
		f.throttle--
	}
	f.mu.Unlock()
	switch {
	case down:
		unavailable(w)
	case isThrottled:
		if wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
		}
		throttled(w)
	default:
		return true
	}
	return false
}

// Gate is Admit as a middleware in front of next.
func (f *Faults) Gate(next http.Handler, unavailable, throttled func(http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.Admit(w, unavailable, throttled) {
			next.ServeHTTP(w, r)
		}
	})
}
