package run_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/tracing"
)

// captureSite is a stack of one buyer account whose leases hold their
// account for the capture of a failed run's state, on a database of the
// test's own (the captures commit), with a clock the test moves.
type captureSite struct {
	st       domaintest.Stack
	captures *run.Captures
	leases   *lease.Service
	clock    *testClock
	pool     *pgxpool.Pool
}

func newCaptureSite(t *testing.T) *captureSite {
	t.Helper()
	pool := dbtest.NewPool(t)
	clock := &testClock{t: time.Now()}
	st := domaintest.NewAt(t, pool, 1, clock.Now)
	jobs, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := run.NewCaptures(run.CaptureConfig{DB: pool, Snapshots: st.Snapshots, Jobs: jobs, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	leases, err := lease.New(lease.Config{DB: pool, Accounts: st.Accounts, Snapshots: st.Snapshots, Apps: st.Apps, AppTimeout: 2 * time.Second,
		Now: clock.Now, Runs: st.Runs, Captures: c})
	if err != nil {
		t.Fatal(err)
	}
	return &captureSite{st: st, captures: c, leases: leases, clock: clock, pool: pool}
}

// lease leases the buyer, and sets its state in the app to state.
func (s *captureSite) lease(t *testing.T, state string) lease.Grant {
	t.Helper()
	g, err := s.leases.Acquire(s.st.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "capture", TTL: time.Minute})
	if err != nil {
		t.Fatalf("leasing: %v", err)
	}
	if state != "" {
		ref, _ := s.st.App.Ref(g.Account.ID)
		if err := s.st.App.SetState(ref, []byte(state)); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func (s *captureSite) release(t *testing.T, id string, outcome run.Outcome, reset bool) lease.Lease {
	t.Helper()
	l, err := s.leases.ReleaseWith(s.st.Ctx, id, lease.ReleaseRequest{Reset: reset, Outcome: &run.Report{Outcome: outcome, Message: "boom"}})
	if err != nil {
		t.Fatalf("releasing %s: %v", outcome, err)
	}
	return l
}

func (s *captureSite) account(t *testing.T, id string) accounts.Account {
	t.Helper()
	a, err := s.st.Accounts.GetAccount(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (s *captureSite) capture(t *testing.T, leaseID string) run.Capture {
	t.Helper()
	cp, found, err := s.captures.Get(context.Background(), leaseID)
	if err != nil || !found {
		t.Fatalf("reading the capture of %s: found %v, %v", leaseID, found, err)
	}
	return cp
}

// jobsOf counts the capture jobs queued for lease id.
func (s *captureSite) jobsOf(t *testing.T, id string) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'capture_run_state' AND args->>'lease_id' = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const initialState = `{"items":[]}`

func TestAFailedRunsAccountIsHeldUntilItsStateIsKept(t *testing.T) {
	s := newCaptureSite(t)
	ctx := s.st.Ctx
	g := s.lease(t, `{"items":["socks"]}`)
	l := s.release(t, g.Lease.ID, run.Failed, false)
	if l.Run == nil || l.Run.Outcome != run.Failed {
		t.Fatalf("the release recorded %+v, want failed", l.Run)
	}
	a := s.account(t, g.Account.ID)
	if a.Status != accounts.StatusCapturing || !strings.Contains(a.StatusReason, g.Lease.ID) {
		t.Fatalf("after a failed run the account is %s (%q), want capturing naming the lease", a.Status, a.StatusReason)
	}
	s.captures.Flush() // the job is enqueued off the release's path
	if n := s.jobsOf(t, g.Lease.ID); n != 1 {
		t.Fatalf("%d capture jobs queued, want 1", n)
	}
	// The next lease waits: nothing can be claimed, and the answer says why.
	_, err := s.leases.Acquire(ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "next", TTL: time.Minute})
	e := domaintest.WantCode(t, err, understudy.ECONFLICT)
	if !strings.Contains(e.Message, "held while the state of a failed run is kept") || !strings.Contains(e.Message, g.Account.ID) || e.RetryAfter <= 0 {
		t.Fatalf("busy answer %q (retry after %v) does not say the account is held for its capture", e.Message, e.RetryAfter)
	}
	if cp := s.capture(t, g.Lease.ID); cp.Status != run.CapturePending || len(cp.Apps) != 0 {
		t.Fatalf("before its job the capture is %+v, want pending", cp)
	}

	jobCtx := access.ForJob(context.Background(), "capture", 1)
	if err := s.captures.Capture(jobCtx, g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	cp := s.capture(t, g.Lease.ID)
	if cp.Status != run.CaptureCaptured || cp.State != "initial" || cp.FinishedAt == nil || len(cp.Apps) != 1 {
		t.Fatalf("capture %+v, want captured against initial with one app", cp)
	}
	app := cp.Apps[0]
	if app.App != "chirp" || app.Error != "" || app.ChangesTotal != 1 || len(app.Changes) != 1 || app.Changes[0].Path != "$.items[0]" ||
		app.Changes[0].Op != "added" || app.Changes[0].After != "socks" || app.Hash == "" || app.Baseline == "" || app.Hash == app.Baseline {
		t.Fatalf("the app's part is %+v, want the added sock against the baseline", app)
	}
	state, err := s.captures.State(ctx, g.Lease.ID, "chirp")
	if err != nil || string(state) != `{"items":["socks"]}` {
		t.Fatalf("the kept state is %s (%v)", state, err)
	}
	if _, err := s.captures.State(ctx, g.Lease.ID, "nope"); understudy.ErrorCode(err) != understudy.ENOTFOUND {
		t.Fatalf("the state of an unknown app: %v, want not found", err)
	}
	if a := s.account(t, g.Account.ID); a.Status != accounts.StatusReady || a.StatusReason != "" {
		t.Fatalf("after its capture the account is %s (%q), want ready", a.Status, a.StatusReason)
	}
	events, err := access.NewAudit(s.pool).List(ctx, access.AuditFilter{Action: "run.capture", TargetType: "lease", TargetID: g.Lease.ID})
	if err != nil || len(events) != 1 || events[0].Details["status"] != "captured" {
		t.Fatalf("audit of the capture: %+v (%v)", events, err)
	}
	// A second run of the job (River retried it) changes nothing.
	if err := s.captures.Capture(jobCtx, g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	if again := s.capture(t, g.Lease.ID); !again.FinishedAt.Equal(*cp.FinishedAt) || len(again.Apps) != 1 {
		t.Fatalf("the capture changed when its job ran again: %+v", again)
	}
	// The next lease resets the account, which the capture did not.
	g2 := s.lease(t, "")
	ref, _ := s.st.App.Ref(g2.Account.ID)
	if got, _ := s.st.App.State(ref); string(got) != initialState {
		t.Fatalf("the next lease's account is in state %s, want the baseline", got)
	}
	runs, _, err := s.st.Runs.List(ctx, run.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		want := run.CaptureStatus("")
		if r.LeaseID == g.Lease.ID {
			want = run.CaptureCaptured
		}
		if r.CaptureStatus != want {
			t.Fatalf("run %s lists capture status %q, want %q", r.LeaseID, r.CaptureStatus, want)
		}
	}
}

func TestAPassedRunFreesItsAccountAtOnce(t *testing.T) {
	s := newCaptureSite(t)
	g := s.lease(t, `{"items":["socks"]}`)
	s.release(t, g.Lease.ID, run.Passed, false)
	if a := s.account(t, g.Account.ID); a.Status != accounts.StatusReady {
		t.Fatalf("after a passed run the account is %s, want ready", a.Status)
	}
	if _, found, err := s.captures.Get(context.Background(), g.Lease.ID); found || err != nil {
		t.Fatalf("a passed run has a capture (%v, %v)", found, err)
	}
	s.captures.Flush()
	if n := s.jobsOf(t, g.Lease.ID); n != 0 {
		t.Fatalf("%d capture jobs queued for a passed run", n)
	}
}

func TestACaptureThatFailsFreesTheAccountAndSaysWhy(t *testing.T) {
	s := newCaptureSite(t)
	g := s.lease(t, `{"items":["socks"]}`)
	s.release(t, g.Lease.ID, run.Errored, false)
	s.st.App.SetDown(true)
	if err := s.captures.Capture(access.ForJob(context.Background(), "capture", 1), g.Lease.ID); err != nil {
		t.Fatalf("a capture whose app is down is the job's error: %v", err)
	}
	s.st.App.SetDown(false)
	cp := s.capture(t, g.Lease.ID)
	if cp.Status != run.CaptureFailed || !strings.Contains(cp.Reason, "app chirp") || len(cp.Apps) != 1 || cp.Apps[0].Error == "" || cp.Apps[0].Hash != "" {
		t.Fatalf("capture %+v, want failed naming app chirp", cp)
	}
	if _, err := s.captures.State(context.Background(), g.Lease.ID, "chirp"); understudy.ErrorCode(err) != understudy.ENOTFOUND {
		t.Fatalf("the state of an app that was down: %v, want not found", err)
	}
	if a := s.account(t, g.Account.ID); a.Status != accounts.StatusReady {
		t.Fatalf("after a failed capture the account is %s, want ready", a.Status)
	}
}

// A capture whose job was lost (its server stopped between the lease's
// end and the enqueue) is enqueued again by the sweep, once: a job that
// waits is not doubled.
func TestTheSweepEnqueuesALostCaptureAgain(t *testing.T) {
	s := newCaptureSite(t)
	g := s.lease(t, `{"items":["socks"]}`)
	s.release(t, g.Lease.ID, run.Failed, false)
	s.captures.Flush()
	if _, err := s.pool.Exec(context.Background(), `DELETE FROM river_job WHERE kind = 'capture_run_state'`); err != nil {
		t.Fatal(err)
	}
	ctx := access.ForJob(context.Background(), "capture", 4)
	if err := s.captures.Requeue(ctx); err != nil || s.jobsOf(t, g.Lease.ID) != 0 {
		t.Fatalf("the sweep enqueued a capture younger than 30s (%v)", err)
	}
	s.clock.Add(31 * time.Second)
	for range 2 {
		if err := s.captures.Requeue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.jobsOf(t, g.Lease.ID); n != 1 {
		t.Fatalf("%d capture jobs after the sweeps, want 1", n)
	}
}

func TestACaptureNeverHoldsAnAccountPastItsDeadline(t *testing.T) {
	s := newCaptureSite(t)
	g := s.lease(t, `{"items":["socks"]}`)
	s.release(t, g.Lease.ID, run.Failed, false)
	ctx := access.ForJob(context.Background(), "capture", 2)
	if n, err := s.captures.FailStale(ctx); n != 0 || err != nil {
		t.Fatalf("the sweep failed %d captures before their deadline (%v)", n, err)
	}
	s.clock.Add(s.captures.Deadline() + time.Second)
	if n, err := s.captures.FailStale(ctx); n != 1 || err != nil {
		t.Fatalf("the sweep failed %d captures past their deadline, want 1 (%v)", n, err)
	}
	cp := s.capture(t, g.Lease.ID)
	if cp.Status != run.CaptureFailed || !strings.Contains(cp.Reason, "did not finish within 5m0s") {
		t.Fatalf("capture %+v, want failed for its deadline", cp)
	}
	if a := s.account(t, g.Account.ID); a.Status != accounts.StatusReady {
		t.Fatalf("after the sweep the account is %s, want ready", a.Status)
	}
	// Its job, running late, keeps nothing and frees nothing twice.
	if err := s.captures.Capture(ctx, g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	if cp := s.capture(t, g.Lease.ID); cp.Status != run.CaptureFailed || len(cp.Apps) != 0 {
		t.Fatalf("a late job changed the failed capture: %+v", cp)
	}
}

func TestAReleaseWithResetResetsOnceTheStateIsKept(t *testing.T) {
	s := newCaptureSite(t)
	g := s.lease(t, `{"items":["socks"]}`)
	s.release(t, g.Lease.ID, run.Failed, true)
	ref, _ := s.st.App.Ref(g.Account.ID)
	if got, _ := s.st.App.State(ref); string(got) != `{"items":["socks"]}` {
		t.Fatalf("the release reset the account before its capture: %s", got)
	}
	if err := s.captures.Capture(access.ForJob(context.Background(), "capture", 1), g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	if cp := s.capture(t, g.Lease.ID); cp.Status != run.CaptureCaptured || cp.Apps[0].ChangesTotal != 1 {
		t.Fatalf("capture %+v, want the failed state kept", cp)
	}
	if got, _ := s.st.App.State(ref); string(got) != initialState {
		t.Fatalf("after the capture the account is in state %s, want reset to the baseline", got)
	}
	if a := s.account(t, g.Account.ID); a.Status != accounts.StatusReady {
		t.Fatalf("the account is %s, want ready", a.Status)
	}
}

func TestAnAbandonedRunIsCapturedToo(t *testing.T) {
	s := newCaptureSite(t)
	g := s.lease(t, `{"items":[],"name":"Grace"}`)
	s.clock.Add(2 * time.Minute)
	if n, err := s.leases.Expire(s.st.Ctx); n != 1 || err != nil {
		t.Fatalf("expired %d leases (%v)", n, err)
	}
	if a := s.account(t, g.Account.ID); a.Status != accounts.StatusCapturing {
		t.Fatalf("after the expiry the account is %s, want capturing", a.Status)
	}
	s.captures.Flush()
	if n := s.jobsOf(t, g.Lease.ID); n != 1 {
		t.Fatalf("%d capture jobs queued for the abandoned run, want 1", n)
	}
	if err := s.captures.Capture(access.ForJob(context.Background(), "capture", 1), g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	cp := s.capture(t, g.Lease.ID)
	if cp.Status != run.CaptureCaptured || len(cp.Apps) != 1 || cp.Apps[0].ChangesTotal != 1 || cp.Apps[0].Changes[0].Path != "$.name" {
		t.Fatalf("capture %+v, want the changed name", cp)
	}
}

func TestCapturesPastTheirRetentionAreDeleted(t *testing.T) {
	s := newCaptureSite(t)
	g := s.lease(t, `{"items":["socks"]}`)
	s.release(t, g.Lease.ID, run.Failed, false)
	ctx := access.ForJob(context.Background(), "capture", 3)
	if err := s.captures.Capture(ctx, g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	s.clock.Add(29 * 24 * time.Hour)
	if n, err := s.captures.Prune(ctx); n != 0 || err != nil {
		t.Fatalf("pruned %d captures within the 30 days' retention (%v)", n, err)
	}
	s.clock.Add(2 * 24 * time.Hour)
	if n, err := s.captures.Prune(ctx); n != 1 || err != nil {
		t.Fatalf("pruned %d captures past the retention, want 1 (%v)", n, err)
	}
	if _, found, _ := s.captures.Get(ctx, g.Lease.ID); found {
		t.Fatal("the capture is still there past its retention")
	}
	var apps int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM run_capture_apps WHERE lease_id = $1`, g.Lease.ID).Scan(&apps); err != nil || apps != 0 {
		t.Fatalf("%d app parts are left (%v)", apps, err)
	}
	events, err := access.NewAudit(s.pool).List(ctx, access.AuditFilter{Action: "run.capture_prune", TargetType: "lease", TargetID: g.Lease.ID})
	if err != nil || len(events) != 1 {
		t.Fatalf("audit of the prune: %+v (%v)", events, err)
	}
}

func TestACaptureKeepsAtMostAThousandChanges(t *testing.T) {
	s := newCaptureSite(t)
	cart := make([]int, 1500)
	for i := range cart {
		cart[i] = i
	}
	b, _ := json.Marshal(map[string]any{"items": cart})
	g := s.lease(t, string(b))
	s.release(t, g.Lease.ID, run.Failed, false)
	if err := s.captures.Capture(access.ForJob(context.Background(), "capture", 1), g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	cp := s.capture(t, g.Lease.ID)
	if a := cp.Apps[0]; a.ChangesTotal != 1500 || len(a.Changes) != run.MaxCaptureChanges {
		t.Fatalf("kept %d of %d changes, want %d of 1500", len(a.Changes), a.ChangesTotal, run.MaxCaptureChanges)
	}
}

// TestTheNextLeaseWaitsForTheCapture runs the capture as the server
// does, through River's worker: a lease asked for while the account is
// held waits, and gets the account once its state is kept.
func TestTheNextLeaseWaitsForTheCapture(t *testing.T) {
	pool := dbtest.NewPool(t)
	st := domaintest.New(t, pool, 1)
	workers := river.NewWorkers()
	insertOnly, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	traced := tracing.Of(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	c, err := run.NewCaptures(run.CaptureConfig{DB: pool, Snapshots: st.Snapshots, Jobs: insertOnly, Tracing: traced})
	if err != nil {
		t.Fatal(err)
	}
	run.AddCaptureWorkers(workers, c)
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Queues: map[string]river.QueueConfig{run.CaptureQueue: {MaxWorkers: 2}},
		Workers: workers, FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond, TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	leases, err := lease.New(lease.Config{DB: pool, Accounts: st.Accounts, Snapshots: st.Snapshots, Apps: st.Apps, AppTimeout: 2 * time.Second,
		Runs: st.Runs, Captures: c, Tracing: traced})
	if err != nil {
		t.Fatal(err)
	}
	g, err := leases.Acquire(st.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "first", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := st.App.Ref(g.Account.ID)
	if err := st.App.SetState(ref, []byte(`{"items":["hat"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := leases.ReleaseWith(st.Ctx, g.Lease.ID, lease.ReleaseRequest{Outcome: &run.Report{Outcome: run.Failed}}); err != nil {
		t.Fatal(err)
	}
	// The worker starts only now: the account is held until it has run.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = client.Stop(stopCtx)
	}()
	g2, err := leases.Acquire(st.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "next", TTL: time.Minute, Wait: 20 * time.Second})
	if err != nil {
		t.Fatalf("the next lease did not get the account once its capture was done: %v", err)
	}
	if g2.Account.ID != g.Account.ID {
		t.Fatalf("the next lease got account %s, want %s", g2.Account.ID, g.Account.ID)
	}
	cp, found, err := c.Get(ctx, g.Lease.ID)
	if err != nil || !found || cp.Status != run.CaptureCaptured || cp.Apps[0].ChangesTotal != 1 {
		t.Fatalf("capture when the next lease started: %+v (%v, %v)", cp, found, err)
	}
	if got, _ := st.App.State(ref); string(got) != initialState {
		t.Fatalf("the next lease's account is in state %s, want the baseline", got)
	}
	// The capture is a span of the failed lease's trace; it ends just
	// after the capture's commit, which the next lease may see first.
	spanned := false
	for wait := time.Now().Add(10 * time.Second); !spanned && time.Now().Before(wait); time.Sleep(10 * time.Millisecond) {
		for _, sp := range rec.Ended() {
			if sp.Name() != "run.capture" {
				continue
			}
			spanned = true
			if sp.SpanContext().TraceID().String() != tracing.TraceID(g.Lease.Traceparent) {
				t.Errorf("run.capture is in trace %s, want the lease's %s", sp.SpanContext().TraceID(), tracing.TraceID(g.Lease.Traceparent))
			}
		}
	}
	if !spanned {
		t.Error("no run.capture span")
	}
}

// A capture the sweep failed while its job still read the apps never
// resets the account afterwards, though its release asked for a reset:
// by then the account may serve the next run.
func TestALateCaptureNeverResetsTheNextRunsAccount(t *testing.T) {
	s := newCaptureSite(t)
	g := s.lease(t, `{"items":["socks"]}`)
	s.release(t, g.Lease.ID, run.Failed, true)
	s.st.App.SetDelay(time.Second)
	done := make(chan error, 1)
	go func() { done <- s.captures.Capture(access.ForJob(context.Background(), "capture", 1), g.Lease.ID) }()
	time.Sleep(100 * time.Millisecond) // the job reads the app, which answers after a second
	s.clock.Add(s.captures.Deadline() + time.Second)
	if n, err := s.captures.FailStale(access.ForJob(context.Background(), "capture", 2)); n != 1 || err != nil {
		t.Fatalf("swept %d captures (%v), want 1", n, err)
	}
	s.st.App.SetDelay(0)
	g2, err := s.leases.Acquire(s.st.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "next", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := s.st.App.Ref(g2.Account.ID)
	if err := s.st.App.SetState(ref, []byte(`{"items":["the next run's"]}`)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := s.st.App.State(ref); string(got) != `{"items":["the next run's"]}` {
		t.Errorf("the late capture reset the next run's account to %s", got)
	}
	if a := s.account(t, g2.Account.ID); a.Status != accounts.StatusLeased {
		t.Errorf("the next run's account is %s, want leased", a.Status)
	}
}

// jobArgs returns the args of the capture job queued for lease id.
func (s *captureSite) jobArgs(t *testing.T, id string) run.CaptureArgs {
	t.Helper()
	s.captures.Flush()
	var raw []byte
	if err := s.pool.QueryRow(context.Background(), `SELECT args FROM river_job WHERE kind = 'capture_run_state' AND args->>'lease_id' = $1`, id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var args run.CaptureArgs
	if err := json.Unmarshal(raw, &args); err != nil {
		t.Fatal(err)
	}
	return args
}

// The job the lease's end enqueues names the account and the state, so
// that it reads them with its capture's row; a job whose args disagree
// with the row (or name nothing) captures the row's account.
func TestTheCaptureJobReadsTheAccountItsRowNames(t *testing.T) {
	s := newCaptureSite(t)
	jobCtx := access.ForJob(context.Background(), "capture", 1)

	g := s.lease(t, `{"items":["socks"]}`)
	s.release(t, g.Lease.ID, run.Failed, false)
	args := s.jobArgs(t, g.Lease.ID)
	if args.AccountID != g.Account.ID || args.State != g.Lease.State {
		t.Fatalf("the job's args name account %q state %q, want %s and %s", args.AccountID, args.State, g.Account.ID, g.Lease.State)
	}
	if err := s.captures.CaptureJob(jobCtx, args); err != nil {
		t.Fatal(err)
	}
	cp := s.capture(t, g.Lease.ID)
	if cp.Status != run.CaptureCaptured || len(cp.Apps) != 1 || cp.Apps[0].ChangesTotal != 1 || cp.Apps[0].Changes[0].After != "socks" {
		t.Fatalf("capture %+v, want the added sock", cp)
	}

	// Args that name another account (and another state): the row wins.
	g = s.lease(t, `{"items":["hat"]}`)
	s.release(t, g.Lease.ID, run.Failed, false)
	args = s.jobArgs(t, g.Lease.ID)
	args.AccountID, args.State = "00000000-0000-4000-8000-000000000001", "other"
	if err := s.captures.CaptureJob(jobCtx, args); err != nil {
		t.Fatal(err)
	}
	cp = s.capture(t, g.Lease.ID)
	if cp.Status != run.CaptureCaptured || cp.AccountID != g.Account.ID || len(cp.Apps) != 1 || cp.Apps[0].Changes[0].After != "hat" {
		t.Fatalf("capture %+v, want the row's account and its hat", cp)
	}
	if a := s.account(t, g.Account.ID); a.Status != accounts.StatusReady {
		t.Fatalf("after its capture the account is %s, want ready", a.Status)
	}
}

// A run that failed without changing its account is captured with no
// change: the state is the baseline's, and kept all the same.
func TestACaptureOfAnUnchangedAccountHasNoChanges(t *testing.T) {
	s := newCaptureSite(t)
	g := s.lease(t, "")
	s.release(t, g.Lease.ID, run.Failed, false)
	if err := s.captures.CaptureJob(access.ForJob(context.Background(), "capture", 1), s.jobArgs(t, g.Lease.ID)); err != nil {
		t.Fatal(err)
	}
	cp := s.capture(t, g.Lease.ID)
	if cp.Status != run.CaptureCaptured || len(cp.Apps) != 1 || cp.Apps[0].ChangesTotal != 0 || len(cp.Apps[0].Changes) != 0 ||
		cp.Apps[0].Hash == "" || cp.Apps[0].Hash != cp.Apps[0].Baseline {
		t.Fatalf("capture %+v, want the baseline's state and no change", cp)
	}
	state, err := s.captures.State(context.Background(), g.Lease.ID, "chirp")
	if err != nil || string(state) != initialState {
		t.Fatalf("the kept state is %s (%v), want the baseline's", state, err)
	}
}
