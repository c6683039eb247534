package posthogtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
)

func post(t *testing.T, url, auth, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, resp.Header
}

func TestBatchAsDocumented(t *testing.T) {
	t.Parallel()
	f := posthogtest.New(t, posthogtest.Options{})
	batch := f.URL + "/batch/"

	status, body, _ := post(t, batch, "", `{"api_key":"phc_wrong","batch":[{"event":"$set","distinct_id":"a"}]}`)
	if status != 401 || body["code"] != "invalid_api_key" || body["type"] != "authentication_error" {
		t.Fatalf("wrong token: %d %v", status, body)
	}
	status, body, _ = post(t, batch, "", `{"api_key":`)
	if status != 400 || body["code"] != "invalid_payload" {
		t.Fatalf("malformed: %d %v", status, body)
	}
	good := `{"api_key":"` + f.ProjectToken() + `","batch":[` +
		`{"event":"$set","distinct_id":"a","properties":{"$set":{"is_synthetic":true}}},` +
		`{"event":"$set","distinct_id":"","properties":{"$set":{"is_synthetic":true}}},` +
		`{"event":"","distinct_id":"c","properties":{"$set":{"is_synthetic":true}}},` +
		`{"event":"$set","properties":{"distinct_id":"d","$set":{"is_synthetic":true}}}]}`
	status, body, _ = post(t, batch, "", good)
	if status != 200 || body["status"] != "Ok" {
		t.Fatalf("good batch: %d %v", status, body)
	}
	if got := strings.Join(f.Marked(), ","); got != "a,d" {
		t.Fatalf("marked %q, want a,d: events without a name or a distinct id are dropped with a 200", got)
	}
}

func TestPrivateAPIAuthAndRateLimit(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var elapsed atomic.Int64
	now := func() time.Time { return start.Add(time.Duration(elapsed.Load())) }
	f := posthogtest.New(t, posthogtest.Options{QueryPerMinute: 2, Now: now})
	url := f.URL + "/api/projects/1/query/"
	query := `{"query":{"kind":"HogQLQuery","query":"SELECT distinct_id, person_id FROM person_distinct_ids WHERE has({ids}, distinct_id)","values":{"ids":["a"]}}}`

	status, body, _ := post(t, url, "phx_wrong", query)
	if status != 401 || body["code"] != "invalid_personal_api_key" {
		t.Fatalf("wrong personal key: %d %v", status, body)
	}
	for range 2 {
		if status, body, _ = post(t, url, f.PersonalKey(), query); status != 200 {
			t.Fatalf("query within the limit: %d %v", status, body)
		}
	}
	status, body, header := post(t, url, f.PersonalKey(), query)
	if status != 429 || header.Get("Retry-After") != "60" || body["type"] != "throttled_error" {
		t.Fatalf("query past the limit: %d %v Retry-After %q", status, body, header.Get("Retry-After"))
	}
	elapsed.Store(int64(time.Minute))
	if status, _, _ = post(t, url, f.PersonalKey(), query); status != 200 {
		t.Fatalf("query in the next minute: %d", status)
	}
}

func TestPrivateAPIHourlyLimits(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var elapsed atomic.Int64
	now := func() time.Time { return start.Add(time.Duration(elapsed.Load())) }
	f := posthogtest.New(t, posthogtest.Options{QueryPerHour: 3, CRUDPerHour: 2, Now: now})
	query := `{"query":{"kind":"HogQLQuery","query":"SELECT distinct_id, person_id FROM person_distinct_ids WHERE has({ids}, distinct_id)","values":{"ids":["a"]}}}`
	get := func() (int, http.Header) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.URL+"/api/projects/1/", nil)
		req.Header.Set("Authorization", "Bearer "+f.PersonalKey())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	// One query every 10 minutes: each minute window is fresh, the hour's is not.
	for i := range 3 {
		elapsed.Store(int64(time.Duration(i) * 10 * time.Minute))
		if status, body, _ := post(t, f.URL+"/api/projects/1/query/", f.PersonalKey(), query); status != 200 {
			t.Fatalf("query %d within the hour's limit: %d %v", i+1, status, body)
		}
	}
	elapsed.Store(int64(25 * time.Minute))
	status, body, header := post(t, f.URL+"/api/projects/1/query/", f.PersonalKey(), query)
	if status != 429 || body["type"] != "throttled_error" || body["code"] != "throttled" ||
		body["detail"] != "Request was throttled. Expected available in 2100 seconds." || header.Get("Retry-After") != "2100" {
		t.Fatalf("the fourth query of the hour: %d %v Retry-After %q; want 429 until the hour's window ends", status, body, header.Get("Retry-After"))
	}
	// CRUD endpoints have their own hourly window, starting with their first request.
	for i := range 2 {
		if status, _ := get(); status != 200 {
			t.Fatalf("CRUD request %d: %d", i+1, status)
		}
	}
	if status, header := get(); status != 429 || header.Get("Retry-After") != "3600" {
		t.Fatalf("the third CRUD request of the hour: %d Retry-After %q", status, header.Get("Retry-After"))
	}
	elapsed.Store(int64(time.Hour))
	if status, _, _ := post(t, f.URL+"/api/projects/1/query/", f.PersonalKey(), query); status != 200 {
		t.Fatalf("a query in the next hour: %d", status)
	}
}

// TestPrivateAPIWantsJSON: PostHog's private API is Django REST framework,
// which parses a body only by its Content-Type: anything but a JSON body
// (a wrong type, or none) is 415 and changes nothing, so a publisher that
// forgot the header fails here as it would against PostHog.
func TestPrivateAPIWantsJSON(t *testing.T) {
	t.Parallel()
	f := posthogtest.New(t, posthogtest.Options{})
	body := `{"test_account_filters":[{"key":"is_synthetic","type":"person","value":["true"],"operator":"is_not"}]}`
	for _, ct := range []string{"", "text/plain", "application/x-ndjson"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, f.URL+"/api/projects/1/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+f.PersonalKey())
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var ans map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType || ans["code"] != "unsupported_media_type" {
			t.Errorf("PATCH with Content-Type %q: %d %v, want 415 unsupported_media_type", ct, resp.StatusCode, ans)
		}
	}
	if filters, _ := f.TestAccountFilters(); len(filters) != 0 {
		t.Errorf("a refused PATCH changed the filters to %v", filters)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, f.URL+"/api/projects/1/", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.PersonalKey())
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if filters, _ := f.TestAccountFilters(); resp.StatusCode != 200 || len(filters) != 1 {
		t.Errorf("PATCH as application/json: %d, filters %v", resp.StatusCode, filters)
	}
}
