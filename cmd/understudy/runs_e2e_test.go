package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/openapi"
)

// wantProblem checks a problem's status and code, and that it names field
// (when field is not "").
func wantProblem(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode, field string) openapi.Problem {
	t.Helper()
	p := problemOf(t, status, body, wantStatus, wantCode)
	if _, ok := fieldsOf(p)[field]; field != "" && !ok {
		t.Errorf("%s: the problem does not name %s: %s", what, field, body)
	}
	return p
}

// The runs through the REST API: a run named at acquire and renamed, the
// outcome at release, a second release, the bad fields of each, another
// token's attempts, the list, one run, and the metrics.
func TestRunsThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	attachFake(t, s)
	ctx := context.Background()
	runner, other := s.client(t, s.Runner), s.client(t, s.secondRunner(t, "other-run"))
	g, err := runner.AcquireLeaseWithResponse(ctx, nil, openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci",
		Run: &openapi.RunNaming{Flow: new("checkout"), RunId: new("41")}})
	if err != nil || g.JSON201 == nil || g.JSON201.Lease.Run == nil || g.JSON201.Lease.Run.Flow != "checkout" || g.JSON201.Lease.Run.Outcome != nil {
		t.Fatalf("acquire with a run: %v %s", err, g.Body)
	}
	id := g.JSON201.Lease.Id
	path := "/v1/leases/" + id

	// Bad fields, each named: the contract's bounds (422), its types and
	// unknown fields (400), and what only the server can tell (422).
	for _, c := range []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"PUT", path + "/run", `{"flow":"_bad"}`, 422, "flow"},
		{"PUT", path + "/run", `{"ci_url":"ftp://ci.example.test/1"}`, 422, "ci_url"},
		{"PUT", path + "/run", `{"ci_url":"https://user:pw@ci.example.test/1"}`, 422, "ci_url"},
		{"PUT", path + "/run", `{"version":"` + strings.Repeat("v", 201) + `"}`, 422, "version"},
		{"PUT", path + "/run", `{"run_id":"a\u0007b"}`, 422, "run_id"},
		{"PUT", path + "/run", `{"run_id":41}`, 400, "run_id"},
		{"PUT", path + "/run", `{"job":"x"}`, 400, "job"},
		{"POST", "/v1/leases", `{"environment":"production","role":"buyer","holder":"ci","run":{"flow":"` + strings.Repeat("f", 101) + `"}}`, 422, "run.flow"},
		{"POST", path + "/release", `{"outcome":"skipped"}`, 422, "outcome"},
		{"POST", path + "/release", `{"outcome":"abandoned"}`, 422, "outcome"},
		{"POST", path + "/release", `{"message":"no outcome"}`, 422, "outcome"},
		{"POST", path + "/release", `{"outcome":"failed","message":"` + strings.Repeat("m", 8193) + `"}`, 422, "message"},
		{"POST", path + "/release", `{"outcome":"failed","test":"a\nb"}`, 422, "test"},
		{"POST", path + "/release", `{"outcome":"failed","links":[{"name":"x","url":"javascript:alert(1)"}]}`, 422, "links[0].url"},
		{"POST", path + "/release", `{"outcome":"failed","links":[{"url":"https://ci.example.test/t.zip"}]}`, 422, "links[0].name"},
		{"POST", path + "/release", `{"outcome":"failed","links":[` + strings.Repeat(`{"name":"x","url":"https://ci.example.test/"},`, 20) + `{"name":"x","url":"https://ci.example.test/"}]}`, 422, "links"},
	} {
		resp, body := s.raw(t, s.Runner, c.method, c.path, "application/json", strings.NewReader(c.body))
		code := "invalid"
		if c.status == 400 {
			code = "malformed"
		}
		wantProblem(t, c.method+" "+c.path+" "+c.body[:min(len(c.body), 60)], resp.StatusCode, body, c.status, code, c.field)
	}

	// Another token may neither name the run nor record its outcome.
	put, _ := other.PutLeaseRunWithResponse(ctx, id, openapi.RunNaming{Flow: new("hijack")})
	wantProblem(t, "another token's naming", put.StatusCode(), put.Body, 403, "forbidden", "")
	rel, _ := other.ReleaseLeaseWithResponse(ctx, id, openapi.LeaseRelease{Outcome: new(openapi.ReleaseOutcomePassed)})
	wantProblem(t, "another token's outcome", rel.StatusCode(), rel.Body, 403, "forbidden", "")

	// The holder renames the run (PUT replaces it) and records the outcome.
	put, _ = runner.PutLeaseRunWithResponse(ctx, id, openapi.RunNaming{Flow: new("checkout"), Version: new("v1.2.3"),
		CiUrl: new("https://ci.example.test/jobs/41")})
	if put.JSON200 == nil || put.JSON200.Run == nil || put.JSON200.Run.Version != "v1.2.3" || put.JSON200.Run.RunId != "" {
		t.Fatalf("renaming: %d %s", put.StatusCode(), put.Body)
	}
	links := []openapi.RunLink{{Name: "trace", Url: "https://ci.example.test/41/trace.zip"}}
	rel, _ = runner.ReleaseLeaseWithResponse(ctx, id, openapi.LeaseRelease{Outcome: new(openapi.ReleaseOutcomeFailed),
		Message: new("expected 3 items\ngot 2"), Test: new("cart > adds three"), Links: &links})
	if rel.JSON200 == nil || rel.JSON200.Status != openapi.LeaseStatusReleased || rel.JSON200.Run == nil ||
		rel.JSON200.Run.Outcome == nil || *rel.JSON200.Run.Outcome != openapi.RunOutcomeFailed || len(rel.JSON200.Run.Links) != 1 {
		t.Fatalf("release with an outcome: %d %s", rel.StatusCode(), rel.Body)
	}
	// Again: the same outcome or none is the lease unchanged, another a
	// conflict naming both; the naming is final.
	for _, body := range []openapi.LeaseRelease{{Outcome: new(openapi.ReleaseOutcomeFailed)}, {}} {
		again, _ := runner.ReleaseLeaseWithResponse(ctx, id, body)
		if again.JSON200 == nil || *again.JSON200.Run.Outcome != openapi.RunOutcomeFailed || again.JSON200.Run.Message != "expected 3 items\ngot 2" {
			t.Fatalf("releasing again: %d %s", again.StatusCode(), again.Body)
		}
	}
	again, _ := runner.ReleaseLeaseWithResponse(ctx, id, openapi.LeaseRelease{Outcome: new(openapi.ReleaseOutcomePassed)})
	if p := wantProblem(t, "another outcome", again.StatusCode(), again.Body, 409, "conflict", ""); !strings.Contains(p.Detail, "failed") || !strings.Contains(p.Detail, "passed") {
		t.Errorf("the conflict does not name both outcomes: %s", p.Detail)
	}
	put, _ = runner.PutLeaseRunWithResponse(ctx, id, openapi.RunNaming{Flow: new("late")})
	wantProblem(t, "naming after the outcome", put.StatusCode(), put.Body, 409, "conflict", "")

	// The runs, as a reader sees them: this one, and the second account's
	// lease as a run without a name or an outcome.
	reader := s.client(t, s.Reader)
	g2, err := runner.AcquireLeaseWithResponse(ctx, nil, openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci-2"})
	if err != nil || g2.JSON201 == nil || g2.JSON201.Lease.Run != nil {
		t.Fatalf("acquire without a run: %v %s", err, g2.Body)
	}
	list, _ := reader.ListRunsWithResponse(ctx, &openapi.ListRunsParams{})
	if list.JSON200 == nil || len(list.JSON200.Items) != 2 || list.JSON200.Items[0].LeaseId != g2.JSON201.Lease.Id || list.JSON200.Next != nil {
		t.Fatalf("runs: %d %s", list.StatusCode(), list.Body)
	}
	if r := list.JSON200.Items[0]; r.Outcome != nil || r.Flow != "" || r.LeaseStatus != openapi.LeaseStatusActive || r.Links == nil {
		t.Errorf("the run without a name: %+v", r)
	}
	list, _ = reader.ListRunsWithResponse(ctx, &openapi.ListRunsParams{Flow: new("checkout"), Outcome: new(openapi.RunOutcomeFailed), Limit: new(1)})
	if list.JSON200 == nil || len(list.JSON200.Items) != 1 || list.JSON200.Items[0].LeaseId != id || list.JSON200.Items[0].DurationSeconds == nil {
		t.Fatalf("runs of checkout that failed: %d %s", list.StatusCode(), list.Body)
	}
	one, _ := reader.GetRunWithResponse(ctx, id)
	if one.JSON200 == nil || one.JSON200.Test != "cart > adds three" || one.JSON200.CiUrl != "https://ci.example.test/jobs/41" || one.JSON200.Holder != "ci" {
		t.Fatalf("one run: %d %s", one.StatusCode(), one.Body)
	}
	missing, _ := reader.GetRunWithResponse(ctx, "00000000-0000-0000-0000-000000000000")
	wantProblem(t, "an unknown run", missing.StatusCode(), missing.Body, 404, "not_found", "")
	for query, field := range map[string]string{"since=yesterday": "since", "outcome=skipped": "outcome", "limit=500": "limit", "after=nope": "after",
		"since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z": "until"} {
		resp, body := s.raw(t, s.Reader, "GET", "/v1/runs?"+query, "", nil)
		if resp.StatusCode != 400 && resp.StatusCode != 422 {
			t.Errorf("GET /v1/runs?%s: %d, want 400 or 422", query, resp.StatusCode)
			continue
		}
		code := map[int]string{400: "malformed", 422: "invalid"}[resp.StatusCode]
		wantProblem(t, query, resp.StatusCode, body, resp.StatusCode, code, field)
	}

	// The metrics count the outcome this server recorded.
	metrics := scrape(t, s)
	for _, want := range []string{
		`understudy_runs_total{environment="production",flow="checkout",outcome="failed",role="buyer"} 1`,
		`understudy_run_duration_seconds_count{environment="production",flow="checkout",outcome="failed",role="buyer"} 1`,
		`understudy_run_duration_seconds_bucket{environment="production",flow="checkout",outcome="failed",role="buyer",le="3600"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("the metrics do not hold %s", want)
		}
	}
}

// scrape reads the server's metrics.
func scrape(t *testing.T, s *testServer) string {
	t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}
