package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/demo"
	"github.com/understudy-dev/understudy/openapi"
)

// The demo runs end to end on the test server: both providers, four
// accounts, a change in chirp, and a verified reset of each.
func TestDemoResetsChirp(t *testing.T) {
	t.Parallel()
	// A database of its own: the demo names its two after it, so that
	// another run of this test, or a demo on the same server, is left alone.
	server := dbtest.NewDatabase(t)
	t.Cleanup(func() {
		understudyDB, chirpDB := demo.DatabaseNames(server)
		conn, err := pgx.Connect(context.Background(), server)
		if err != nil {
			t.Errorf("dropping the demo's databases: %v", err)
			return
		}
		defer conn.Close(context.Background())
		for _, name := range []string{understudyDB, chirpDB} {
			if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Errorf("dropping the demo's database %s: %v", name, err)
			}
		}
	})
	out, errb := &lockedBuffer{}, &lockedBuffer{}
	env := map[string]string{"DATABASE_URL": server, "UNDERSTUDY_SECRET_KEY": testKey, "UNDERSTUDY_DATA_DIR": t.TempDir()}
	a := &cli{stdin: strings.NewReader(""), stdout: out, stderr: errb, getenv: func(k string) string { return env[k] }}
	ctx, stop := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() { exited <- a.run(ctx, []string{"demo"}) }()
	defer func() { stop(); <-exited }()
	// The demo provisions, resets, audits and syncs before it serves: on a
	// machine busy with browsers it takes longer than waitFor's 20s.
	waitForWithin(t, 2*time.Minute, "the demo serving", func() bool {
		select {
		case code := <-exited:
			exited <- code
			t.Fatalf("demo exited %d: %s\n%s", code, redactTokens(errb.String()), redactTokens(out.String()))
		default:
		}
		return strings.Contains(out.String(), "The web console is at")
	})
	checkDemoConsole(t, out.String())
	checkDemoRunner(t, out.String())
	text := redactTokens(out.String()) // what the assertions below may print
	for _, want := range []string{"through the webhook provider", "through the postgres provider", "Provisioned 4 accounts",
		`"sku":"sku-42"`, "changed  $.score.points 20"} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo output lacks %q:\n%s", want, text)
		}
	}
	// chirp's leaderboard through the isolation client: no synthetic
	// account for a real user, testers only for a synthetic one.
	for _, want := range []string{"leaderboards=testers_only; chirp holds the signed list (2 synthetic accounts, degraded false)",
		"leaderboard as a real user (rosa): #1 rosa 50, #2 ravi 40 (0 synthetic of 2)", "(4 synthetic of 4: testers only)",
		// The audit asks chirp about the built-in surfaces and its own trending: it shows five.
		"isolation audit of production: 5 surfaces of 1 app checked (4 not shown), 0 violations, 0 failed"} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo output lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "verified: chirp's state is the baseline again"); n != 4 {
		t.Fatalf("%d verified resets, want 4:\n%s", n, text)
	}
	// The sync to the local fake PostHog sends the two production accounts
	// once: the second run has nothing to send.
	for _, want := range []string{"sync --dry-run: 2 to add", "first sync: ok, 2 added", "second sync: ok, 0 added, 0 removed, 2 unchanged, 0 requests",
		"PostHog now marks is_synthetic=true on: ", "its cohort of synthetic accounts holds 2",
		// chirp's walls, passed from the inbox and the authenticator secret
		// chirp handed back when it provisioned the admin.
		"production/buyer signed in with the password, the mailed code (in the lease's inbox ",
		"production/admin signed in with the password, the mailed code (in the lease's inbox ",
		"then the authenticator code (6 digits, valid ",
		// The checkout flow passes on v1, fails on v2, and Understudy keeps
		// the buyer's chirp state at the failure.
		"v1 deployed; checkout ran on lease ", ": passed\n", ": failed\n    expected 1 item of sku-42 in the cart, got 2 (trace ",
		"Understudy kept the buyer's chirp state at the failure (captured), compared with its baseline:\n",
		"understudy runs capture ", "The failed run in the console: http://"} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo output lacks %q:\n%s", want, text)
		}
	}
}

var tokenRE = regexp.MustCompile(`ust_[A-Za-z0-9]+`)

// redactTokens hides the tokens the demo prints, so that a failure does not
// show one.
func redactTokens(s string) string { return tokenRE.ReplaceAllString(s, "ust_[redacted]") }

var demoConsoleRE = regexp.MustCompile(`The web console is at (http://\S+)/ui/ : sign in with the token (ust_\S+)`)

// checkDemoConsole signs in to the console the demo printed, with the token
// it printed, and checks that it shows the demo: its accounts, their last
// verified reset, the sync run and the isolation audit.
func checkDemoConsole(t *testing.T, text string) {
	t.Helper()
	m := demoConsoleRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("the demo prints no console address and token:\n%s", redactTokens(text))
	}
	b := newBrowserAt(t, m[1])
	if code, loc, _ := b.signIn(m[2]); code != http.StatusSeeOther || loc != "/ui/" {
		t.Fatalf("signing in to the demo's console: %d %q", code, loc)
	}
	_, _, overview := b.do(http.MethodGet, "/ui/", nil, nil)
	for _, want := range []string{"production", "staging", "chirp", "chirp-db", "posthog", "ready</span></a> 2", "Last sync:", `Last audit: <a href="/ui/isolation#audits"><time`} {
		if !strings.Contains(overview, want) {
			t.Errorf("the demo's console overview lacks %q", want)
		}
	}
	_, _, accounts := b.do(http.MethodGet, "/ui/accounts", nil, nil)
	// The four accounts the demo reset, and the admin it leased to sign in
	// through chirp's walls (a lease resets its account first).
	if n := strings.Count(accounts, "verified</span>"); n != 5 {
		t.Errorf("the demo's console shows %d accounts with a verified last reset, want 5", n)
	}
	_, _, sync := b.do(http.MethodGet, "/ui/sync", nil, nil)
	if !strings.Contains(sync, "production/posthog") || strings.Count(sync, "badge-ok") < 2 {
		t.Errorf("the demo's console shows no sync run of production/posthog")
	}
	_, _, iso := b.do(http.MethodGet, "/ui/isolation", nil, nil)
	if !strings.Contains(iso, "0 open, 0 opened, 0 closed, 0 surface(s) failed") {
		t.Errorf("the demo's console shows no isolation audit of production")
	}
	// The failed checkout's page: the buyer's chirp state at the failure,
	// compared with its baseline, the test's log and the trace id the demo
	// printed.
	failed := demoFailedRunRE.FindStringSubmatch(text)
	if failed == nil {
		t.Fatalf("the demo prints no failed run with its trace and console page:\n%s", redactTokens(text))
	}
	code, _, runPage := b.do(http.MethodGet, "/ui/runs/"+failed[2], nil, nil)
	for _, want := range []string{"badge-captured", "<h3>chirp</h3>", "sku-42", `<span class="op op-added">added</span>`, "checkout.log",
		"<code>" + failed[1] + "</code>", "expected 1 item of sku-42 in the cart, got 2"} {
		if code != http.StatusOK || !strings.Contains(runPage, want) {
			t.Errorf("the failed run's console page (%d) lacks %q", code, want)
		}
	}
}

// demoFailedRunRE finds the failed run the demo prints: its trace id,
// then its console page's lease id.
var demoFailedRunRE = regexp.MustCompile(`got 2 \(trace ([0-9a-f]{32})\)\n(?s:.*)The failed run in the console: http://\S+/ui/runs/([0-9a-f-]{36})`)

// checkDemoRunner checks the runner token the demo printed, with the
// fixture's settings: it leases the demo's buyer, reads its credentials
// through the lease, and releases it.
func checkDemoRunner(t *testing.T, text string) {
	t.Helper()
	env := checkPrintedTokens(t, text)
	if !strings.HasPrefix(env["CHIRP_URL"], "http://127.0.0.1:") {
		t.Errorf("the runner block sets CHIRP_URL %q, want the demo's chirp", env["CHIRP_URL"])
	}
	token := env["UNDERSTUDY_TOKEN"]
	c, err := openapi.NewClientWithResponses(env["UNDERSTUDY_URL"], openapi.WithRequestEditorFn(
		func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	grant, err := c.AcquireLeaseWithResponse(ctx, nil, openapi.LeaseRequest{
		Environment: env["UNDERSTUDY_ENVIRONMENT"], Role: env["UNDERSTUDY_ROLE"], Holder: "demo test"})
	if err != nil {
		t.Fatalf("leasing with the demo's runner token: %v", err)
	}
	if grant.JSON201 == nil {
		t.Fatalf("leasing with the demo's runner token: %d %s", grant.StatusCode(), redactTokens(string(grant.Body)))
	}
	if grant.JSON201.Credentials.Password == "" {
		t.Error("the lease with the demo's runner token carries no password")
	}
	rel, err := c.ReleaseLeaseWithResponse(ctx, grant.JSON201.Lease.Id, openapi.LeaseRelease{})
	if err != nil {
		t.Fatalf("releasing the lease with the demo's runner token: %v", err)
	}
	if rel.StatusCode() != http.StatusOK {
		t.Fatalf("releasing the lease with the demo's runner token: %d %s", rel.StatusCode(), rel.Body)
	}
}
