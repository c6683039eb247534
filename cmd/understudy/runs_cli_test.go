package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/openapi"
)

// leaseIDOf reads the lease id lease -- COMMAND reports on its standard
// error ("understudy: lease ID: account ...").
func leaseIDOf(t *testing.T, res cliResult) string {
	t.Helper()
	for l := range strings.Lines(res.Stderr) {
		if rest, ok := strings.CutPrefix(l, "understudy: lease "); ok {
			if id, _, ok := strings.Cut(rest, ":"); ok {
				return id
			}
		}
	}
	t.Fatalf("no lease id on stderr: %q", res.Stderr)
	return ""
}

// understudy lease -- COMMAND names the run from its flags or the CI's
// variables, and records the outcome of COMMAND's exit: 0 passed, 3
// failed, a program that cannot start errored.
func TestCLILeaseRunRecordsTheOutcome(t *testing.T) {
	t.Parallel()
	s, _ := withApp(t, "1")
	lease := []string{"lease", "--environment", "production", "--role", "buyer", "--holder", "ci"}

	passed := mustOK(t, s.cli(t, s.Runner, append(lease, "--flow", "checkout", "--run-id", "7", "--ci-url", "https://ci.example.test/7",
		"--version", "v1.2.3", "--", "true")...))
	if !strings.Contains(passed.Stderr, "released; run passed") {
		t.Errorf("lease -- true says %q", passed.Stderr)
	}
	github := map[string]string{"GITHUB_RUN_ID": "42", "GITHUB_JOB": "e2e", "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_REPOSITORY": "acme/shop", "GITHUB_SHA": "abc123"}
	failed := s.cliEnv(t, github, s.Runner, append(lease, "--", "sh", "-c", "exit 3")...)
	mustFail(t, failed, 3, "exited with status 3", "released; run failed")
	gitlab := map[string]string{"CI_PIPELINE_ID": "9", "CI_JOB_NAME": "smoke [eu]", "CI_JOB_URL": "https://gitlab.example.test/acme/shop/-/jobs/77",
		"CI_COMMIT_SHA": "def456"}
	errored := s.cliEnv(t, gitlab, s.Runner, append(lease, "--", "/nonexistent/program")...)
	mustFail(t, errored, exitError, "/nonexistent/program", "released; run errored")

	for _, c := range []struct {
		res                                  cliResult
		outcome                              openapi.RunOutcome
		message, flow, runID, ciURL, version string
	}{
		{passed, openapi.RunOutcomePassed, "", "checkout", "7", "https://ci.example.test/7", "v1.2.3"},
		{failed, openapi.RunOutcomeFailed, "sh exited with status 3", "e2e", "42", "https://github.com/acme/shop/actions/runs/42", "abc123"},
		{errored, openapi.RunOutcomeErrored, "/nonexistent/program could not start: ", "smoke -eu-", "9", "https://gitlab.example.test/acme/shop/-/jobs/77", "def456"},
	} {
		r := decode[openapi.Run](t, s, "runs", "show", leaseIDOf(t, c.res))
		if r.Outcome == nil || *r.Outcome != c.outcome || !strings.HasPrefix(r.Message, c.message) || (c.message == "" && r.Message != "") ||
			r.Flow != c.flow || r.RunId != c.runID || r.CiUrl != c.ciURL || r.Version != c.version || r.LeaseStatus != openapi.LeaseStatusReleased {
			t.Errorf("run of the %s command: %+v", c.outcome, r)
		}
	}
}

func TestCLIRuns(t *testing.T) {
	t.Parallel()
	s, _ := withApp(t, "1")
	lease := []string{"lease", "--environment", "production", "--role", "buyer"}
	mustOK(t, s.cli(t, s.Runner, append(lease, "--flow", "checkout", "--", "true")...))
	mustFail(t, s.cli(t, s.Runner, append(lease, "--flow", "signup", "--version", "v2", "--", "sh", "-c", "echo boom >&2; exit 1")...), 1)
	held := decode[openapi.LeaseGrant](t, s, "leases", "acquire", "--environment", "production", "--role", "buyer") // a run without a name, open

	// The table: newest first, "-" for what a run did not say.
	rs := rows(t, mustOK(t, s.cli(t, s.Reader, "runs", "list")).Stdout)
	if len(rs) != 3 { // LEASE ENVIRONMENT ROLE FLOW OUTCOME STATUS ACQUIRED DURATION VERSION
		t.Fatalf("runs list shows %v, want 3 runs", rs)
	}
	if r := rs[0]; r[0] != held.Lease.Id || r[3] != "-" || r[4] != "-" || r[5] != "active" || r[7] != "-" {
		t.Errorf("the open run without a name: %v", r)
	}
	if r := rs[1]; r[1] != "production" || r[2] != "buyer" || r[3] != "signup" || r[4] != "failed" || r[5] != "released" || r[7] == "-" || r[8] != "v2" {
		t.Errorf("the failed run: %v", r)
	}
	if r := rs[2]; r[3] != "checkout" || r[4] != "passed" || r[8] != "-" {
		t.Errorf("the passed run: %v", r)
	}

	// Filters.
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--outcome", "failed"}, 1},
		{[]string{"--flow", "checkout"}, 1},
		{[]string{"--environment", "production", "--role", "buyer"}, 3},
		{[]string{"--role", "seller"}, 0},
		{[]string{"--since", "1h"}, 3},
		{[]string{"--until", "1h"}, 0},
		{[]string{"--since", "2000-01-01T00:00:00Z", "--until", "2000-01-02T00:00:00Z"}, 0},
	} {
		list := decode[openapi.RunList](t, s, append([]string{"runs", "list"}, c.args...)...)
		if len(list.Items) != c.want {
			t.Errorf("runs list %v: %d runs, want %d", c.args, len(list.Items), c.want)
		}
	}

	// Pages: the command says how to get the next one.
	first := mustOK(t, s.cli(t, s.Reader, "runs", "list", "--limit", "2"))
	_, after, ok := strings.Cut(strings.TrimSpace(first.Stderr), "more runs follow: --after ")
	if rs := rows(t, first.Stdout); len(rs) != 2 || !ok || after == "" {
		t.Fatalf("runs list --limit 2: %v, stderr %q", rs, first.Stderr)
	}
	rest := mustOK(t, s.cli(t, s.Reader, "runs", "list", "--limit", "2", "--after", after))
	if rs := rows(t, rest.Stdout); len(rs) != 1 || rs[0][3] != "checkout" || rest.Stderr != "" {
		t.Errorf("the second page: %v, stderr %q", rs, rest.Stderr)
	}

	// One run, for people and as JSON.
	failed := decode[openapi.RunList](t, s, "runs", "list", "--outcome", "failed").Items[0]
	out := mustOK(t, s.cli(t, s.Reader, "runs", "show", failed.LeaseId)).Stdout
	if show := grantOf(out); show["Outcome"] != "failed" || show["Flow"] != "signup" || show["Lease"] != failed.LeaseId ||
		!strings.Contains(out, "\nMessage       sh exited with status 1\n") {
		t.Errorf("runs show printed %q", out)
	}
	if r := decode[openapi.Run](t, s, "runs", "show", failed.LeaseId); r.Message != "sh exited with status 1" || r.DurationSeconds == nil {
		t.Errorf("runs show -o json: %+v", r)
	}

	// Exit codes.
	mustFail(t, s.cli(t, s.Reader, "runs", "show", "00000000-0000-0000-0000-000000000000"), exitNotFound, "no lease has id")
	mustFail(t, s.cli(t, s.Reader, "runs", "list", "--since", "yesterday"), exitUsage, "--since")
	mustFail(t, s.cli(t, s.Reader, "runs", "list", "--outcome", "skipped"), exitInvalid, "outcome")
	mustFail(t, s.cli(t, s.Reader, "runs", "list", "--limit", "500"), exitInvalid, "limit")
	mustFail(t, s.cli(t, s.Reader, "runs", "show"), exitUsage, "lease_id")
}

// understudy lease --artifacts DIR -- COMMAND tells COMMAND the directory,
// uploads what it wrote there (nested paths flattened) before the
// release, and keeps the command's exit code and outcome; a directory the
// command did not make uploads nothing and is said so.
func TestCLILeaseRunUploadsArtifacts(t *testing.T) {
	t.Parallel()
	s, _ := withApp(t, "1")
	dir := filepath.Join(t.TempDir(), "results")
	script := `mkdir -p "$UNDERSTUDY_ARTIFACTS_DIR/shots" && echo trace > "$UNDERSTUDY_ARTIFACTS_DIR/trace.txt" && ` +
		`echo png > "$UNDERSTUDY_ARTIFACTS_DIR/shots/cart.png" && exit 2`
	res := s.cli(t, s.Runner, "lease", "--environment", "production", "--role", "buyer", "--artifacts", dir, "--", "sh", "-c", script)
	mustFail(t, res, 2, "2 artifacts uploaded, 0 skipped", "released; run failed")
	id := leaseIDOf(t, res)
	var names []string
	for _, a := range decode[openapi.ArtifactList](t, s, "artifacts", "list", id).Items {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	if want := []string{"shots__cart.png", "trace.txt"}; !slices.Equal(names, want) {
		t.Errorf("artifacts %v, want %v", names, want)
	}
	if r := decode[openapi.Run](t, s, "runs", "show", id); r.Outcome == nil || *r.Outcome != openapi.RunOutcomeFailed {
		t.Errorf("run %+v, want failed", r)
	}

	none := mustOK(t, s.cli(t, s.Runner, "lease", "--environment", "production", "--role", "buyer",
		"--artifacts", filepath.Join(t.TempDir(), "never"), "--", "true"))
	if !strings.Contains(none.Stderr, "no artifacts uploaded") || !strings.Contains(none.Stderr, "released; run passed") {
		t.Errorf("a directory the command did not make: %q", none.Stderr)
	}
}

// A run shows the deployment it ran against: its environment's newest at
// or before its lease was acquired, none before the first, and a later
// deployment does not change an earlier run's.
func TestARunShowsTheDeploymentItRanAgainst(t *testing.T) {
	t.Parallel()
	s, _ := withApp(t, "1")
	lease := []string{"lease", "--environment", "production", "--role", "buyer", "--flow", "checkout", "--", "true"}
	before := leaseIDOf(t, mustOK(t, s.cli(t, s.Runner, lease...)))
	mustOK(t, s.cli(t, s.Runner, "deployments", "record", "--environment", "production", "--version", "v1"))
	during := leaseIDOf(t, mustOK(t, s.cli(t, s.Runner, lease...)))
	mustOK(t, s.cli(t, s.Runner, "deployments", "record", "--environment", "production", "--version", "v2"))
	after := leaseIDOf(t, mustOK(t, s.cli(t, s.Runner, lease...)))

	for id, want := range map[string]string{before: "", during: "v1", after: "v2"} {
		r := decode[openapi.Run](t, s, "runs", "show", id)
		got := ""
		if r.Deployment != nil {
			got = r.Deployment.Version
		}
		if got != want {
			t.Errorf("run %s ran against %q, want %q", id, got, want)
		}
	}
	var list openapi.RunList
	res := mustOK(t, s.cli(t, s.Reader, "runs", "list", "-o", "json"))
	if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil || len(list.Items) != 3 || list.Items[0].Deployment == nil ||
		list.Items[0].Deployment.Version != "v2" || list.Items[2].Deployment != nil {
		t.Errorf("runs list -o json: %s (%v)", res.Stdout, err)
	}
	if out := mustOK(t, s.cli(t, s.Reader, "runs", "show", during)).Stdout; !strings.Contains(out, "v1 (deployed ") {
		t.Errorf("runs show says %q, want the deployment", out)
	}
}

// A failed run's account state is captured by the server's job, and
// `runs capture` shows it to the token that held the lease and to an
// admin, never to another runner.
func TestCLIRunsCaptureShowsTheFailedRunsState(t *testing.T) {
	t.Parallel()
	s, _ := withApp(t, "1")
	res := s.cli(t, s.Runner, "lease", "--environment", "production", "--role", "buyer", "--", "false")
	id := leaseIDOf(t, res)
	if !strings.Contains(res.Stderr, "is being kept: understudy runs capture "+id) {
		t.Errorf("lease -- false does not say where the failed state is: %q", res.Stderr)
	}
	deadline := time.Now().Add(20 * time.Second)
	var r openapi.Run
	for {
		r = decode[openapi.Run](t, s, "runs", "show", id)
		if r.CaptureStatus != nil && *r.CaptureStatus != openapi.CaptureStatusPending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failed run's capture is %v after 20s", r.CaptureStatus)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if *r.CaptureStatus != openapi.CaptureStatusCaptured {
		t.Fatalf("capture status %s, want captured", *r.CaptureStatus)
	}
	out := mustOK(t, s.cli(t, s.Runner, "runs", "capture", id)).Stdout
	if !strings.Contains(out, "captured") || !strings.Contains(out, "App mem") || !strings.Contains(out, "0 change(s)") || !strings.Contains(out, "state initial") {
		t.Errorf("runs capture printed %q", out)
	}
	if st := mustOK(t, s.cli(t, s.Admin, "runs", "capture", id, "--app", "mem")).Stdout; !strings.Contains(st, `"items": []`) {
		t.Errorf("runs capture --app printed %q, want the fake app's state", st)
	}
	if show := mustOK(t, s.cli(t, s.Reader, "runs", "show", id)).Stdout; !strings.Contains(show, "captured (understudy runs capture "+id+")") {
		t.Errorf("runs show printed %q, want the capture's status", show)
	}
	other := mustOK(t, s.cli(t, s.Admin, "tokens", "create", "--name", "other-runner", "--scope", "runner"))
	secret := tokenRE.FindString(other.Stdout)
	mustFail(t, s.cli(t, secret, "runs", "capture", id), exitAuth, "only that token or an admin token")
	mustFail(t, s.cli(t, s.Reader, "runs", "capture", id), exitAuth)
	mustFail(t, s.cli(t, s.Runner, "runs", "capture", id, "--app", "nope"), exitNotFound, "no state of app nope")
	passed := leaseIDOf(t, mustOK(t, s.cli(t, s.Runner, "lease", "--environment", "production", "--role", "buyer", "--", "true")))
	mustFail(t, s.cli(t, s.Runner, "runs", "capture", passed), exitNotFound, "has no captured state")
}

// What an app said reaches the terminal inert: a key or an error holding
// an escape sequence or a bidi override is printed quoted.
func TestCaptureTextIsInertOnATerminal(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"$.cart[0]":                    "$.cart[0]",
		"$.\x1b]52;c;ZWNobyBoaQ==\x07": `"$.\x1b]52;c;ZWNobyBoaQ==\a"`,
		"app down\u202egnp.exe":        `"app down\u202egnp.exe"`,
		"naïve":                        "naïve",
	} {
		if got := inert(in); got != want {
			t.Errorf("inert(%q) = %s, want %s", in, got, want)
		}
	}
}
