package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/openapi"
	runs "github.com/understudy-dev/understudy/run"
)

func TestFlowNameOfACIJob(t *testing.T) {
	t.Parallel()
	for job, want := range map[string]string{
		"e2e":                           "e2e",
		"rspec 1/3":                     "rspec 1/3",
		"test: [ruby, 3.1]":             "test: -ruby- 3.1-",
		"  -- build ":                   "build",
		"[]":                            "",
		"":                              "",
		"déploiement":                   "d-ploiement",
		strings.Repeat("a", 150) + " x": strings.Repeat("a", 100),
	} {
		got := flowName(job)
		if got != want {
			t.Errorf("flowName(%q) = %q, want %q", job, got, want)
		}
		if got != "" && !runs.ValidFlow(got) {
			t.Errorf("flowName(%q) = %q is not a flow's name", job, got)
		}
	}
}

func TestRunFlagsDefaultFromTheCI(t *testing.T) {
	t.Parallel()
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	github := env(map[string]string{"GITHUB_RUN_ID": "42", "GITHUB_JOB": "e2e", "GITHUB_SERVER_URL": "https://github.com/",
		"GITHUB_REPOSITORY": "acme/shop", "GITHUB_SHA": "abc123", "CI_PIPELINE_ID": "9"})
	gitlab := env(map[string]string{"CI_PIPELINE_ID": "9", "CI_JOB_NAME": "test: [ruby, 3.1]", "CI_JOB_URL": "https://gitlab.example.test/acme/shop/-/jobs/77",
		"CI_COMMIT_SHA": "def456", "CI_COMMIT_TAG": "v2.0.0"})
	for _, c := range []struct {
		name   string
		flags  runFlags
		getenv func(string) string
		want   *openapi.RunNaming
	}{
		{"GitHub Actions", runFlags{}, github, &openapi.RunNaming{RunId: new("42"), Flow: new("e2e"),
			CiUrl: new("https://github.com/acme/shop/actions/runs/42"), Version: new("abc123")}},
		{"GitLab CI", runFlags{}, gitlab, &openapi.RunNaming{RunId: new("9"), Flow: new("test: -ruby- 3.1-"),
			CiUrl: new("https://gitlab.example.test/acme/shop/-/jobs/77"), Version: new("v2.0.0")}},
		{"flags win", runFlags{flow: "checkout", version: "v9"}, github, &openapi.RunNaming{RunId: new("42"), Flow: new("checkout"),
			CiUrl: new("https://github.com/acme/shop/actions/runs/42"), Version: new("v9")}},
		{"no CI", runFlags{}, env(nil), nil},
		{"no CI, a flag", runFlags{runID: "local-1"}, env(nil), &openapi.RunNaming{RunId: new("local-1")}},
	} {
		got := c.flags.naming(c.getenv)
		if (got == nil) != (c.want == nil) || (got != nil && (strOf(got.RunId) != strOf(c.want.RunId) || strOf(got.Flow) != strOf(c.want.Flow) ||
			strOf(got.CiUrl) != strOf(c.want.CiUrl) || strOf(got.Version) != strOf(c.want.Version))) {
			t.Errorf("%s: %+v, want %+v", c.name, show(got), show(c.want))
		}
	}
}

func strOf(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func show(n *openapi.RunNaming) []string {
	if n == nil {
		return nil
	}
	return []string{strOf(n.RunId), strOf(n.Flow), strOf(n.CiUrl), strOf(n.Version)}
}

func TestCommandOutcome(t *testing.T) {
	t.Parallel()
	exitOf := func(script string) error { return exec.Command("sh", "-c", script).Run() }
	interrupted, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupt signal received"))
	for _, c := range []struct {
		ctx     context.Context
		err     error
		outcome openapi.ReleaseOutcome
		message string
	}{
		{context.Background(), nil, openapi.ReleaseOutcomePassed, ""},
		{context.Background(), exitOf("exit 3"), openapi.ReleaseOutcomeFailed, "sh exited with status 3"},
		{context.Background(), exitOf("kill -TERM $$"), openapi.ReleaseOutcomeErrored, "sh was stopped by SIGTERM"},
		{context.Background(), exitOf("kill -INT $$"), openapi.ReleaseOutcomeErrored, "sh was stopped by SIGINT"},
		{context.Background(), exitOf("kill -KILL $$"), openapi.ReleaseOutcomeFailed, "sh was killed by SIGKILL"},
		{context.Background(), exitOf("kill -SEGV $$"), openapi.ReleaseOutcomeFailed, "sh was killed by SIGSEGV"},
		{context.Background(), exec.Command("/nonexistent/program").Run(), openapi.ReleaseOutcomeErrored, "sh could not start: "},
		{interrupted, exitOf("exit 3"), openapi.ReleaseOutcomeErrored, "interrupted by SIGINT: sh exited with status 3"},
		{interrupted, nil, openapi.ReleaseOutcomeErrored, "interrupted by SIGINT: sh exited with status 0"},
	} {
		outcome, message := commandOutcome(c.ctx, "sh", c.err)
		if outcome != c.outcome || !strings.HasPrefix(message, c.message) || (c.message == "" && message != "") {
			t.Errorf("%v: %s %q, want %s %q", c.err, outcome, message, c.outcome, c.message)
		}
	}
}

// TestCommandResultNamesTheSignal: the CLI's own line about a command a
// signal killed names the signal as the run's message does, and exits
// 128+N.
func TestCommandResultNamesTheSignal(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		script  string
		code    int
		message string
	}{
		{"exit 3", 3, "sh exited with status 3"},
		{"kill -KILL $$", 128 + 9, "sh was killed by SIGKILL"},
		{"kill -SEGV $$", 128 + 11, "sh was killed by SIGSEGV"},
	} {
		err := commandResult("sh", exec.Command("sh", "-c", c.script).Run())
		ce, ok := errors.AsType[*codedError](err)
		if !ok || ce.code != c.code || err.Error() != c.message {
			t.Errorf("%s: %v (%T), want exit %d %q", c.script, err, err, c.code, c.message)
		}
	}
}
