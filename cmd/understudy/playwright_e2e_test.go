package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/tracing"
)

// playwrightDir is the Playwright example package, from this directory.
const playwrightDir = "../../examples/playwright"

// playwrightTools returns the Playwright CLI and the Chromium binary the
// examples run with. Without them the test is skipped, saying what is
// missing, except in CI, where it fails.
func playwrightTools(t *testing.T) (cli, chromium string) {
	t.Helper()
	chromium = cmpOr(os.Getenv("CHROMIUM_PATH"), "/usr/bin/chromium")
	cli, _ = filepath.Abs(filepath.Join(playwrightDir, "node_modules", ".bin", "playwright"))
	var missing []string
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node is not on the PATH (Debian: apt-get install nodejs npm)")
	}
	if _, err := os.Stat(cli); err != nil {
		missing = append(missing, "the Playwright package is not installed (make test installs it: make playwright-deps)")
	}
	if _, err := exec.LookPath(chromium); err != nil {
		missing = append(missing, chromium+" is missing (Debian: apt-get install chromium; or set CHROMIUM_PATH)")
	}
	if len(missing) > 0 {
		msg := "the Playwright examples cannot run: " + strings.Join(missing, "; ")
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return cli, chromium
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkIn is what each worker of the examples' workers.spec.ts wrote.
type checkIn struct {
	ParallelIndex int    `json:"parallelIndex"`
	Holder        string `json:"holder"`
	LeaseID       string `json:"leaseId"`
	AccountID     string `json:"accountId"`
}

// TestPlaywrightExamples runs examples/playwright against chirp and a real
// server: two workers lease buyer accounts (a pool of two) and a seller
// file leases a seller account, sign in to chirp's pages through its walls
// (a code chirp mails over SMTP, read from the lease's inbox), post and read
// the leaderboard; an admin file signs in with the mailed code and its
// authenticator code, and by the mailed magic link. Every account was
// dirtied after its baseline was captured, so the examples' baseline checks
// pass only because each lease reset it.
func TestPlaywrightExamples(t *testing.T) {
	t.Parallel()
	cli, chromium := playwrightTools(t)
	ctx := context.Background()
	// chirp's sign-in walls are up: every example signs in with the code
	// chirp mails to the server's SMTP receiver, and the admin's with its
	// authenticator code too.
	site := newChirpSiteWith(t, map[string]int{"buyer": 2, "seller": 1, "admin": 1}, true)
	s, admin, app := site.s, site.admin, site.app
	// Dirty every account after its baseline was captured: a post and its
	// points, which the examples expect a lease to have reset.
	for _, id := range provisionedChirpUsers(t, site.pool, 4) {
		if _, err := app.Post(ctx, id, "left over from an earlier run"); err != nil {
			t.Fatal(err)
		}
	}
	realUser := chirpUser(t, app, "rosa_real")
	if err := app.AddPoints(ctx, realUser, 1000); err != nil {
		t.Fatal(err)
	}

	runID := "go-test-" + time.Now().UTC().Format("150405.000000")
	outDir := t.TempDir()
	out := runPlaywright(t, cli, []string{
		"UNDERSTUDY_URL=" + s.URL, "UNDERSTUDY_TOKEN=" + s.Runner, "UNDERSTUDY_RUN_ID=" + runID,
		"UNDERSTUDY_ENVIRONMENT=production", "UNDERSTUDY_ROLE=buyer", "UNDERSTUDY_E2E_DIR=" + outDir,
		"CHIRP_URL=" + site.url, "CHIRP_REAL_USERNAME=rosa_real", "CHROMIUM_PATH=" + chromium, "PLAYWRIGHT_WORKERS=2",
	})
	if os.Getenv("PLAYWRIGHT_SHOW") != "" {
		t.Log(out)
	}
	if strings.Contains(out, s.Runner) {
		t.Error("the Playwright output shows the runner token")
	}
	if strings.Contains(out, " skipped") || strings.Contains(out, " flaky") {
		t.Errorf("some Playwright examples were skipped or flaky:\n%s", out)
	}

	checkIns := readCheckIns(t, outDir)
	if len(checkIns) != 2 || checkIns[0].ParallelIndex == checkIns[1].ParallelIndex ||
		checkIns[0].AccountID == checkIns[1].AccountID || checkIns[0].LeaseID == checkIns[1].LeaseID {
		t.Fatalf("the two workers' check-ins = %+v, want two workers on two accounts", checkIns)
	}
	for _, c := range checkIns {
		if !strings.HasPrefix(c.Holder, runID+" worker ") {
			t.Errorf("holder %q, want %q", c.Holder, runID+" worker <n>")
		}
	}
	checkLeasesOfRun(t, admin, runID)
	checkChirpSawTheLeases(t, admin, site.logs.String())
	passed := checkRunsOfLeases(t, admin, runID)
	for id, r := range passed {
		if r.Outcome == nil || *r.Outcome != openapi.RunOutcomePassed || r.Test != "" || r.Message != "" {
			t.Errorf("run of lease %s (%s): outcome %v, test %q, message %q; want passed", id, r.Flow, r.Outcome, r.Test, r.Message)
		}
	}

	// A run whose test fails on purpose: its worker releases the lease as
	// failed, naming the test, with the test's trace as an artifact.
	failID := runID + "-fail"
	out = runPlaywrightFailing(t, cli, []string{
		"UNDERSTUDY_URL=" + s.URL, "UNDERSTUDY_TOKEN=" + s.Runner, "UNDERSTUDY_RUN_ID=" + failID,
		"UNDERSTUDY_ENVIRONMENT=production", "UNDERSTUDY_ROLE=buyer", "UNDERSTUDY_E2E_FAILING=1",
		"UNDERSTUDY_VERSION=v-e2e", "CHIRP_URL=" + site.url, "CHROMIUM_PATH=" + chromium, "PLAYWRIGHT_WORKERS=1",
	}, "--project", "evidence")
	if strings.Contains(out, s.Runner) {
		t.Error("the failing Playwright run's output shows the runner token")
	}
	failed := checkRunsOfLeases(t, admin, failID)
	if len(failed) != 1 {
		t.Fatalf("the failing run took %d leases, want 1", len(failed))
	}
	for id, r := range failed {
		const title = "evidence.spec.ts › a failing check leaves its evidence on the lease"
		if r.Outcome == nil || *r.Outcome != openapi.RunOutcomeFailed || r.Test != title ||
			!strings.Contains(r.Message, "fails on purpose") || r.Flow != "evidence" || r.Version != "v-e2e" {
			t.Errorf("run of lease %s: outcome %v, flow %q, version %q, test %q, message %q; want failed, evidence, v-e2e, %q and the expectation's message",
				id, r.Outcome, r.Flow, r.Version, r.Test, r.Message, title)
		}
		if strings.ContainsRune(r.Message, '\x1b') {
			t.Errorf("the failure message keeps terminal colours: %q", r.Message)
		}
		a, err := admin.ListArtifactsWithResponse(ctx, id)
		if err != nil || a.JSON200 == nil {
			t.Fatalf("listing the artifacts of lease %s: %v", id, err)
		}
		kinds := map[string]int64{}
		for _, f := range a.JSON200.Items {
			if !strings.HasPrefix(f.Name, "a-failing-check-leaves-its-evidence-on-the-lease--") {
				t.Errorf("artifact %q is not named after its test", f.Name)
			}
			kinds[path.Ext(f.Name)] = f.Size
		}
		if kinds[".zip"] == 0 || kinds[".png"] == 0 {
			t.Errorf("the failed run's artifacts are %+v, want its trace (.zip) and its screenshot (.png)", a.JSON200.Items)
		}
		checkFailedRunPage(t, s, admin, id)
	}
}

// checkFailedRunPage waits for the capture of the failed run of lease id,
// then checks its console page: the account's chirp state at the failure
// (the post the test made before it failed) against its baseline, the
// test's trace and screenshot, and the lease's trace id.
func checkFailedRunPage(t *testing.T, s *testServer, admin *openapi.ClientWithResponses, id string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := admin.GetRunCaptureWithResponse(ctx, id)
		if err != nil || c.JSON200 == nil {
			t.Fatalf("reading the failed run's capture: %v (%d)", err, c.StatusCode())
		}
		if c.JSON200.Status == openapi.CaptureStatusCaptured {
			break
		}
		if c.JSON200.Status == openapi.CaptureStatusFailed || time.Now().After(deadline) {
			t.Fatalf("the failed run's capture is %s: %v", c.JSON200.Status, c.JSON200.Reason)
		}
		time.Sleep(100 * time.Millisecond)
	}
	l, err := admin.GetLeaseWithResponse(ctx, id)
	if err != nil || l.JSON200 == nil || l.JSON200.Traceparent == nil {
		t.Fatalf("reading lease %s: %v", id, err)
	}
	traceID := strings.Split(*l.JSON200.Traceparent, "-")[1]
	b := newBrowserAt(t, s.URL)
	if code, loc, _ := b.signIn(s.Admin); code != http.StatusSeeOther || loc != "/ui/" {
		t.Fatalf("signing in to the console: %d %q", code, loc)
	}
	code, _, page := b.do(http.MethodGet, "/ui/runs/"+id, nil, nil)
	for _, want := range []string{"badge-captured", "<h3>chirp</h3>", `<span class="op op-added">added</span>`,
		"Posted just before the check that fails", ".zip</a>", ".png</a>", "<code>" + traceID + "</code>"} {
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("the failed run's console page (%d) lacks %q", code, want)
		}
	}
}

// checkRunsOfLeases reads the run of each lease of the Playwright run
// runID (GET /v1/runs/{lease_id}), checks that it names runID, and a flow
// that is the worker's Playwright project, and returns them by lease id.
func checkRunsOfLeases(t *testing.T, admin *openapi.ClientWithResponses, runID string) map[string]openapi.Run {
	t.Helper()
	ctx := context.Background()
	r, err := admin.ListLeasesWithResponse(ctx, &openapi.ListLeasesParams{All: new(true)})
	if err != nil || r.JSON200 == nil {
		t.Fatalf("listing leases: %v", err)
	}
	runs := map[string]openapi.Run{}
	for _, l := range r.JSON200.Items {
		if !strings.HasPrefix(l.Holder, runID+" worker ") {
			continue
		}
		g, err := admin.GetRunWithResponse(ctx, l.Id)
		if err != nil || g.JSON200 == nil {
			t.Fatalf("reading the run of lease %s: %v", l.Id, err)
		}
		run := *g.JSON200
		if run.RunId != runID || !slices.Contains([]string{"workers", "examples", "evidence"}, run.Flow) {
			t.Errorf("lease %s names run %q, flow %q; want run %q and the worker's project", l.Id, run.RunId, run.Flow, runID)
		}
		runs[l.Id] = run
	}
	if len(runs) == 0 {
		t.Fatalf("no lease is held by a worker of run %s", runID)
	}
	return runs
}

// runPlaywrightFailing runs the examples with env and args, and fails,
// showing their output, unless exactly one test failed. It returns the
// output.
func runPlaywrightFailing(t *testing.T, cli string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, append([]string{"test"}, args...)...)
	cmd.Dir = playwrightDir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out.String(), "1 failed") {
		t.Fatalf("npx playwright test %s: %v, want one failed test\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// checkChirpSawTheLeases checks, from chirp's log, that each lease's
// acquisition reset the account through chirp's webhook in the lease's
// trace, and that the examples' requests to chirp's pages carried their
// lease's traceparent and id (the fixture's extraHTTPHeaders): the
// examples' buyer, seller and admin workers each signed in.
func checkChirpSawTheLeases(t *testing.T, admin *openapi.ClientWithResponses, chirpLog string) {
	t.Helper()
	restores := map[string]bool{}         // trace ids of the webhook's restores
	pages := map[string]map[string]bool{} // lease id: the trace ids of its requests
	for line := range strings.Lines(chirpLog) {
		var l struct {
			Msg     string `json:"msg"`
			Route   string `json:"route"`
			TraceID string `json:"trace_id"`
			Lease   string `json:"lease"`
		}
		switch {
		case json.Unmarshal([]byte(line), &l) != nil || l.Msg != "chirp request":
		case l.Route == "POST /understudy/restore":
			restores[l.TraceID] = true
		case l.Lease != "":
			if pages[l.Lease] == nil {
				pages[l.Lease] = map[string]bool{}
			}
			pages[l.Lease][l.TraceID] = true
		}
	}
	r, err := admin.ListLeasesWithResponse(context.Background(), &openapi.ListLeasesParams{All: new(true)})
	if err != nil || r.JSON200 == nil || len(r.JSON200.Items) == 0 {
		t.Fatalf("listing the leases: %v", err)
	}
	leases := map[string]string{} // lease id: trace id
	for _, l := range r.JSON200.Items {
		if l.Traceparent == nil {
			t.Errorf("lease %s has no traceparent", l.Id)
			continue
		}
		leases[l.Id] = tracing.TraceID(*l.Traceparent)
		if !restores[leases[l.Id]] {
			t.Errorf("chirp's webhook restored no user in the trace %s of lease %s (%s)", leases[l.Id], l.Id, l.Role)
		}
	}
	for lease, traces := range pages {
		if want, ok := leases[lease]; !ok || len(traces) != 1 || !traces[want] {
			t.Errorf("chirp's requests under lease %s were in traces %v, want its own, %s", lease, traces, want)
		}
	}
	if len(pages) < 3 {
		t.Errorf("chirp saw the requests of %d leases' tests, want the buyer's, the seller's and the admin's", len(pages))
	}
}

// runPlaywright runs the examples with env and fails, showing their
// output, unless they pass. It returns the output.
func runPlaywright(t *testing.T, cli string, env []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "test")
	cmd.Dir = playwrightDir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("Playwright ran for %s", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("npx playwright test: %v\n%s", err, out.String())
	}
	return out.String()
}

// readCheckIns reads the files the check-ins wrote.
func readCheckIns(t *testing.T, dir string) []checkIn {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "check-in-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []checkIn
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c checkIn
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		out = append(out, c)
	}
	return out
}

// checkLeasesOfRun checks, from the server's records, that every lease the
// run took was released, and that no two of its leases held one account
// at the same time.
func checkLeasesOfRun(t *testing.T, admin *openapi.ClientWithResponses, runID string) {
	t.Helper()
	r, err := admin.ListLeasesWithResponse(context.Background(), &openapi.ListLeasesParams{All: new(true)})
	if err != nil || r.JSON200 == nil {
		t.Fatalf("listing leases: %v", err)
	}
	var ours []openapi.Lease
	roles := map[string]int{}
	for _, l := range r.JSON200.Items {
		if !strings.HasPrefix(l.Holder, runID+" worker ") {
			t.Errorf("lease %s is held by %q, not by a worker of run %s", l.Id, l.Holder, runID)
			continue
		}
		if l.Status != openapi.LeaseStatusReleased || l.EndedAt == nil {
			t.Errorf("lease %s (%s) is %s after the run, want released", l.Id, l.Holder, l.Status)
		}
		ours = append(ours, l)
		roles[l.Role]++
	}
	if roles["buyer"] < 2 || roles["seller"] < 1 {
		t.Errorf("the run took leases %v, want at least two buyer leases and a seller lease", roles)
	}
	for i, a := range ours {
		for _, b := range ours[i+1:] {
			if a.AccountId == b.AccountId && overlap(a, b) {
				t.Errorf("leases %s (%s) and %s (%s) held account %s at the same time", a.Id, a.Holder, b.Id, b.Holder, a.AccountId)
			}
		}
	}
	active, err := admin.ListLeasesWithResponse(context.Background(), &openapi.ListLeasesParams{})
	if err != nil || active.JSON200 == nil {
		t.Fatalf("listing active leases: %v", err)
	}
	if n := len(active.JSON200.Items); n != 0 {
		t.Errorf("%d leases are still active after the run", n)
	}
}

// overlap reports whether two ended leases were held at the same time.
func overlap(a, b openapi.Lease) bool {
	if a.EndedAt == nil || b.EndedAt == nil {
		return true
	}
	return a.AcquiredAt.Before(*b.EndedAt) && b.AcquiredAt.Before(*a.EndedAt)
}
