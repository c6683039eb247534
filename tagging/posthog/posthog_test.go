package posthog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/posthog"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
	"github.com/understudy-dev/understudy/tagging/publishertest"
)

// noSleep records nothing and waits for nothing.
func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// config points a destination at fake, with the secrets given.
func config(fake *posthogtest.Fake, token, personal string, extra map[string]any) tagging.Config {
	settings := map[string]any{"ingest_host": fake.URL, "app_host": fake.URL, "project_id": fake.ProjectID(), "person_wait": "0s"}
	for k, v := range extra {
		settings[k] = v
	}
	raw, _ := json.Marshal(settings)
	secrets := map[string]string{posthog.SecretProjectAPIKey: token}
	if personal != "" {
		secrets[posthog.SecretPersonalAPIKey] = personal
	}
	return tagging.Config{Destination: "posthog-test", Settings: raw, Secrets: secrets}
}

// full returns a publisher with a personal key against a fresh fake.
func full(t *testing.T, opts posthogtest.Options) (*posthog.Publisher, *posthogtest.Fake) {
	t.Helper()
	fake := posthogtest.New(t, opts)
	p, err := posthog.Build(config(fake, fake.ProjectToken(), fake.PersonalKey(), nil), noSleep)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*posthog.Publisher), fake
}

func TestConformance(t *testing.T) {
	t.Parallel()
	publishertest.Run(t, publishertest.Harness{
		MaxBatch: posthog.MaxBatch,
		New: func(t *testing.T, bad bool, sleep func(context.Context, time.Duration) error) (tagging.Publisher, publishertest.Fake) {
			fake := posthogtest.New(t, posthogtest.Options{})
			token, personal := fake.ProjectToken(), fake.PersonalKey()
			if bad {
				token, personal = "phc_not_this_projects_token", "phx_not_a_valid_personal_key"
			}
			p, err := posthog.Build(config(fake, token, personal, nil), sleep)
			if err != nil {
				t.Fatal(err)
			}
			return p, fake
		},
	})
}

func TestConformanceMarkOnly(t *testing.T) {
	t.Parallel()
	publishertest.Run(t, publishertest.Harness{
		MaxBatch: posthog.MaxBatch,
		New: func(t *testing.T, bad bool, sleep func(context.Context, time.Duration) error) (tagging.Publisher, publishertest.Fake) {
			fake := posthogtest.New(t, posthogtest.Options{})
			token := fake.ProjectToken()
			if bad {
				token = "phc_not_this_projects_token"
			}
			p, err := posthog.Build(config(fake, token, "", nil), sleep)
			if err != nil {
				t.Fatal(err)
			}
			if _, isLister := p.(tagging.Lister); isLister {
				t.Fatal("a publisher without a personal API key claims to list")
			}
			return p, fake
		},
	})
}

func TestQuotaLimited200IsReported(t *testing.T) {
	t.Parallel()
	p, fake := full(t, posthogtest.Options{})
	fake.SetQuotaLimited(true)
	acks := 0
	err := p.Mark(t.Context(), publishertest.Identities(3), func(context.Context, []tagging.SyntheticUser) error { acks++; return nil })
	if !errors.Is(err, tagging.ErrRejected) || !strings.Contains(err.Error(), "quota_limited") {
		t.Fatalf("error %v, want ErrRejected naming quota_limited", err)
	}
	if acks != 0 || len(fake.Marked()) != 0 {
		t.Fatalf("%d acks, %d marked for a batch PostHog dropped", acks, len(fake.Marked()))
	}
}

func TestQueryErrorIn200IsReported(t *testing.T) {
	t.Parallel()
	p, fake := full(t, posthogtest.Options{})
	fake.SetQueryError("Unable to resolve field: person_distinct_ids")
	_, err := p.VerifyExcluded(t.Context(), publishertest.Identities(2))
	if !errors.Is(err, tagging.ErrRejected) || !strings.Contains(err.Error(), "Unable to resolve field") {
		t.Fatalf("error %v, want ErrRejected with PostHog's message", err)
	}
}

func TestEmptyDistinctIDRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	p, fake := full(t, posthogtest.Options{})
	ids := publishertest.Identities(2)
	ids[1].DistinctID = ""
	err := p.Mark(t.Context(), ids, func(context.Context, []tagging.SyntheticUser) error { return nil })
	if !errors.Is(err, tagging.ErrRejected) || fake.Requests() != 0 {
		t.Fatalf("error %v after %d requests, want ErrRejected before any request", err, fake.Requests())
	}
}

func TestFilterKeepsForeignFiltersAndIsIdempotent(t *testing.T) {
	t.Parallel()
	p, fake := full(t, posthogtest.Options{})
	foreign := map[string]any{"key": "$host", "type": "event", "value": []any{"localhost:8000"}, "operator": "is_not"}
	stale := map[string]any{"key": "is_synthetic", "type": "person", "value": []any{"yes"}, "operator": "is_not"}
	fake.SetTestAccountFilters([]map[string]any{foreign, stale}, false)

	changed, err := p.EnsureFilter(t.Context())
	if err != nil || !changed {
		t.Fatalf("first EnsureFilter: changed %v, %v", changed, err)
	}
	filters, on := fake.TestAccountFilters()
	want := []map[string]any{foreign, {"key": "is_synthetic", "type": "person", "value": []any{"true"}, "operator": "is_not"},
		{"key": "id", "type": "cohort", "value": float64(1), "operator": "not_in"}}
	if !on || fmt.Sprint(filters) != fmt.Sprint(want) {
		t.Fatalf("filters %v (default %v), want %v on by default", filters, on, want)
	}
	before := fake.Requests()
	changed, err = p.EnsureFilter(t.Context())
	if err != nil || changed {
		t.Fatalf("second EnsureFilter: changed %v, %v; want no change", changed, err)
	}
	if n := fake.Requests() - before; n != 1 {
		t.Fatalf("second EnsureFilter made %d requests, want the one read", n)
	}
}

func TestCohortFoundByNameNotDuplicated(t *testing.T) {
	t.Parallel()
	p, fake := full(t, posthogtest.Options{})
	for i := range 120 { // more than a page of the cohort list
		fake.AddCohort(fmt.Sprintf("other cohort %d", i), i%2 == 0)
	}
	existing := fake.AddCohort(posthog.DefaultCohortName, true)
	ids := publishertest.Identities(3)
	ack := func(context.Context, []tagging.SyntheticUser) error { return nil }
	if err := p.AddToList(t.Context(), ids, ack); err != nil {
		t.Fatal(err)
	}
	names := fake.CohortNames()
	if n := strings.Count(strings.Join(names, "\n"), posthog.DefaultCohortName); n != 1 || len(names) != 121 {
		t.Fatalf("%d cohorts named %q among %d, want the existing one (%d) only", n, posthog.DefaultCohortName, len(names), existing)
	}
	if got := fake.Listed(); len(got) != 3 {
		t.Fatalf("listed %v, want the 3 identities", got)
	}
}

func TestDynamicCohortOfTheNameIsRefused(t *testing.T) {
	t.Parallel()
	p, fake := full(t, posthogtest.Options{})
	fake.AddCohort(posthog.DefaultCohortName, false)
	err := p.AddToList(t.Context(), publishertest.Identities(1), func(context.Context, []tagging.SyntheticUser) error { return nil })
	if !errors.Is(err, tagging.ErrRejected) || !strings.Contains(err.Error(), "dynamic") {
		t.Fatalf("error %v, want ErrRejected about a dynamic cohort", err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	p, fake := full(t, posthogtest.Options{})
	ids := publishertest.Identities(3)
	ack := func(context.Context, []tagging.SyntheticUser) error { return nil }
	if err := p.Mark(t.Context(), ids, ack); err != nil {
		t.Fatal(err)
	}
	fake.Capture(ids[0].DistinctID, "$pageview")

	v, err := p.VerifyExcluded(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if v.Checked != 3 || len(v.Visible) != 3 || !strings.Contains(v.Detail, "not both installed") {
		t.Fatalf("without the filter: %+v, want all 3 visible and the reason", v)
	}

	if _, err := p.EnsureFilter(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v, err = p.VerifyExcluded(t.Context(), ids); err != nil || len(v.Visible) != 0 {
		t.Fatalf("with the filter: %+v, %v; want none visible", v, err)
	}

	if err := p.Unmark(t.Context(), ids[1:2], ack); err != nil {
		t.Fatal(err)
	}
	if v, err = p.VerifyExcluded(t.Context(), ids); err != nil || !slices.Equal(v.Visible, []string{ids[1].DistinctID}) {
		t.Fatalf("after unmarking one: %+v, %v; want %s visible", v, err, ids[1].DistinctID)
	}
}

func TestWrongProjectTokenIsRefusedCredentials(t *testing.T) {
	t.Parallel()
	fake := posthogtest.New(t, posthogtest.Options{})
	const wrong = "phc_wrong_token_that_must_not_leak"
	p, err := posthog.Build(config(fake, wrong, "", nil), noSleep)
	if err != nil {
		t.Fatal(err)
	}
	err = p.(tagging.Marker).Mark(t.Context(), publishertest.Identities(1), func(context.Context, []tagging.SyntheticUser) error { return nil })
	if !errors.Is(err, tagging.ErrCredentials) || !strings.Contains(err.Error(), "PostHog refused the credentials (401)") {
		t.Fatalf("error %v, want PostHog refused the credentials (401)", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Fatalf("the token is in the error: %v", err)
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	t.Parallel()
	fake := posthogtest.New(t, posthogtest.Options{})
	const token, personal = "phc_secret_token_do_not_print", "phx_secret_personal_do_not_print"
	p, err := posthog.Build(config(fake, token, personal, nil), noSleep)
	if err != nil {
		t.Fatal(err)
	}
	full := p.(*posthog.Publisher)
	ack := func(context.Context, []tagging.SyntheticUser) error { return nil }
	var errs []error
	_, err = full.Test(t.Context())
	errs = append(errs, err)
	errs = append(errs, full.Mark(t.Context(), publishertest.Identities(1), ack))
	_, err = full.EnsureFilter(t.Context())
	errs = append(errs, err)
	errs = append(errs, full.AddToList(t.Context(), publishertest.Identities(1), ack))
	_, err = posthog.New(config(fake, "not-a-token-"+token, "not-a-key-"+personal, nil))
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d succeeded with keys the fake refuses", i)
		}
		if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), personal) {
			t.Fatalf("call %d: a secret is in the error: %v", i, err)
		}
	}
}

func TestPrivateAPIRateLimitIsWaitedOut(t *testing.T) {
	t.Parallel()
	fake := posthogtest.New(t, posthogtest.Options{CRUDPerMinute: 1})
	var waits []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }
	p, err := posthog.Build(config(fake, fake.ProjectToken(), fake.PersonalKey(), nil), sleep)
	if err != nil {
		t.Fatal(err)
	}
	full := p.(*posthog.Publisher)
	if _, err := full.Test(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, err = full.EnsureFilter(t.Context())
	if !errors.Is(err, tagging.ErrUnavailable) || !strings.Contains(err.Error(), "429") {
		t.Fatalf("error %v, want ErrUnavailable after 429s", err)
	}
	if len(waits) == 0 || waits[0] < time.Second || waits[0] > time.Minute {
		t.Fatalf("waits %v, want the Retry-After of the minute window", waits)
	}
}

// clock is a fake PostHog's clock that the publisher's sleep moves on.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestHourlyRateLimitIsWaitedOutWhenTheDeadlineAllows(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	fake := posthogtest.New(t, posthogtest.Options{CRUDPerHour: 1, Now: c.Now})
	var waits []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		c.advance(d)
		return ctx.Err()
	}
	p, err := posthog.Build(config(fake, fake.ProjectToken(), fake.PersonalKey(), nil), sleep)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Hour)
	defer cancel()
	for i := range 2 {
		if _, err := p.Test(ctx); err != nil {
			t.Fatalf("Test %d: %v", i+1, err)
		}
	}
	// The second request met the hour's limit: PostHog asked for an hour,
	// and the publisher waited that long once, not a minute at a time.
	if len(waits) != 1 || waits[0] != time.Hour {
		t.Fatalf("waits %v, want one wait of the hour PostHog asked for", waits)
	}
}

func TestRateLimitWaitPastTheDeadlineGivesUpAtOnce(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	fake := posthogtest.New(t, posthogtest.Options{CRUDPerHour: 1, Now: c.Now})
	var waits []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		c.advance(d)
		return ctx.Err()
	}
	p, err := posthog.Build(config(fake, fake.ProjectToken(), fake.PersonalKey(), nil), sleep)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	if _, err := p.Test(ctx); err != nil {
		t.Fatal(err)
	}
	before := fake.Requests()
	_, err = p.Test(ctx)
	if !errors.Is(err, tagging.ErrUnavailable) {
		t.Fatalf("Test past the hour's limit: %v, want ErrUnavailable", err)
	}
	for _, want := range []string{"429", "asks to pause 1h0m0s", "left before this run's deadline"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if len(waits) != 0 || fake.Requests()-before != 1 {
		t.Fatalf("waited %v and sent %d requests; want no wait and one request", waits, fake.Requests()-before)
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{posthog.SecretProjectAPIKey: "phc_x"}
	cases := []struct {
		settings string
		secrets  map[string]string
		field    string
	}{
		{`{"project_id": 1, "colour": "red"}`, secrets, "settings.colour"},
		{`{"project_id": "12"}`, secrets, "settings.project_id"},
		{`{}`, secrets, "settings.project_id"},
		{`{"project_id": 1, "ingest_host": "http://eu.i.posthog.com"}`, secrets, "settings.ingest_host"},
		{`{"project_id": 1, "app_host": "https://eu.posthog.com/?region=eu"}`, secrets, "settings.app_host"},
		{`{"project_id": 1, "app_host": "http://eu.posthog.com"}`, secrets, "settings.app_host"},
		{`{"project_id": 1, "verify_days": 400}`, secrets, "settings.verify_days"},
		{`{"project_id": 1, "person_wait": "forever"}`, secrets, "settings.person_wait"},
		{`{"project_id": 1}`, map[string]string{}, "secrets.project_api_key"},
		{`{"project_id": 1}`, map[string]string{posthog.SecretProjectAPIKey: "phx_wrong_kind"}, "secrets.project_api_key"},
		{`{"project_id": 1}`, map[string]string{posthog.SecretProjectAPIKey: "phc_x", posthog.SecretPersonalAPIKey: "phc_x"}, "secrets.personal_api_key"},
	}
	for _, tc := range cases {
		_, err := posthog.New(tagging.Config{Settings: json.RawMessage(tc.settings), Secrets: tc.secrets})
		ce, ok := errors.AsType[*tagging.ConfigError](err)
		if !ok || ce.Field != tc.field {
			t.Errorf("%s: %v, want a ConfigError on %s", tc.settings, err, tc.field)
		}
	}
	p, err := posthog.New(tagging.Config{Settings: json.RawMessage(`{"project_id": 7}`), Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	if _, markOnly := p.(*posthog.MarkOnly); !markOnly || len(p.ManualSteps()) != 3 || !slices.Equal(p.Capabilities(), []tagging.Capability{tagging.CapMark}) {
		t.Fatalf("without a personal key: %T %v, want a MarkOnly with the filter among its manual steps", p, p.Capabilities())
	}
	// PostHog judges a person-property filter by the properties stored on
	// each event, and recommends a cohort with "not in" for this
	// (https://posthog.com/tutorials/filter-internal-users): the step a
	// person follows must install that, not the person filter alone.
	first := p.ManualSteps()[0]
	for _, want := range []string{"+ New Cohort", "is_synthetic", `"not in"`, "Filter out internal and test users", "Enable this filter on all new insights"} {
		if !strings.Contains(first, want) {
			t.Errorf("the mark-only filter step lacks %q: %s", want, first)
		}
	}
}

// TestEventCapturedThenMarkedThenFiltered: PostHog stores person
// properties on each event when it is ingested, so an event captured
// before the person was marked passes "is_synthetic is not true" forever.
// The cohort filter (not in the static cohort) is judged by current
// membership and removes it.
func TestEventCapturedThenMarkedThenFiltered(t *testing.T) {
	t.Parallel()
	p, fake := full(t, posthogtest.Options{})
	ids := publishertest.Identities(2)
	fake.Capture(ids[0].DistinctID, "$pageview") // before anything is marked
	ack := func(context.Context, []tagging.SyntheticUser) error { return nil }
	if err := p.Mark(t.Context(), ids, ack); err != nil {
		t.Fatal(err)
	}
	if err := p.AddToList(t.Context(), ids, ack); err != nil {
		t.Fatal(err)
	}
	if _, err := p.EnsureFilter(t.Context()); err != nil {
		t.Fatal(err)
	}
	v, err := p.VerifyExcluded(t.Context(), ids)
	if err != nil || len(v.Visible) != 0 {
		t.Fatalf("after mark, list and filter: %+v, %v; want the early event filtered out too", v, err)
	}
	filters, _ := fake.TestAccountFilters()
	var cohort map[string]any
	for _, f := range filters {
		if f["type"] == "cohort" {
			cohort = f
		}
	}
	if cohort == nil || cohort["key"] != "id" || cohort["operator"] != "not_in" || cohort["value"] != float64(1) || len(filters) != 2 {
		t.Fatalf("filters %v, want the person filter and {key: id, type: cohort, operator: not_in, value: 1}", filters)
	}
}

// TestHostWithAPathPrefix: a self-hosted PostHog behind a proxy under
// /posthog gets every request at the prefix followed by the documented
// path; a request without the prefix would be a 404 here.
func TestHostWithAPathPrefix(t *testing.T) {
	t.Parallel()
	fake := posthogtest.New(t, posthogtest.Options{})
	target, _ := url.Parse(fake.URL)
	proxy := httptest.NewServer(http.StripPrefix("/posthog", httputil.NewSingleHostReverseProxy(target)))
	t.Cleanup(proxy.Close)
	cfg := config(fake, fake.ProjectToken(), fake.PersonalKey(), map[string]any{"ingest_host": proxy.URL + "/posthog/", "app_host": proxy.URL + "/posthog"})
	pub, err := posthog.Build(cfg, noSleep)
	if err != nil {
		t.Fatal(err)
	}
	p := pub.(*posthog.Publisher)
	ids := publishertest.Identities(2)
	ack := func(context.Context, []tagging.SyntheticUser) error { return nil }
	if err := p.Mark(t.Context(), ids, ack); err != nil {
		t.Fatal(err)
	}
	if _, err := p.EnsureFilter(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := fake.Marked(); len(got) != 2 {
		t.Fatalf("marked %v through the prefix, want 2", got)
	}
	if filters, on := fake.TestAccountFilters(); len(filters) != 2 || !on {
		t.Fatalf("filters %v through the prefix", filters)
	}
}
