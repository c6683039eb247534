package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/console"
	"github.com/understudy-dev/understudy/openapi"
)

// axeTags are the rules axe-core checks: WCAG 2.0 and 2.1, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// axeSource returns axe-core's axe.min.js: AXE_CORE_PATH, or the copy that
// `make axe` installs under tools/axe. Without it the test is skipped,
// except under CI=true, where it must be there (`make test` installs it).
func axeSource(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("AXE_CORE_PATH"), filepath.Join("..", "..", "tools", "axe", "node_modules", "axe-core", "axe.min.js")} {
		if p == "" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("axe-core is not installed, and CI needs the console's accessibility check: run make axe (make test does)")
	}
	t.Skip("axe-core is not installed (make axe): the console's accessibility check is skipped")
	return ""
}

// axeViolation is one rule a page breaks, with the elements that break it.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// axeRun injects axe-core into the tab's page and runs it with axeTags.
func axeRun(t *testing.T, ctx context.Context, src string) []axeViolation {
	t.Helper()
	tags := `["` + strings.Join(axeTags, `","`) + `"]`
	js := src + `;
(async () => {
  const r = await axe.run(document, {runOnly: {type: "tag", values: ` + tags + `}, resultTypes: ["violations"]});
  return r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
    targets: v.nodes.map(n => n.target.map(x => Array.isArray(x) ? x.join(" >>> ") : String(x)).join(" "))}));
})()`
	return get(t, ctx, "running axe-core", chromedp.Evaluate[[]axeViolation](js, chromedp.EvalAwaitPromise))
}

// axeCheck runs axe-core on the tab's page and fails the test with each
// violation: its rule, impact and the elements that break it.
func axeCheck(t *testing.T, ctx context.Context, src, who, page string) {
	t.Helper()
	for _, v := range axeRun(t, ctx, src) {
		t.Errorf("%s, %s: %s (%s): %s; at %s", who, page, v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
	}
}

// wildcardRE finds the wildcards of a console route pattern.
var wildcardRE = regexp.MustCompile(`\{[^}]*\}`)

// axeExample is how the check reaches one page: the URL to open, and,
// for a page that a form POSTs to, the form on it to submit.
type axeExample struct {
	url, submit string
}

// Every page of the console, as an admin, a runner and a reader see it,
// and the sign-in and error pages, pass axe-core's WCAG 2.1 A and AA
// rules. The pages come from the console's router (console.Pages), so a
// new page without wildcards is checked as it is; one with wildcards
// fails here until it is given an example below.
func TestConsoleBrowserAccessibility(t *testing.T) {
	t.Parallel()
	src := axeSource(t)
	s := startServer(t, serverOptions{})
	st := seedConsole(t, s)
	mustOK(t, s.cli(t, s.Admin, "snapshots", "capture", st.Free, "with-cart"))
	ended := endedLease(t, s)
	failed := failedRun(t, s)
	var email string
	for _, a := range st.Accounts {
		if a.Id == st.Free {
			email = a.Identity.Email
		}
	}
	message := "/ui/accounts/" + st.Free + "/messages/" + deliverMail(t, s, st.Free, email, hostileMail(email, "http://127.0.0.1:9"))

	// The runner holds the lease of st.Leased, so it may read its password.
	examples := map[string]map[access.Scope][]axeExample{
		"GET /ui/environments/{env}": {"": {{url: "/ui/environments/production"}}},
		"GET /ui/accounts/{id}":      {"": {{url: "/ui/accounts/" + st.Free}, {url: "/ui/accounts/" + st.Leased}}},
		"GET /ui/leases/{id}":        {"": {{url: "/ui/leases/" + st.Lease.Id}, {url: "/ui/leases/" + ended}}},
		// A run still open and unnamed, and a failed one with its evidence.
		"GET /ui/runs/{lease_id}": {"": {{url: "/ui/runs/" + st.Lease.Id}, {url: "/ui/runs/" + failed}}},
		// An admin's message page; a runner's and a reader's refusal.
		"GET /ui/accounts/{id}/messages/{mid}": {"": {{url: message}}},
		"GET /ui/confirm/{action}": {"": {{url: "/ui/confirm/reset?account=" + st.Free}, {url: "/ui/confirm/reset?account=" + st.Free + "&state=with-cart"},
			{url: "/ui/confirm/retire?account=" + st.Free}, {url: "/ui/confirm/release?lease=" + st.Lease.Id},
			{url: "/ui/confirm/sync?environment=production&destination=posthog"}, {url: "/ui/confirm/audit?environment=production"}},
			// The password's confirmation, then the page it shows.
			access.ScopeAdmin: {{url: "/ui/confirm/password?account=" + st.Free},
				{url: "/ui/confirm/password?account=" + st.Free, submit: `form[action$="/actions/password"]`}},
			access.ScopeRunner: {{url: "/ui/confirm/password?account=" + st.Leased},
				{url: "/ui/confirm/password?account=" + st.Leased, submit: `form[action$="/actions/password"]`}},
		},
	}
	pages := console.Pages()
	// The sign-in page, before any session; then the check itself: a
	// field without a label must be found.
	tab := newTab(t)
	axeVisit(t, tab, s, src, "no session", "/ui/signin", "")
	do(t, tab, "adding a field without a label", chromedp.Evaluate[chromedp.Void](`document.querySelector("main").insertAdjacentHTML("beforeend", "<input id=axe-probe>")`))
	if vs := axeRun(t, tab, src); len(vs) != 1 || vs[0].ID != "label" || vs[0].Targets[0] != "#axe-probe" {
		t.Fatalf("axe-core found %+v in a page with an unlabelled field, want the rule label at #axe-probe", vs)
	}

	for _, who := range []struct {
		scope access.Scope
		token string
	}{{access.ScopeAdmin, s.Admin}, {access.ScopeRunner, s.Runner}, {access.ScopeReader, s.tokenOf(t, "qa-lead", access.ScopeReader)}} {
		ctx := newTab(t) // a tab of its own: each has a few minutes
		signInAs(t, ctx, s, who.token)
		for _, pattern := range pages {
			method, path, _ := strings.Cut(pattern, " ")
			if pattern == "GET /ui/signin" {
				continue
			}
			var list []axeExample
			switch ex := examples[pattern]; {
			case ex != nil:
				list = append(append([]axeExample{}, ex[""]...), ex[who.scope]...)
			case method == http.MethodGet && !wildcardRE.MatchString(strings.TrimSuffix(path, "{$}")):
				list = []axeExample{{url: strings.TrimSuffix(path, "{$}")}}
			default:
				t.Errorf("page %s is not checked: give it an example URL in this test", pattern)
			}
			for _, e := range list {
				axeVisit(t, ctx, s, src, string(who.scope), e.url, e.submit)
			}
		}
	}
}

// axeVisit opens url (and submits the form submit on it, without htmx, as
// a browser without JavaScript would), waits for the page and what it
// loads after itself, and checks it with axe-core.
func axeVisit(t *testing.T, ctx context.Context, s *testServer, src, who, url, submit string) {
	t.Helper()
	visit(t, ctx, s, url)
	page := url
	if submit != "" {
		do(t, ctx, "submitting "+submit+" on "+url, chromedp.Evaluate[chromedp.Void](`document.querySelector(`+fmt.Sprintf("%q", submit)+`).submit()`),
			chromedp.WaitNotPresent(chromedp.CSS(submit)), chromedp.WaitVisible(chromedp.CSS("main h1")))
		page = "the page of " + submit + " on " + url
	}
	if strings.HasPrefix(url, "/ui/accounts/") && !strings.Contains(url, "/messages/") && submit == "" && who == string(access.ScopeAdmin) {
		do(t, ctx, "waiting for the comparison on "+url, chromedp.WaitVisible(chromedp.CSS(".diff")))
	}
	start := time.Now()
	axeCheck(t, ctx, src, who, page)
	t.Logf("%s, %s: checked in %v", who, page, time.Since(start).Round(time.Millisecond))
}

// failedRun leases a buyer as the runner for a named run of checkout, after
// a deployment of production, uploads a screenshot and releases it
// failed, with a message, a test and a link: a run with every section of
// its page. It returns its lease's id.
func failedRun(t *testing.T, s *testServer) string {
	t.Helper()
	ctx, admin, runner := context.Background(), s.client(t, s.Admin), s.client(t, s.Runner)
	if r, err := admin.RecordDeploymentWithResponse(ctx, openapi.DeploymentRecord{Environment: "production", Version: "v1.4.2",
		DeployedAt: new(time.Now().Add(-time.Hour)), Url: new("https://ci.example.test/deploys/7")}); err != nil || r.StatusCode() != http.StatusCreated {
		t.Fatalf("recording a deployment: %v", err)
	}
	g, err := runner.AcquireLeaseWithResponse(ctx, nil, openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci-job-43",
		TtlSeconds: new(600), Run: &openapi.RunNaming{Flow: new("checkout"), RunId: new("4321"), CiUrl: new("https://ci.example.test/runs/4321"), Version: new("v1.4.2")}})
	if err != nil || g.JSON201 == nil {
		t.Fatalf("leasing: %v %s", err, g.Body)
	}
	id := g.JSON201.Lease.Id
	if r, err := runner.PutArtifactWithBodyWithResponse(ctx, id, "screenshot.png", "image/png", strings.NewReader("not really a png")); err != nil || r.JSON201 == nil {
		t.Fatalf("uploading: %v", err)
	}
	outcome := openapi.ReleaseOutcomeFailed
	if r, err := runner.ReleaseLeaseWithResponse(ctx, id, openapi.LeaseRelease{Outcome: &outcome, Message: new("expected the total to be 42\ngot 41"),
		Test: new("checkout > pays by card"), Links: &[]openapi.RunLink{{Name: "trace", Url: "https://ci.example.test/runs/4321/trace.zip"}}}); err != nil || r.JSON200 == nil {
		t.Fatalf("releasing: %v", err)
	}
	return id
}

// endedLease leases a buyer as the runner and releases it: a lease of the
// history, with an Idempotency-Key. It returns its id.
func endedLease(t *testing.T, s *testServer) string {
	t.Helper()
	ctx, runner := context.Background(), s.client(t, s.Runner)
	g, err := runner.AcquireLeaseWithResponse(ctx, &openapi.AcquireLeaseParams{IdempotencyKey: new("run-1")},
		openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci-job-41", TtlSeconds: new(600)})
	if err != nil || g.JSON201 == nil {
		t.Fatalf("leasing: %v %s", err, g.Body)
	}
	if r, err := runner.ReleaseLeaseWithResponse(ctx, g.JSON201.Lease.Id, openapi.LeaseRelease{}); err != nil || r.JSON200 == nil {
		t.Fatalf("releasing: %v", err)
	}
	return g.JSON201.Lease.Id
}
