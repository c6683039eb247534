package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

// leaseRunCommand is `understudy lease -- COMMAND`: the way a CI job uses
// an account. The lease lives exactly as long as the command.
func (a *cli) leaseRunCommand() *cobra.Command {
	var f leaseFlags
	var rf runFlags
	var artifacts string
	cmd := &cobra.Command{
		Use:   "lease --environment E --role R [flags] -- COMMAND [ARGS...]",
		Short: "Run a command with a leased account, renewing the lease while it runs and releasing it after",
		Long: `Leases a freshly reset account of the role, runs COMMAND with it in the environment
(UNDERSTUDY_ACCOUNT_ID, UNDERSTUDY_ACCOUNT_EMAIL, UNDERSTUDY_ACCOUNT_USERNAME,
UNDERSTUDY_ACCOUNT_PASSWORD, UNDERSTUDY_LEASE_ID, UNDERSTUDY_LEASE_EXPIRES_AT (as
granted; renewals extend it) and UNDERSTUDY_REF_<APP> for each app, e.g.
UNDERSTUDY_REF_WEB_SHOP for app web-shop, and TRACEPARENT, the lease's W3C trace
context, for COMMAND's requests to the app and its own tracing),
renews the lease every --ttl/3 while it runs and releases it when it exits, also
on SIGINT or SIGTERM (passed on to COMMAND first).

The lease names its run (--run-id, --flow, --ci-url, --version, each defaulting
from GitHub Actions' or GitLab CI's variables), and its release records the
run's outcome: passed when COMMAND exits 0, failed when it exits with another
status (or is killed by a signal other than SIGINT and SIGTERM), errored when
it cannot start or is stopped by SIGINT or SIGTERM; the message says which.

With --artifacts DIR, COMMAND finds DIR in UNDERSTUDY_ARTIFACTS_DIR, and once it
has exited every regular file under DIR is uploaded as an artifact of the lease
(as understudy artifacts put does; paths flattened with __) before the release,
whatever the outcome. A file that cannot be uploaded is reported and skipped;
a DIR that COMMAND did not create uploads nothing. Neither changes the exit code.

Exits with COMMAND's exit code (128+N when signal N killed it); 1 when it could
not start; when no lease was granted, with the usual codes (5: every account is
leased).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			if cmd.ArgsLenAtDash() != 0 || len(argv) == 0 {
				return usageErrorf("put the command after --, as in: understudy lease --environment E --role R -- make test")
			}
			req, err := f.request(a.getenv)
			if err != nil {
				return err
			}
			req.Run = rf.naming(a.getenv)
			c, err := a.leaseClient(f.wait)
			if err != nil {
				return err
			}
			resp, err := c.AcquireLeaseWithResponse(cmd.Context(), new(traceParams(a.getenv)), req)
			if err := check(resp, err); err != nil {
				if cmd.Context().Err() != nil { // not the server's fault, as check would say
					return fmt.Errorf("stopped waiting for an account: %w", context.Cause(cmd.Context()))
				}
				return err
			}
			return a.runLeased(cmd.Context(), c, *resp.JSON201, f.ttl, argv, artifacts)
		},
	}
	f.register(cmd, 2*time.Minute)
	rf.register(cmd)
	cmd.Flags().StringVar(&artifacts, "artifacts", "", "a directory whose files are uploaded as the lease's artifacts once COMMAND exits (COMMAND finds it in UNDERSTUDY_ARTIFACTS_DIR)")
	return cmd
}

// runLeased runs argv with the grant's account, renewing the lease every
// ttl/3 until the command exits, then releases the lease with the run's
// outcome (commandOutcome), after uploading the files of artifacts (when
// it is not empty) as the lease's artifacts. ctx is cancelled by SIGINT or
// SIGTERM (main's signal.NotifyContext).
func (a *cli) runLeased(ctx context.Context, c *openapi.ClientWithResponses, g openapi.LeaseGrant, ttl time.Duration, argv []string, artifacts string) error {
	// The command's standard error and our reports share a writer; when it
	// is not a file, writes are serialised.
	stderr := a.stderr
	if _, ok := stderr.(*os.File); !ok {
		stderr = &lockedWriter{w: stderr}
	}
	fmt.Fprintf(stderr, "understudy: lease %s: account %s until %s\n", g.Lease.Id, g.Credentials.Email, g.Lease.ExpiresAt.Format(time.RFC3339))

	child := exec.Command(argv[0], argv[1:]...)
	child.Env = append(os.Environ(), leaseEnv(g)...)
	if artifacts != "" {
		child.Env = append(child.Env, "UNDERSTUDY_ARTIFACTS_DIR="+artifacts)
	}
	child.Stdin, child.Stdout, child.Stderr = a.stdin, a.stdout, stderr

	// Renewals go on after a signal, until the command has exited: it may
	// take a while to clean up, and still holds the account meanwhile.
	renewCtx, stopRenewing := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { renewEvery(renewCtx, c, g.Lease.Id, ttl, stderr) })
	runErr := runForwarding(ctx, child)
	stopRenewing()
	wg.Wait()

	if artifacts != "" {
		a.uploadAfterRun(ctx, c, g.Lease.Id, artifacts, stderr)
	}
	// ctx may be cancelled by now: the release gets a short context of its own.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	outcome, message := commandOutcome(ctx, argv[0], runErr)
	release := openapi.LeaseRelease{Outcome: &outcome}
	if message != "" {
		release.Message = &message
	}
	resp, err := c.ReleaseLeaseWithResponse(rctx, g.Lease.Id, release)
	if err := check(resp, err); err != nil {
		// Not fatal: the exit code stays the command's, and the lease
		// expires at its time anyway.
		fmt.Fprintf(stderr, "understudy: releasing lease %s: %v\n", g.Lease.Id, err)
	} else {
		fmt.Fprintf(stderr, "understudy: lease %s released; run %s\n", g.Lease.Id, outcome)
		if outcome != openapi.ReleaseOutcomePassed {
			fmt.Fprintf(stderr, "understudy: the account's state at the failure is being kept: understudy runs capture %s\n", g.Lease.Id)
		}
	}
	return commandResult(argv[0], runErr)
}

// uploadAfterRun uploads the files of dir as the lease's artifacts, once
// the command has exited, reporting to stderr what it uploaded and skipped.
// The upload outlives a signal (the evidence of a run stopped by Ctrl-C is
// kept too), bounded by two minutes; its failure is reported, not fatal.
func (a *cli) uploadAfterRun(ctx context.Context, c *openapi.ClientWithResponses, leaseID, dir string, stderr io.Writer) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "understudy: no artifacts uploaded: %s is not a directory the command made\n", dir)
		return
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	res, err := uploadArtifactDir(uctx, c, leaseID, dir, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "understudy: uploading the artifacts of %s: %v\n", dir, err)
		return
	}
	fmt.Fprintf(stderr, "understudy: lease %s: %d artifacts uploaded, %d skipped\n", leaseID, len(res.Uploaded), len(res.Skipped))
}

// leaseEnv is the account and lease as environment variables.
func leaseEnv(g openapi.LeaseGrant) []string {
	env := []string{
		"UNDERSTUDY_ACCOUNT_ID=" + g.Account.Id,
		"UNDERSTUDY_ACCOUNT_EMAIL=" + g.Credentials.Email,
		"UNDERSTUDY_ACCOUNT_USERNAME=" + g.Credentials.Username,
		"UNDERSTUDY_ACCOUNT_PASSWORD=" + g.Credentials.Password,
		"UNDERSTUDY_LEASE_ID=" + g.Lease.Id,
		"UNDERSTUDY_LEASE_EXPIRES_AT=" + g.Lease.ExpiresAt.UTC().Format(time.RFC3339),
	}
	for _, app := range slices.Sorted(maps.Keys(g.Refs)) {
		env = append(env, "UNDERSTUDY_REF_"+strings.ToUpper(strings.ReplaceAll(app, "-", "_"))+"="+g.Refs[app])
	}
	if g.Lease.Traceparent != nil {
		env = append(env, "TRACEPARENT="+*g.Lease.Traceparent)
	}
	return env
}

// runForwarding starts child and waits for it, passing on to it the signal
// that cancels ctx.
func runForwarding(ctx context.Context, child *exec.Cmd) error {
	if err := child.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = child.Process.Signal(signalOf(ctx)) // fails only when the child has exited
		case <-exited:
		}
	}()
	err := child.Wait()
	close(exited)
	return err
}

// signalOf tells which signal cancelled ctx. signal.NotifyContext says it
// only in the text of the cause ("interrupt signal received"); anything
// else cancelling ctx counts as SIGTERM.
func signalOf(ctx context.Context) os.Signal {
	if cause := context.Cause(ctx); cause != nil && strings.HasPrefix(cause.Error(), os.Interrupt.String()+" ") {
		return os.Interrupt
	}
	return syscall.SIGTERM
}

// renewEvery renews the lease every ttl/3 until ctx is done. A failed
// renewal is reported, not fatal: the next one may succeed, and the
// command is better judged by its own outcome.
func renewEvery(ctx context.Context, c *openapi.ClientWithResponses, id string, ttl time.Duration, stderr io.Writer) {
	every := max(ttl/3, 100*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, every)
		resp, err := c.RenewLeaseWithResponse(rctx, id, openapi.LeaseRenew{TtlSeconds: new(seconds(ttl))})
		cancel()
		if err := check(resp, err); err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "understudy: renewing lease %s: %v\n", id, err)
		}
	}
}

// commandResult turns how the command ended into the CLI's outcome: its
// exit code, 128+N when signal N killed it, 1 when it could not start.
func commandResult(name string, err error) error {
	if err == nil {
		return nil
	}
	ee, ok := errors.AsType[*exec.ExitError](err)
	if !ok {
		return &codedError{code: exitError, err: fmt.Errorf("running %s: %w", name, err)}
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &codedError{code: 128 + int(ws.Signal()), err: fmt.Errorf("%s was killed by %s", name, signalName(ws.Signal()))}
	}
	return &codedError{code: ee.ExitCode(), err: fmt.Errorf("%s exited with status %d", name, ee.ExitCode())}
}

// lockedWriter serialises writes to w from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
