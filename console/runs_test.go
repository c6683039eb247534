package console

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/tracing"
)

// What a runner sent that a page must show as text, never as markup or a
// live link.
const (
	hostileMessage = "expected <b>total</b>\n<script>alert(1)</script>"
	hostileTest    = `cart <img src=x onerror=alert(2)> works`
	hostileVersion = "v2<script>alert(3)</script>"
	hostileFlow    = "<script>alert(4)</script>"
	hostileLink    = "javascript:alert(5)"
	traceparent    = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traceID        = "4bf92f3577b34da6a3ce929d0e0e4736"
)

// runsSite is a console over a domaintest.Stack (production, buyer) with
// two deployments of production (v1.0 two hours ago, hostileVersion half
// an hour ago) and four runs, oldest first:
//
//	failed   checkout  failed, with a hostile message, test and links, a
//	         trace, an artifact, and mail to its account during its lease
//	passed   checkout  passed
//	hostile  (its flow set to hostileFlow in the table, as an old row)
//	open     (none)    still open
type runsSite struct {
	fixture
	st                            domaintest.Stack
	failed, passed, hostile, open string
	account, artifact, message    string
}

func newRunsSite(t *testing.T) runsSite {
	t.Helper()
	f, st := newStackFixture(t, 2)
	s := runsSite{fixture: f, st: st}
	ctx := context.Background()
	for _, d := range []run.DeploymentRecord{{Environment: "production", Version: "v1.0", DeployedAt: time.Now().Add(-2 * time.Hour)},
		{Environment: "production", Version: hostileVersion, DeployedAt: time.Now().Add(-30 * time.Minute), URL: "https://ci.example.test/deploys/2"}} {
		if _, _, err := f.console.cfg.Deployments.Record(st.Ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	acquire := func(req string, n *run.Naming, parent string) lease.Grant {
		t.Helper()
		c := access.WithRequestID(st.Ctx, req)
		if parent != "" {
			c = tracing.Remote(c, parent, "")
		}
		g, err := st.Leases.Acquire(c, lease.Request{Environment: "production", Role: "buyer", Holder: "ci-" + req, TTL: time.Hour, Run: n})
		if err != nil {
			t.Fatalf("leasing %s: %v", req, err)
		}
		return g
	}
	release := func(req, id string, r *run.Report) {
		t.Helper()
		if _, err := st.Leases.ReleaseWith(access.WithRequestID(st.Ctx, req), id, lease.ReleaseRequest{Outcome: r}); err != nil {
			t.Fatalf("releasing %s: %v", id, err)
		}
	}
	g := acquire("req-failed", &run.Naming{Flow: "checkout", RunID: "1234", CIURL: "https://ci.example.test/runs/1234", Version: "v1.0"}, traceparent)
	s.failed, s.account = g.Lease.ID, g.Account.ID
	ids, err := f.console.cfg.Inbox.Receive(access.WithCaller(ctx, access.Caller{Actor: "mx", Scope: access.ScopeInbound}), inbox.Delivery{
		Via: "smtp", EnvelopeFrom: "bounces@chirp.example", Raw: testMail(g.Account.Identity.Email),
		Recipients: []inbox.Recipient{{Address: g.Account.Identity.Email, AccountID: g.Account.ID}}})
	if err != nil {
		t.Fatalf("receiving: %v", err)
	}
	s.message = ids[0]
	// A read of the account's password in the acquisition's request (a
	// client that sends one X-Request-ID for a whole job).
	admin := access.WithRequestID(access.WithCaller(ctx, access.Caller{Actor: "qa-admin", Scope: access.ScopeAdmin}), "req-failed")
	if _, err := st.Leases.Credentials(admin, s.account); err != nil {
		t.Fatal(err)
	}
	s.artifact = "trace #1?.zip"
	if _, err := f.console.cfg.Artifacts.Put(access.WithRequestID(st.Ctx, "req-upload"), run.Upload{LeaseID: s.failed, LeaseEnd: g.Lease.ExpiresAt,
		Name: s.artifact, ContentType: "text/html", Body: strings.NewReader("<script>alert(6)</script>")}); err != nil {
		t.Fatal(err)
	}
	release("req-failed-end", s.failed, &run.Report{Outcome: run.Failed, Message: hostileMessage, Test: hostileTest,
		Links: []run.Link{{Name: "screenshot", URL: "https://evidence.example.test/shot.png"}}})
	// The next lease is acquired in the release's request: its events are
	// its own run's, not this one's.
	s.passed = acquire("req-failed-end", &run.Naming{Flow: "checkout", Version: hostileVersion}, "").Lease.ID
	release("req-passed-end", s.passed, &run.Report{Outcome: run.Passed})
	s.hostile = acquire("req-hostile", &run.Naming{Flow: "renamed"}, "").Lease.ID
	release("req-hostile-end", s.hostile, &run.Report{Outcome: run.Errored})
	s.open = acquire("req-open", nil, "").Lease.ID
	// Rows written before the bounds were checked: a flow that is markup,
	// and links that are scripts.
	if _, err := f.db.Exec(ctx, `UPDATE runs SET flow = $2 WHERE lease_id = $1`, s.hostile, hostileFlow); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `UPDATE runs SET ci_url = $2, links = links || jsonb_build_array(jsonb_build_object('name', 'evil', 'url', $2::text))
		WHERE lease_id = $1`, s.failed, hostileLink); err != nil {
		t.Fatal(err)
	}
	return s
}

// as serves path to a session (the admin's when cookie is nil) and
// returns the recorder.
func (s runsSite) as(cookie *http.Cookie, path string) *httptest.ResponseRecorder {
	if cookie == nil {
		cookie = s.cookie
	}
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	s.console.ServeHTTP(rec, req)
	return rec
}

// section is the part of page from the element with id to the end of its
// section.
func section(page, id string) string {
	_, after, _ := strings.Cut(page, `id="`+id+`"`)
	before, _, _ := strings.Cut(after, "</section>")
	return before
}

var (
	markRE   = regexp.MustCompile(`<a href="/ui/runs/([0-9a-f-]+)" tabindex="-1"><title>([^<]*)</title><path class="mark mark-(\w+)"`)
	deployRE = regexp.MustCompile(`<g class="deploy"><title>([^<]*)</title><line [^>]*></line>(?:<text [^>]*>([^<]*)</text>)?</g>`)
	figureRE = regexp.MustCompile(`(?s)<figure class="chart" id="flow-\d+">.*?</figure>`)
)

// The runs page charts each flow of the window, the runs that named none
// last: every run a mark in its outcome's lane, linked to its page with a
// tooltip, and each deployment a line with its version; below, the newest
// runs. Nothing a runner sent is markup on it.
func TestConsoleRunsPageChartsEachFlow(t *testing.T) {
	t.Parallel()
	s := newRunsSite(t)
	rec := s.as(nil, "/ui/runs")
	page := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /ui/runs: %d\n%s", rec.Code, page)
	}
	if !strings.Contains(page, `<a href="/ui/runs" aria-current="page">Runs</a>`) {
		t.Error("the navigation does not mark Runs as the current page")
	}
	figures := figureRE.FindAllString(section(page, "charts"), -1)
	if len(figures) != 3 {
		t.Fatalf("%d charts, want 3 (the hostile flow, checkout, and no flow)", len(figures))
	}
	want := []struct {
		flow  string
		marks map[string]string // lease id → outcome class
	}{
		{html.EscapeString(hostileFlow), map[string]string{s.hostile: "errored"}},
		{">checkout</a>", map[string]string{s.failed: "failed", s.passed: "passed"}},
		{"(no flow)", map[string]string{s.open: "none"}},
	}
	for i, w := range want {
		fig := figures[i]
		if !strings.Contains(fig, w.flow) {
			t.Errorf("chart %d is not of %s:\n%s", i, w.flow, fig)
		}
		marks := markRE.FindAllStringSubmatch(fig, -1)
		if len(marks) != len(w.marks) {
			t.Errorf("chart %d has %d marks, want %d", i, len(marks), len(w.marks))
		}
		for _, m := range marks {
			if w.marks[m[1]] != m[3] || !strings.HasPrefix(m[2], m[3]+" · ") || !strings.Contains(m[2], "production/buyer · started ") {
				t.Errorf("chart %d: mark of %s is %s titled %q, want %s", i, m[1], m[3], m[2], w.marks[m[1]])
			}
		}
		// Both deployments of production, the hostile one escaped; they
		// crowd (90 minutes apart in a day), so only the newer, which the
		// later runs ran against, is labelled.
		deps := deployRE.FindAllStringSubmatch(fig, -1)
		if len(deps) != 2 || !strings.HasPrefix(deps[0][1], "deployed production v1.0 at ") || deps[0][2] != "" ||
			!strings.HasPrefix(deps[1][1], "deployed production "+html.EscapeString(hostileVersion)) || !strings.HasPrefix(deps[1][2], "production v2&lt;") {
			t.Errorf("chart %d marks deployments %q, want v1.0 then the hostile version, labelled", i, deps)
		}
		for _, lane := range []string{">passed</text>", ">failed</text>", ">errored</text>", ">abandoned</text>", ">none</text>"} {
			if !strings.Contains(fig, lane) {
				t.Errorf("chart %d does not name the lane %s", i, lane)
			}
		}
	}
	if !strings.Contains(figures[1], "test "+html.EscapeString(hostileTest)) || !strings.Contains(figures[1], "version v1.0") {
		t.Errorf("the failed run's tooltip does not name its test and version")
	}
	for _, legend := range []string{"passed</li>", "failed</li>", "errored</li>", "abandoned</li>", "none</li>", "a deployment, its version above it"} {
		if !strings.Contains(page, legend) {
			t.Errorf("the legend lacks %q", legend)
		}
	}
	table := section(page, "newest")
	if got := strings.Count(table, `<td data-label="Run"><a href="/ui/runs/`); got != 4 {
		t.Errorf("the table lists %d runs, want 4", got)
	}
	for _, w := range []string{`<span class="badge badge-failed">`, `<span class="badge badge-passed">`, `<span class="badge badge-none">`,
		"<code>" + html.EscapeString(hostileVersion) + "</code>", html.EscapeString(hostileTest)} {
		if !strings.Contains(table, w) {
			t.Errorf("the table lacks %q", w)
		}
	}
	for _, leak := range []string{"<script>", "<img", hostileLink} {
		if strings.Contains(page, leak) {
			t.Errorf("the runs page holds %q as it was sent", leak)
		}
	}
}

// The filters keep the charts and the table to an environment, a flow and
// an outcome; a window without runs says so; a filter that is not one
// the page offers is named, with the form kept.
func TestConsoleRunsPageFilters(t *testing.T) {
	t.Parallel()
	s := newRunsSite(t)
	if _, err := s.st.Accounts.CreateEnvironment(s.st.Ctx, accounts.Environment{Name: "staging", EmailDomains: []string{"qa.example.test"}}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]struct{ charts, rows int }{
		"/ui/runs?flow=checkout":                               {1, 2},
		"/ui/runs?flow=checkout&outcome=failed":                {1, 1},
		"/ui/runs?outcome=passed&window=1h":                    {1, 1},
		"/ui/runs?environment=production&window=7d":            {3, 4},
		"/ui/runs?environment=staging":                         {0, 0},
		"/ui/runs?outcome=abandoned":                           {0, 0},
		"/ui/runs?environment=production&flow=no-such-flow-id": {0, 0},
	} {
		rec := s.as(nil, path)
		page := rec.Body.String()
		charts, rows := len(figureRE.FindAllString(page, -1)), strings.Count(page, `<td data-label="Run">`)
		if rec.Code != http.StatusOK || charts != want.charts || rows != want.rows {
			t.Errorf("GET %s: %d, %d charts and %d rows; want 200, %d and %d", path, rec.Code, charts, rows, want.charts, want.rows)
		}
		if want.charts == 0 && !strings.Contains(page, "No runs match in the last") {
			t.Errorf("GET %s does not say that no runs match", path)
		}
	}
	// Deployments of the one environment shown are labelled by version.
	if page := s.as(nil, "/ui/runs?environment=production&window=1h").Body.String(); !strings.Contains(page, `">v2&lt;script&gt;`) {
		t.Error("the newest deployment of production is not labelled by its version")
	}
	// A chart's flow links to the page filtered by it, keeping the window.
	page := s.as(nil, "/ui/runs?window=7d").Body.String()
	if !strings.Contains(page, `href="/ui/runs?flow=checkout&amp;window=7d">checkout</a>`) {
		t.Error("the checkout chart does not link to the runs of checkout")
	}
	if !strings.Contains(page, `<option value="7d" selected>the last 7d</option>`) || !strings.Contains(page, "Outcomes over the last 7d") {
		t.Error("the 7d window is not the one shown")
	}
	for path, field := range map[string]string{"/ui/runs?window=2d": "window", "/ui/runs?outcome=flaky": "outcome",
		"/ui/runs?environment=nowhere": "environment", "/ui/runs?flow=" + strings.Repeat("x", 101): "flow", "/ui/runs?after=bogus": "after"} {
		rec := s.as(nil, path)
		if body := rec.Body.String(); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, field+": ") || !strings.Contains(body, `<form class="filters"`) {
			t.Errorf("GET %s: %d, want 422 naming %s with the form", path, rec.Code, field)
		}
	}
}

// The runs table pages by keyset, 50 a page, each run once.
func TestConsoleRunsTablePages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 120) // 12 open leases: runs without a flow
	if _, err := f.db.Exec(context.Background(), `INSERT INTO leases (account_id, role_id, holder, state, status, acquired_at, expires_at, ended_at, ttl_seconds, token_name)
		SELECT a.id, a.role_id, 'old-' || g, 'initial', 'released', now() - make_interval(mins => g), now(), now(), 60, 'ci'
		FROM accounts a, generate_series(1, 5) g WHERE a.slot <= 10 AND a.status = 'ready'`); err != nil {
		t.Fatal(err)
	}
	seen, pages := f.walkPages(t, "/ui/runs", "newest", regexp.MustCompile(`<td data-label="Run"><a href="/ui/runs/([0-9a-f-]+)">`))
	var want int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM leases`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if len(seen) != want || pages != (want+49)/50 {
		t.Fatalf("paging met %d runs in %d pages, want %d in %d", len(seen), pages, want, (want+49)/50)
	}
}

// A chart draws at most run.MaxChartMarks runs of a flow and says how
// many it left out.
func TestConsoleRunsChartSaysWhatItLeftOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 100)
	if _, err := f.db.Exec(context.Background(), `INSERT INTO leases (account_id, role_id, holder, state, status, acquired_at, expires_at, ended_at, ttl_seconds, token_name)
		SELECT a.id, a.role_id, 'old-' || g, 'initial', 'released', now() - make_interval(secs => g * 10), now(), now(), 60, 'ci'
		FROM accounts a, generate_series(1, 7) g WHERE a.status = 'ready'`); err != nil { // 90 × 7 = 630, and 10 open
		t.Fatal(err)
	}
	page := f.get(t, "/ui/runs").Body.String()
	if n := len(markRE.FindAllString(page, -1)); n != run.MaxChartMarks {
		t.Errorf("%d marks, want %d", n, run.MaxChartMarks)
	}
	if !strings.Contains(page, "640 run(s), the newest 500 shown (at most 500 a flow)") {
		t.Errorf("the chart does not say it shows the newest 500 of 640 runs")
	}
	// 60 flows of one run each, the newest: with the runs that named none,
	// 61 flows, of which the 50 that ran last are charted, and the page
	// says so.
	if _, err := f.db.Exec(context.Background(), `INSERT INTO runs (lease_id, flow)
		SELECT id, 'flow-' || row_number() OVER (ORDER BY acquired_at DESC, id DESC) FROM leases ORDER BY acquired_at DESC, id DESC LIMIT 60`); err != nil {
		t.Fatal(err)
	}
	page = f.get(t, "/ui/runs").Body.String()
	if n := len(figureRE.FindAllString(page, -1)); n != run.MaxChartFlows || !strings.Contains(page, "61 flows ran in this window: the 50 that ran last are charted") {
		t.Errorf("%d charts of 61 flows, want 50 and a word that the others are left out", n)
	}
}

// A run's page shows how it ended and why, what it named, its deployment,
// lease, account and trace, its artifacts, its account's mail during the
// lease and the audit events of its requests; what a runner sent is text,
// and only http and https links are links.
func TestConsoleRunPage(t *testing.T) {
	t.Parallel()
	s := newRunsSite(t)
	rec := s.as(nil, "/ui/runs/"+s.failed)
	page := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("GET the run: %d\n%s", rec.Code, page)
	}
	for _, want := range []string{"<title>Run of checkout in production/buyer · Understudy</title>", `<span class="badge badge-failed">`,
		html.EscapeString(hostileMessage), html.EscapeString(hostileTest), "<code>1234</code>", "<code>v1.0</code>",
		"<code>" + html.EscapeString(hostileVersion) + "</code> of production, deployed <time", `<a href="https://ci.example.test/deploys/2"`,
		"<dt>Duration</dt><dd>",
		`<a href="/ui/leases/` + s.failed + `">held by ci-req-failed</a>`, `<a href="/ui/accounts/` + s.account + `">`,
		`<a href="https://traces.example.test/trace/` + traceID + `?from=console">trace <code>` + traceID + `</code></a>`,
		`<a href="https://evidence.example.test/shot.png" rel="noreferrer">`, "evil: <code>" + hostileLink + "</code>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the run's page lacks %q", want)
		}
	}
	// The CI URL was set to a script in the table: it shows as text.
	if strings.Contains(page, `href="`+hostileLink) || strings.Contains(page, `href="#ZgotmplZ"`) || strings.Count(page, "<code>"+hostileLink+"</code>") != 2 {
		t.Errorf("a javascript: link is a link, or not shown as text")
	}
	arts := section(page, "artifacts")
	if !strings.Contains(arts, `<a href="/ui/runs/`+s.failed+`/artifacts/trace%20%231%3F.zip" download>trace #1?.zip</a>`) ||
		!strings.Contains(arts, "25 B") || !strings.Contains(arts, "<code>text/html</code>") {
		t.Errorf("the artifacts section:\n%s", arts)
	}
	mail := section(page, "mail")
	if !strings.Contains(mail, `<code class="otp">`+mailCode+`</code>`) || !strings.Contains(mail, `/ui/accounts/`+s.account+`/messages/`+s.message) {
		t.Errorf("an admin does not see the mail's code, linked to its page:\n%s", mail)
	}
	events := section(page, "events")
	for _, want := range []string{"<code>lease.acquire</code>", "<code>artifact.upload</code>", "<code>lease.released</code>",
		"<code>account.read_credentials</code>"} {
		if !strings.Contains(events, want) {
			t.Errorf("the audit events lack %s", want)
		}
	}
	for _, other := range []string{s.passed, s.hostile, s.open} {
		if strings.Contains(events, other) {
			t.Errorf("the audit events name another lease, %s", other)
		}
	}
	for _, leak := range []string{"<script>", "<img", "<b>total"} {
		if strings.Contains(page, leak) {
			t.Errorf("the run's page holds %q as it was sent", leak)
		}
	}
	// The lease links to its run, and the run back.
	if lp := s.as(nil, "/ui/leases/"+s.failed).Body.String(); !strings.Contains(lp, `<a href="/ui/runs/`+s.failed+`">checkout: its outcome`) {
		t.Error("the lease's page does not link to its run")
	}
	open := s.as(nil, "/ui/runs/"+s.open).Body.String()
	for _, want := range []string{"Run of (no flow)", `<span class="badge badge-none">`, "the lease is still open", "No artifacts.",
		"received no mail while the lease was open"} {
		if !strings.Contains(open, want) {
			t.Errorf("the open run's page lacks %q", want)
		}
	}
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", "nope"} {
		if rec := s.as(nil, "/ui/runs/"+id); rec.Code != http.StatusNotFound {
			t.Errorf("GET the run of %s: %d, want 404", id, rec.Code)
		}
	}
}

// Without a trace URL a run's page shows its trace id as text.
func TestConsoleRunPageWithoutTraceURL(t *testing.T) {
	t.Parallel()
	s := newRunsSite(t)
	s.console.cfg.TraceURL = ""
	page := s.as(nil, "/ui/runs/"+s.failed).Body.String()
	if !strings.Contains(page, "<dt>Trace</dt><dd><code>"+traceID+"</code></dd>") || strings.Contains(page, "traces.example.test") {
		t.Errorf("the trace is not its id as text")
	}
}

// An artifact downloads with the REST download's headers: an attachment
// of its name, its type only when inert (HTML is not), nosniff and a
// sandbox; an unknown one is 404, a bad name 400.
func TestConsoleArtifactDownload(t *testing.T) {
	t.Parallel()
	s := newRunsSite(t)
	path := "/ui/runs/" + s.failed + "/artifacts/trace%20%231%3F.zip"
	rec := s.as(nil, path)
	h := rec.Header()
	if rec.Code != http.StatusOK || rec.Body.String() != "<script>alert(6)</script>" {
		t.Fatalf("GET %s: %d %q", path, rec.Code, rec.Body)
	}
	for name, want := range map[string]string{"Content-Type": "application/octet-stream", "X-Content-Type-Options": "nosniff",
		"Content-Security-Policy": "sandbox", "Content-Disposition": run.AttachmentDisposition(s.artifact),
		"Content-Length": "25", "Cache-Control": "no-store"} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if etag := h.Get("ETag"); len(etag) != 66 {
		t.Errorf("ETag %q is not a quoted SHA-256", etag)
	}
	for p, want := range map[string]int{"/ui/runs/" + s.failed + "/artifacts/missing.png": http.StatusNotFound,
		"/ui/runs/00000000-0000-0000-0000-000000000000/artifacts/a.png": http.StatusNotFound,
		"/ui/runs/" + s.failed + "/artifacts/a%5Cb.png":                 http.StatusBadRequest} {
		if rec := s.as(nil, p); rec.Code != want || rec.Header().Get("Content-Disposition") != "" {
			t.Errorf("GET %s: %d, want %d and no attachment", p, rec.Code, want)
		}
	}
}

// A reader and a runner see the runs pages, and download artifacts, as
// GET /v1/runs and its artifacts let them (scope reader); the mail of a
// run shows them its sender and time, its subject's code redacted, as an
// account's page does, and no code or link.
func TestConsoleRunsPagesByScope(t *testing.T) {
	t.Parallel()
	s := newRunsSite(t)
	for _, scope := range []access.Scope{access.ScopeReader, access.ScopeRunner} {
		cookie := s.sessionOf(t, "qa-"+string(scope), scope)
		for _, p := range []string{"/ui/runs", "/ui/runs/" + s.failed, "/ui/runs/" + s.failed + "/artifacts/trace%20%231%3F.zip"} {
			if rec := s.as(cookie, p); rec.Code != http.StatusOK {
				t.Errorf("%s: GET %s: %d, want 200", scope, p, rec.Code)
			}
		}
		page := s.as(cookie, "/ui/runs/"+s.failed).Body.String()
		mail := section(page, "mail")
		if !strings.Contains(mail, "no-reply@chirp.example") || !strings.Contains(mail, "codes in subjects are redacted") {
			t.Errorf("%s does not see the run's mail, redacted:\n%s", scope, mail)
		}
		for _, leak := range []string{mailCode, "chirp.example/magic", "/messages/", `class="otp"`} {
			if strings.Contains(page, leak) {
				t.Errorf("%s sees %q on the run's page", scope, leak)
			}
		}
	}
}

// An artifact's download has a minute more than a page to stream, as
// the REST download has.
func TestConsoleArtifactDownloadHasTimeToStream(t *testing.T) {
	t.Parallel()
	c := newConsole(t, dbtest.NewPool(t))
	for path, want := range map[string]time.Duration{"/ui/runs/x/artifacts/trace.zip": 10*time.Second + time.Minute,
		"/ui/runs/x": 10 * time.Second, "/ui/runs": 10 * time.Second, "/ui/accounts/x/messages/y/raw": 10 * time.Second} {
		if got := c.timeoutOf(httptest.NewRequest(http.MethodGet, path, nil)); got != want {
			t.Errorf("GET %s is bound by %v, want %v", path, got, want)
		}
	}
}

// A failed run's page shows the account's state at its end, app by app,
// with its changes from the lease's state, to an admin's session and to
// the lease's own token's; another session is told only that it is kept.
// The whole state downloads as an attachment, to the same sessions.
func TestConsoleRunPageShowsTheStateAtFailure(t *testing.T) {
	t.Parallel()
	f, st := newStackFixture(t, 1)
	caps := f.console.cfg.Captures
	leases, err := lease.New(lease.Config{DB: st.DB, Accounts: st.Accounts, Snapshots: st.Snapshots, Apps: st.Apps, Runs: st.Runs, Captures: caps})
	if err != nil {
		t.Fatal(err)
	}
	g, err := leases.Acquire(st.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := st.App.Ref(g.Account.ID)
	if err := st.App.SetState(ref, []byte(`{"items":["<b>socks</b>"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := leases.ReleaseWith(st.Ctx, g.Lease.ID, lease.ReleaseRequest{Outcome: &run.Report{Outcome: run.Failed}}); err != nil {
		t.Fatal(err)
	}
	s := runsSite{fixture: f, st: st}
	pending := section(s.as(nil, "/ui/runs/"+g.Lease.ID).Body.String(), "state")
	if !strings.Contains(pending, `badge-pending`) || !strings.Contains(pending, "the account is held (capturing)") {
		t.Errorf("before its capture the section is:\n%s", pending)
	}
	if err := caps.Capture(access.ForJob(context.Background(), "capture", 1), g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	owner := s.sessionOf(t, domaintest.Actor, access.ScopeRunner)
	for who, cookie := range map[string]*http.Cookie{"admin": nil, "the lease's token": owner} {
		state := section(s.as(cookie, "/ui/runs/"+g.Lease.ID).Body.String(), "state")
		for _, want := range []string{`badge-captured`, "<h3>chirp</h3>", "<code>$.items[0]</code>", `<span class="op op-added">added</span>`,
			`socks\u003c/b\u003e&#34;</code>`, `href="/ui/runs/` + g.Lease.ID + `/capture/chirp" download`, "compared with the state the lease reset it to, <code>initial</code>"} {
			if !strings.Contains(state, want) {
				t.Errorf("%s: the state section lacks %q:\n%s", who, want, state)
			}
		}
		if strings.Contains(state, "<b>socks") {
			t.Errorf("%s: the app's state is markup on the page", who)
		}
		rec := s.as(cookie, "/ui/runs/"+g.Lease.ID+"/capture/chirp")
		// The state as kept: canonical JSON, which escapes < and >.
		if rec.Code != http.StatusOK || rec.Body.String() != `{"items":["\u003cb\u003esocks\u003c/b\u003e"]}` || rec.Header().Get("X-Content-Type-Options") != "nosniff" ||
			!strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment") || rec.Header().Get("Content-Security-Policy") != "sandbox" {
			t.Errorf("%s: the state's download: %d %q %v", who, rec.Code, rec.Body, rec.Header())
		}
	}
	for _, scope := range []access.Scope{access.ScopeReader, access.ScopeRunner} {
		cookie := s.sessionOf(t, "other-"+string(scope), scope)
		state := section(s.as(cookie, "/ui/runs/"+g.Lease.ID).Body.String(), "state")
		if !strings.Contains(state, "badge-captured") || !strings.Contains(state, "an admin's session, or the lease's own token's, sees it") ||
			strings.Contains(state, "socks") || strings.Contains(state, "/capture/") {
			t.Errorf("%s of another token sees the captured state:\n%s", scope, state)
		}
		if rec := s.as(cookie, "/ui/runs/"+g.Lease.ID+"/capture/chirp"); rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "socks") {
			t.Errorf("%s of another token downloads the state: %d", scope, rec.Code)
		}
	}
	if rec := s.as(nil, "/ui/runs/"+g.Lease.ID+"/capture/nope"); rec.Code != http.StatusNotFound {
		t.Errorf("the state of an unknown app: %d, want 404", rec.Code)
	}
}
