// Package amplitudetest is an in-memory fake of the two Amplitude APIs the
// amplitude publisher calls, built from their documentation:
//
//   - Identify API, https://amplitude.com/docs/apis/analytics/identify:
//     POST /identify, body form-data or x-www-form-urlencoded with api_key
//     and identification (one JSON object or an array); user_properties
//     operations $set and $unset, which cannot be mixed with plain
//     properties; status codes 200, 400 ("missing_event" when
//     identification is missing or malformed), 429. Its "throttling and
//     status code guidance" is HTTP V2's,
//     https://amplitude.com/docs/apis/analytics/http-v2: 400 with
//     {"code":400,"error":"Invalid API key: …"} for a refused key (observed
//     echoing the key, https://github.com/amplitude/Amplitude-Swift/issues/260),
//     400 "Request missing required field" for a missing api_key, 413 for a
//     request of 1 MB (1,000,000 bytes) or more or of 2000 events or more, user ids shorter
//     than 5 characters refused, and the 429 of a user or device over its
//     events a second or its daily quota (see Options and limits.go).
//   - Behavioral Cohorts API,
//     https://amplitude.com/docs/apis/analytics/behavioral-cohorts: Basic
//     auth api_key:secret_key; GET /api/3/cohorts → {"cohorts":[…]};
//     POST /api/3/cohorts/upload {name, app_id, id_type, ids, owner,
//     published, skip_invalid_ids?, existing_cohort_id?} → {"cohortId"};
//     POST /api/3/cohorts/membership {cohort_id, memberships:[{ids,
//     id_type, operation}], skip_invalid_ids} → {"cohort_id",
//     "memberships_result":[{"skipped_ids", "id_type", "operation"}]}; at
//     most 100,000 ids a request. Errors carry the documented error object
//     {"error":{"http_code","type","message"}}.
//
// Unconfirmed, and chosen here: a bad Basic auth pair answers 401 (the
// documentation names no code), and a 400 of the Cohorts API carries the
// error object.
//
// The fake answers every host (Client routes all requests to it) and
// records the URLs asked for, so tests can check the region's hosts.
package amplitudetest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/tagging/publishertest"
)

// Limits the fake enforces, as documented.
const (
	// MaxIdentifyBytes: HTTP V2 asks for requests "under 1 MB" and answers
	// 413 when "request size exceeds 1MB"; a megabyte there is decimal,
	// 1,000,000 bytes, not 1 MiB (https://amplitude.com/docs/apis/analytics/http-v2).
	// A body of this size or more is refused.
	MaxIdentifyBytes  = 1_000_000
	MaxIdentifyEvents = 2000    // HTTP V2: "fewer than 2000 events per request"
	MaxCohortIDs      = 100_000 // Cohorts API: ids per request
)

// Fake is the fake Amplitude. It implements publishertest.Fake.
type Fake struct {
	apiKey, secretKey string
	srv               *httptest.Server

	mu      sync.Mutex
	props   map[string]map[string]any // user id → user properties
	cohorts map[string]*cohort
	order   []string // cohort ids, in creation order
	unknown map[string]bool
	urls    []string
	uploads int
	limits  *limiter
	publishertest.Faults
}

type cohort struct {
	name, owner string
	appID       int64
	members     map[string]bool
}

var _ publishertest.Fake = (*Fake)(nil)

// New starts a fake that accepts apiKey (and, for the Cohorts API, the
// pair apiKey:secretKey), with the documented limits; it stops when t
// ends.
func New(t testing.TB, apiKey, secretKey string) *Fake {
	return NewWith(t, apiKey, secretKey, Options{})
}

// NewWith starts a fake as New does, with the limits and clock of o.
func NewWith(t testing.TB, apiKey, secretKey string, o Options) *Fake {
	f := &Fake{apiKey: apiKey, secretKey: secretKey, props: map[string]map[string]any{},
		cohorts: map[string]*cohort{}, unknown: map[string]bool{}, limits: newLimiter(o)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// Client returns an HTTP client that sends every request, whatever its
// host, to the fake.
func (f *Fake) Client() *http.Client {
	target, _ := url.Parse(f.srv.URL)
	return &http.Client{Timeout: 10 * time.Second, Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		f.mu.Lock()
		f.urls = append(f.urls, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
		f.mu.Unlock()
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = target.Scheme, target.Host
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Marked returns the user ids whose is_synthetic property is true, sorted.
func (f *Fake) Marked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id, p := range f.props {
		if p["is_synthetic"] == true {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Property returns a user property as the fake holds it.
func (f *Fake) Property(userID, key string) (any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.props[userID][key]
	return v, ok
}

// Listed returns the members of the first cohort created, sorted (nil
// when there is none).
func (f *Fake) Listed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.order) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(f.cohorts[f.order[0]].members))
}

// URLs are the URLs asked for (scheme, host and path), in order.
func (f *Fake) URLs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.urls)
}

// Uploads is how many cohort uploads succeeded.
func (f *Fake) Uploads() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.uploads
}

// AddCohort adds an existing cohort and returns its id.
func (f *Fake) AddCohort(name string, appID int64, members ...string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addCohort(name, "owner@example.test", appID, members)
}

// Unknown makes the Cohorts API treat ids as users Amplitude does not know.
func (f *Fake) Unknown(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.unknown[id] = true
	}
}

// unavailable and throttled are Amplitude's 503 and 429.
func unavailable(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }

func throttled(w http.ResponseWriter) {
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"code": 429, "error": "Too many requests for some devices and users", "eps_threshold": 30})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if !f.Admit(w, unavailable, throttled) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/identify":
		f.identify(w, r)
	case "/api/3/cohorts", "/api/3/cohorts/upload", "/api/3/cohorts/membership":
		if user, pass, ok := r.BasicAuth(); !ok || user != f.apiKey || pass != f.secretKey {
			http.Error(w, "Invalid credentials", http.StatusUnauthorized)
			return
		}
		f.cohortAPI(w, r)
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// identify serves POST /identify.
func (f *Fake) identify(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxIdentifyBytes+1))
	if len(body) >= MaxIdentifyBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"code": 413, "error": "Payload too large"})
		return
	}
	form, ok := parseForm(r.Header.Get("Content-Type"), body)
	if !ok {
		// A JSON (or any non-form) body has no form parameters.
		http.Error(w, "missing_event", http.StatusBadRequest)
		return
	}
	key := form.Get("api_key")
	if key == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "error": "Request missing required field", "missing_field": "api_key"})
		return
	}
	if key != f.apiKey {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "error": "Invalid API key: " + key})
		return
	}
	ids, err := parseIdentification(form.Get("identification"))
	if err != nil {
		http.Error(w, "missing_event: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(ids) >= MaxIdentifyEvents {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"code": 413, "error": "Payload too large"})
		return
	}
	if refused := f.limits.check(ids); refused != nil {
		writeJSON(w, http.StatusTooManyRequests, refused)
		return
	}
	for _, id := range ids {
		if id.UserID == "" {
			continue // a device's properties are not modelled
		}
		props := f.props[id.UserID]
		if props == nil {
			props = map[string]any{}
			f.props[id.UserID] = props
		}
		maps.Copy(props, id.Set)
		for k := range id.Unset {
			delete(props, k)
		}
	}
	_, _ = io.WriteString(w, "success")
}

func parseForm(contentType string, body []byte) (url.Values, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, false // the fake does not model form-data bodies
	}
	v, err := url.ParseQuery(string(body))
	return v, err == nil
}

type parsedID struct {
	UserID, DeviceID string
	Set, Unset       map[string]any
}

// parseIdentification reads one identification object or an array of
// them, as documented.
func parseIdentification(raw string) ([]parsedID, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("no identification")
	}
	var list []map[string]json.RawMessage
	if strings.HasPrefix(raw, "{") {
		var one map[string]json.RawMessage
		if err := json.Unmarshal([]byte(raw), &one); err != nil {
			return nil, err
		}
		list = append(list, one)
	} else if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, err
	}
	out := make([]parsedID, 0, len(list))
	for i, item := range list {
		var p parsedID
		_ = json.Unmarshal(item["user_id"], &p.UserID)
		_ = json.Unmarshal(item["device_id"], &p.DeviceID)
		if len(p.UserID) < 5 && p.DeviceID == "" {
			return nil, fmt.Errorf("identification %d has no valid user_id or device_id", i)
		}
		var props map[string]json.RawMessage
		if raw := item["user_properties"]; raw != nil {
			if err := json.Unmarshal(raw, &props); err != nil {
				return nil, fmt.Errorf("identification %d: user_properties is not an object", i)
			}
		}
		if err := p.operations(props); err != nil {
			return nil, fmt.Errorf("identification %d: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// operations reads user_properties: only operations, or only plain
// properties (which are a $set); never both.
func (p *parsedID) operations(props map[string]json.RawMessage) error {
	p.Set, p.Unset = map[string]any{}, map[string]any{}
	ops, plain := 0, 0
	for k, v := range props {
		var m map[string]any
		switch k {
		case "$set", "$unset":
			ops++
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("%s is not an object", k)
			}
			if k == "$set" {
				maps.Copy(p.Set, m)
			} else {
				maps.Copy(p.Unset, m)
			}
		default:
			if strings.HasPrefix(k, "$") {
				ops++
				continue // other operations are not modelled
			}
			plain++
			var x any
			_ = json.Unmarshal(v, &x)
			p.Set[k] = x
		}
	}
	if ops > 0 && plain > 0 {
		return fmt.Errorf("user property operations cannot be mixed with plain properties")
	}
	return nil
}
