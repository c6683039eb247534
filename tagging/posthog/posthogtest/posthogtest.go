// Package posthogtest is an httptest fake of the parts of PostHog that the
// posthog publisher speaks, built from PostHog's documentation and
// sources, so a publisher (and the demo) can run against a local PostHog.
//
// One server plays both hosts (ingest and app); point settings.ingest_host
// and settings.app_host at URL.
//
// Public endpoints (https://posthog.com/docs/api/capture):
//   - POST /batch/ checks the api_key in the body against the project token:
//     a missing or wrong one answers 401 with PostHog's documented body
//     {"type":"authentication_error","code":"invalid_api_key",…}
//     (https://posthog.com/docs/api#responses). A body that is not JSON answers
//     400 {"type":"validation_error","code":"invalid_payload",…}; an empty
//     batch 400; a body of 20 MB or more 413. An event without a name or a
//     distinct_id (also read from properties.distinct_id) is dropped and
//     the answer is still 200 {"status":"Ok"}, as PostHog documents
//     (https://posthog.com/docs/api/capture#invalid-events). $set and $unset
//     in an event's properties update the person, created on its first event.
//     SetQuotaLimited makes it drop every event and answer
//     {"status":"Ok","quota_limited":["events"]}, as PostHog's capture service
//     does over the billing limit.
//   - POST /flags checks the api_key the same way and answers no flags.
//
// Private API, under /api/projects/{project_id}/ (https://posthog.com/docs/api):
// the personal API key as "Authorization: Bearer", else 401
// {"type":"authentication_error","code":"invalid_personal_api_key",…}; a
// body that is not JSON 400 parse_error; an unknown project 404. A POST or
// PATCH whose Content-Type is not application/json (or is missing) is 415
// {"type":"invalid_request","code":"unsupported_media_type",…} and changes
// nothing: the private API is Django REST framework, which picks the body's
// parser by its Content-Type and refuses a type it has no parser for
// (PostHog also parses form and multipart bodies; the fake takes JSON only,
// the one type the publisher sends). Requests
// are rate-limited per minute and per hour, as PostHog documents
// (https://posthog.com/docs/api#rate-limiting: "480/minute and 4800/hour"
// for the create, read, update and delete endpoints;
// https://posthog.com/docs/api/queries#rate-limits: the query endpoint
// "2400 requests per hour" and "240 requests per minute"):
// Options.CRUDPerMinute and CRUDPerHour, Options.QueryPerMinute and
// QueryPerHour, each a fixed window that starts with its first request,
// on the clock Options.Now. A request over any window answers 429
// {"type":"throttled_error","code":"throttled","detail":"Request was
// throttled. Expected available in N seconds.","attr":null} (the body
// PostHog sends, as observed in airbytehq/airbyte issue 37334, with N up to
// an hour for the hourly limit) and Retry-After: N, the longest wait of
// the windows it is over (PostHog's API is Django REST framework, whose
// exception handler sets Retry-After from the throttle's wait); a refused
// request does not count.
//   - GET and PATCH the project: test_account_filters (a list of objects
//     each with key and type, else 400) and test_account_filters_default_checked.
//   - cohorts: list (limit, offset, next), create (name required),
//     add_persons_to_static_cohort ({"person_ids"}: a non-empty list of at
//     most 1000, some of them persons of the project, and a static cohort,
//     else 400) and remove_person_from_static_cohort ({"person_id"}: a
//     UUID, else 400; an unknown person 404), per posthog/api/cohort.py.
//   - POST query/ with a HogQLQuery (https://posthog.com/docs/api/queries).
//     The fake runs no HogQL: it answers the two queries the publisher
//     sends, recognised by their FROM clause, with the distinct ids bound in
//     values.ids: "FROM person_distinct_ids" (distinct id, person uuid) and
//     "FROM events" (distinct ids with events), applying the project's
//     test-account filters when filters.filterTestAccounts is true
//     (person and event filters with operators exact, is_not, is_set,
//     is_not_set; cohort filters with in and not_in). As in PostHog, a
//     person filter is judged by the person's properties stored on each
//     event when it was ingested, so an event captured before the person
//     was marked still passes "is_synthetic is not true"; a cohort filter is
//     judged by the cohort's membership now
//     (https://posthog.com/docs/how-posthog-works/queries). dateRange is
//     ignored: every event of the fake is recent. Any other query answers
//     400. SetQueryError makes it answer 200 with an "error" field.
//
// Throttle and SetDown apply to every endpoint.
package posthogtest

import (
	"crypto/rand"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/tagging/publishertest"
)

var _ publishertest.Fake = (*Fake)(nil)

// Options configure a fake.
type Options struct {
	// ProjectID is the project's id. Defaults to 1.
	ProjectID int64
	// ProjectToken is the project token that /batch/ and /flags accept.
	// Defaults to "phc_fake_project_token_0000000000".
	ProjectToken string
	// PersonalKey is the personal API key the private API accepts.
	// Defaults to "phx_fake_personal_key_0000000000".
	PersonalKey string
	// CRUDPerMinute limits the private API's CRUD requests per minute.
	// Defaults to 480, PostHog's documented limit.
	CRUDPerMinute int
	// CRUDPerHour limits the private API's CRUD requests per hour.
	// Defaults to 4800, PostHog's documented limit.
	CRUDPerHour int
	// QueryPerMinute limits the query endpoint's requests per minute.
	// Defaults to 240, PostHog's documented limit.
	QueryPerMinute int
	// QueryPerHour limits the query endpoint's requests per hour.
	// Defaults to 2400, PostHog's documented limit.
	QueryPerHour int
	// Now tells the time, for the rate limits. Defaults to time.Now.
	Now func() time.Time
}

// WithDefaults returns o with its unset fields filled.
func (o Options) WithDefaults() Options {
	if o.ProjectID == 0 {
		o.ProjectID = 1
	}
	if o.ProjectToken == "" {
		o.ProjectToken = "phc_fake_project_token_0000000000"
	}
	if o.PersonalKey == "" {
		o.PersonalKey = "phx_fake_personal_key_0000000000"
	}
	if o.CRUDPerMinute == 0 {
		o.CRUDPerMinute = 480
	}
	if o.QueryPerMinute == 0 {
		o.QueryPerMinute = 240
	}
	if o.CRUDPerHour == 0 {
		o.CRUDPerHour = 4800
	}
	if o.QueryPerHour == 0 {
		o.QueryPerHour = 2400
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Fake is a running fake PostHog. It implements publishertest.Fake.
type Fake struct {
	// URL is the fake's base URL, for both ingest_host and app_host.
	URL string

	opts Options
	srv  *httptest.Server

	mu             sync.Mutex
	persons        map[string]*person // by distinct id
	events         []captured
	cohorts        []*cohort
	filters        []map[string]any
	defaultChecked bool
	quotaLimited   bool
	queryError     string
	windows        map[string]*window
	publishertest.Faults
}

type person struct {
	uuid       string
	distinctID string
	props      map[string]any
}

type captured struct {
	event, distinctID string
	props             map[string]any
	// personProps are the person's properties when the event was ingested:
	// PostHog stores them on each event, and a person-property filter is
	// judged by them, not by the person's properties today
	// (https://posthog.com/docs/how-posthog-works/queries, "Filtering on
	// person properties").
	personProps map[string]any
}

type cohort struct {
	ID       int64           `json:"id"`
	Name     string          `json:"name"`
	IsStatic bool            `json:"is_static"`
	Deleted  bool            `json:"deleted"`
	members  map[string]bool // person uuids
}

type window struct {
	start time.Time
	count int
}

// New starts a fake for a test and closes it when the test ends.
func New(t testing.TB, opts Options) *Fake {
	t.Helper()
	f, stop := Start(opts)
	t.Cleanup(stop)
	return f
}

// Start starts a fake on a loopback port and returns it with the function
// that stops it; usable outside tests (the demo's local PostHog).
func Start(opts Options) (*Fake, func()) {
	f := &Fake{opts: opts.WithDefaults(), persons: map[string]*person{}, windows: map[string]*window{}}
	f.srv = httptest.NewServer(f.routes())
	f.URL = f.srv.URL
	return f, f.srv.Close
}

// ProjectID is the project's id.
func (f *Fake) ProjectID() int64 { return f.opts.ProjectID }

// ProjectToken is the project token the fake accepts.
func (f *Fake) ProjectToken() string { return f.opts.ProjectToken }

// PersonalKey is the personal API key the fake accepts.
func (f *Fake) PersonalKey() string { return f.opts.PersonalKey }

// Marked returns the distinct ids whose person holds is_synthetic = true
// (the JSON boolean), sorted.
func (f *Fake) Marked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id, p := range f.persons {
		if p.props["is_synthetic"] == true {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Listed returns the distinct ids of the persons in the project's static
// cohorts, sorted.
func (f *Fake) Listed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id, p := range f.persons {
		for _, c := range f.cohorts {
			if c.IsStatic && !c.Deleted && c.members[p.uuid] {
				out = append(out, id)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// SetQuotaLimited makes /batch/ drop every event and say so in its 200.
func (f *Fake) SetQuotaLimited(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.quotaLimited = on
}

// SetQueryError makes the query endpoint answer 200 with this error ("" to
// answer normally).
func (f *Fake) SetQueryError(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queryError = msg
}

// SetTestAccountFilters replaces the project's test-account filters, as a
// person would in PostHog's settings.
func (f *Fake) SetTestAccountFilters(filters []map[string]any, defaultChecked bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters, f.defaultChecked = filters, defaultChecked
}

// TestAccountFilters returns the project's test-account filters and
// whether they are on by default.
func (f *Fake) TestAccountFilters() ([]map[string]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.filters), f.defaultChecked
}

// AddCohort adds a cohort, as a person would in PostHog, and returns its id.
func (f *Fake) AddCohort(name string, static bool) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addCohort(name, static).ID
}

// CohortNames returns the names of the cohorts that are not deleted, in
// the order they were made.
func (f *Fake) CohortNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.cohorts {
		if !c.Deleted {
			out = append(out, c.Name)
		}
	}
	return out
}

// Capture records an event of distinctID, as the app would send it
// (creating the person when new).
func (f *Fake) Capture(distinctID, event string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ingest(distinctID, event, map[string]any{})
}

func (f *Fake) addCohort(name string, static bool) *cohort {
	c := &cohort{ID: int64(len(f.cohorts) + 1), Name: name, IsStatic: static, members: map[string]bool{}}
	f.cohorts = append(f.cohorts, c)
	return c
}

// ingest stores an event and applies its $set and $unset to the person.
// The caller holds f.mu.
func (f *Fake) ingest(distinctID, name string, props map[string]any) {
	p := f.persons[distinctID]
	if p == nil {
		p = &person{uuid: newUUID(), distinctID: distinctID, props: map[string]any{}}
		f.persons[distinctID] = p
	}
	if set, ok := props["$set"].(map[string]any); ok {
		for k, v := range set {
			p.props[k] = v
		}
	}
	if unset, ok := props["$unset"].([]any); ok {
		for _, k := range unset {
			if s, ok := k.(string); ok {
				delete(p.props, s)
			}
		}
	}
	f.events = append(f.events, captured{event: name, distinctID: distinctID, props: props, personProps: maps.Clone(p.props)})
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// gate counts the request and answers it, as PostHog does, when the
// fake is down or throttled; it reports whether the handler may go on.
func (f *Fake) gate(w http.ResponseWriter) bool {
	return f.Admit(w, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusServiceUnavailable, apiError("server_error", "service_unavailable", "PostHog is down (fake)."))
	}, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusTooManyRequests, apiError("throttled_error", "throttled", "Request was throttled."))
	})
}

// limit applies the per-minute and per-hour limits of class; the caller
// holds f.mu. A request over either answers 429 and is not counted.
func (f *Fake) limit(w http.ResponseWriter, class string, perMinute, perHour int) bool {
	now := f.opts.Now()
	limits := []struct {
		span time.Duration
		max  int
	}{{time.Minute, perMinute}, {time.Hour, perHour}}
	var wins []*window
	var wait time.Duration
	for _, l := range limits {
		key := class + "/" + l.span.String()
		win := f.windows[key]
		if win == nil || now.Sub(win.start) >= l.span {
			win = &window{start: now}
			f.windows[key] = win
		}
		if win.count >= l.max {
			wait = max(wait, l.span-now.Sub(win.start))
		}
		wins = append(wins, win)
	}
	if wait > 0 {
		secs := max(int((wait+time.Second-1)/time.Second), 1)
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		writeJSON(w, http.StatusTooManyRequests, apiError("throttled_error", "throttled",
			fmt.Sprintf("Request was throttled. Expected available in %d seconds.", secs)))
		return false
	}
	for _, win := range wins {
		win.count++
	}
	return true
}
