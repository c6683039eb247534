package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/understudy-dev/understudy/openapi"
)

// What `understudy lease -- COMMAND` tells the server about its run: the
// run's name (flags, defaulting from the CI's variables) at acquire, and
// the outcome of COMMAND at release.

// runFlags are the flags of lease that name the run.
type runFlags struct {
	runID, flow, ciURL, version string
}

// register adds the flags.
func (f *runFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.runID, "run-id", "", "the CI's id of the run (default $GITHUB_RUN_ID, else $CI_PIPELINE_ID)")
	fs.StringVar(&f.flow, "flow", "", "the flow (or test path) the run exercises (default $GITHUB_JOB, else $CI_JOB_NAME)")
	fs.StringVar(&f.ciURL, "ci-url", "", "the CI job's page (default the GitHub Actions run's, else $CI_JOB_URL)")
	fs.StringVar(&f.version, "version", "", "the version under test (default $GITHUB_SHA, else $CI_COMMIT_TAG, else $CI_COMMIT_SHA)")
}

// naming is the run the flags name, each flag left empty defaulting from
// the CI's documented variables (ciNaming); nil when nothing names it.
func (f *runFlags) naming(getenv func(string) string) *openapi.RunNaming {
	ci := ciNaming(getenv)
	n := openapi.RunNaming{}
	for _, x := range []struct {
		flag, ci string
		dst      **string
	}{{f.runID, ci.runID, &n.RunId}, {f.flow, ci.flow, &n.Flow}, {f.ciURL, ci.ciURL, &n.CiUrl}, {f.version, ci.version, &n.Version}} {
		if v := firstNonEmpty(x.flag, x.ci); v != "" {
			*x.dst = new(v)
		}
	}
	if n == (openapi.RunNaming{}) {
		return nil
	}
	return &n
}

// ciNaming names the run from the variables GitHub Actions or GitLab CI
// set in every job, as documented:
//
//   - GitHub Actions, https://docs.github.com/en/actions/reference/variables-reference:
//     GITHUB_RUN_ID (a unique number for each workflow run), GITHUB_JOB
//     (the job_id of the current job), GITHUB_SERVER_URL and
//     GITHUB_REPOSITORY (whose run page is
//     $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID),
//     GITHUB_SHA (the commit that triggered the workflow);
//   - GitLab CI, https://docs.gitlab.com/ci/variables/predefined_variables/:
//     CI_PIPELINE_ID, CI_JOB_NAME, CI_JOB_URL, CI_COMMIT_TAG (only on
//     tags) and CI_COMMIT_SHA.
//
// A job's name may hold characters a flow's may not (GitLab's parallel
// jobs are named "test: [ruby, 3.1]"): they become "-" (flowName).
func ciNaming(getenv func(string) string) runFlags {
	if id := getenv("GITHUB_RUN_ID"); id != "" {
		n := runFlags{runID: id, flow: flowName(getenv("GITHUB_JOB")), version: getenv("GITHUB_SHA")}
		if server, repo := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"); server != "" && repo != "" {
			n.ciURL = strings.TrimRight(server, "/") + "/" + repo + "/actions/runs/" + id
		}
		return n
	}
	return runFlags{runID: getenv("CI_PIPELINE_ID"), flow: flowName(getenv("CI_JOB_NAME")), ciURL: getenv("CI_JOB_URL"),
		version: firstNonEmpty(getenv("CI_COMMIT_TAG"), getenv("CI_COMMIT_SHA"))}
}

// notFlow matches what a flow's name may not hold (run.FlowPattern).
var notFlow = regexp.MustCompile(`[^A-Za-z0-9 _.:/@+#-]+`)

// flowName makes a CI job's name a flow's: characters a flow may not
// hold become "-", it starts with a letter or digit, does not end with a
// space and is at most 100 characters; "" when nothing is left.
func flowName(job string) string {
	s := notFlow.ReplaceAllString(job, "-")
	s = strings.TrimLeft(s, " _.:/@+#-")
	if len(s) > 100 {
		s = s[:100]
	}
	return strings.TrimRight(s, " ")
}

// commandOutcome is the run's outcome from how COMMAND ended (runErr, as
// runForwarding returned it), and the message that says why: passed when
// it exited 0; failed when it exited with another status or was killed by
// a signal other than SIGINT and SIGTERM; errored when it could not start,
// or was stopped by SIGINT or SIGTERM (this process's, passed on to it, or
// its own).
func commandOutcome(ctx context.Context, name string, runErr error) (openapi.ReleaseOutcome, string) {
	interrupted := ""
	if ctx.Err() != nil {
		interrupted = fmt.Sprintf("interrupted by %s: ", signalName(signalOf(ctx)))
	}
	if runErr == nil {
		if interrupted != "" {
			return openapi.ReleaseOutcomeErrored, interrupted + name + " exited with status 0"
		}
		return openapi.ReleaseOutcomePassed, ""
	}
	ee, ok := errors.AsType[*exec.ExitError](runErr)
	if !ok {
		return openapi.ReleaseOutcomeErrored, fmt.Sprintf("%s could not start: %v", name, runErr)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		if sig := ws.Signal(); sig == syscall.SIGINT || sig == syscall.SIGTERM {
			return openapi.ReleaseOutcomeErrored, fmt.Sprintf("%s%s was stopped by %s", interrupted, name, signalName(sig))
		}
		return openapi.ReleaseOutcomeFailed, fmt.Sprintf("%s%s was killed by %s", interrupted, name, signalName(ws.Signal()))
	}
	if interrupted != "" {
		return openapi.ReleaseOutcomeErrored, fmt.Sprintf("%s%s exited with status %d", interrupted, name, ee.ExitCode())
	}
	return openapi.ReleaseOutcomeFailed, fmt.Sprintf("%s exited with status %d", name, ee.ExitCode())
}

// signalName names a signal as the shell does: SIGINT, SIGTERM, SIGKILL,
// SIGSEGV (not Go's "killed" or "segmentation fault").
func signalName(sig os.Signal) string {
	if sig == os.Interrupt {
		return "SIGINT"
	}
	if s, ok := sig.(syscall.Signal); ok {
		if name := unix.SignalName(s); name != "" {
			return name
		}
	}
	return sig.String()
}
