package lease_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/run"
)

// leaseFor leases a buyer for a minute for the run named n, or fails the
// test.
func leaseFor(t *testing.T, f domaintest.Stack, n run.Naming) lease.Grant {
	t.Helper()
	g, err := f.Leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute, Run: &n})
	if err != nil {
		t.Fatalf("leasing: %v", err)
	}
	return g
}

// auditCount is how many audit events of action target lease id has.
func auditCount(t *testing.T, f domaintest.Stack, action, id string) int {
	t.Helper()
	events, err := access.NewAudit(f.DB).List(f.Ctx, access.AuditFilter{Action: action, TargetID: id})
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}

var checkout = run.Naming{RunID: "1234", Flow: "checkout", CIURL: "https://ci.example.test/jobs/1234", Version: "v1.2.3"}

func TestAReleaseRecordsTheOutcomeOfTheRunNamedAtAcquire(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	g := leaseFor(t, f, checkout)
	if g.Lease.Run == nil || g.Lease.Run.Naming != checkout || g.Lease.Run.Outcome != "" || g.Lease.Run.OutcomeAt != nil {
		t.Fatalf("the grant's run = %+v, want %+v without an outcome", g.Lease.Run, checkout)
	}
	if got, _ := f.Leases.Get(f.Ctx, g.Lease.ID); got.Run == nil || got.Run.Naming != checkout {
		t.Fatalf("Get's run = %+v", got.Run)
	}
	report := run.Report{Outcome: run.Failed, Message: "expected 3 items\nin the cart", Test: "cart > adds three",
		Links: []run.Link{{Name: "trace", URL: "https://ci.example.test/trace.zip"}}}
	l, err := f.Leases.ReleaseWith(f.Ctx, g.Lease.ID, lease.ReleaseRequest{Outcome: &report})
	if err != nil {
		t.Fatal(err)
	}
	r := l.Run
	if l.Status != lease.Released || r == nil || r.Outcome != run.Failed || r.Message != report.Message || r.Test != report.Test ||
		len(r.Links) != 1 || r.Links[0] != report.Links[0] || r.Naming != checkout {
		t.Fatalf("released lease %s with run %+v", l.Status, r)
	}
	// The outcome is recorded at the lease's end, in its transaction.
	if r.OutcomeAt == nil || l.EndedAt == nil || !r.OutcomeAt.Equal(*l.EndedAt) {
		t.Errorf("outcome at %v, lease ended at %v: want the same instant", r.OutcomeAt, l.EndedAt)
	}
	events, err := access.NewAudit(f.DB).List(f.Ctx, access.AuditFilter{Action: "lease.released", TargetID: l.ID})
	if err != nil || len(events) != 1 || events[0].Details["outcome"] != "failed" {
		t.Fatalf("release audit: %+v %v", events, err)
	}
	// The metrics count it, with the lease's role and the run's flow.
	st := f.Runs.Stats()
	if len(st) != 1 || st[0].Environment != "production" || st[0].Role != "buyer" || st[0].Flow != "checkout" || st[0].Outcome != run.Failed || st[0].Count != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestReleasingAgain(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	g := f.Lease(t, "ci")
	passed := run.Report{Outcome: run.Passed}
	first, err := f.Leases.ReleaseWith(f.Ctx, g.Lease.ID, lease.ReleaseRequest{Outcome: &passed})
	if err != nil || first.Run == nil || first.Run.Outcome != run.Passed || first.Run.Naming != (run.Naming{}) {
		t.Fatalf("first release: %+v %v", first.Run, err)
	}
	// The same outcome, or none: the lease as it is.
	for _, r := range []*run.Report{&passed, nil} {
		again, err := f.Leases.ReleaseWith(f.Ctx, g.Lease.ID, lease.ReleaseRequest{Outcome: r})
		if err != nil || again.Run == nil || again.Run.Outcome != run.Passed || !again.Run.OutcomeAt.Equal(*first.Run.OutcomeAt) {
			t.Fatalf("releasing again with %+v: %+v %v", r, again.Run, err)
		}
	}
	// Another outcome: a conflict naming both.
	_, err = f.Leases.ReleaseWith(f.Ctx, g.Lease.ID, lease.ReleaseRequest{Outcome: &run.Report{Outcome: run.Failed}})
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "outcome passed") || !strings.Contains(e.Message, "outcome failed") {
		t.Errorf("conflict = %q, want both outcomes named", e.Message)
	}
	if l, _ := f.Leases.Get(f.Ctx, g.Lease.ID); l.Run.Outcome != run.Passed {
		t.Errorf("after the refused release the outcome is %s", l.Run.Outcome)
	}
	if n := auditCount(t, f, "lease.released", g.Lease.ID); n != 1 {
		t.Errorf("%d release events, want 1", n)
	}
}

// A lease released without an outcome records the one a later release
// sends (a runner that released first, then reported), audited on its own.
func TestAnOutcomeAfterAReleaseWithoutOne(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	g := f.Lease(t, "ci")
	released, err := f.Leases.Release(f.Ctx, g.Lease.ID, false)
	if err != nil || released.Run != nil {
		t.Fatalf("release without an outcome: run %+v, %v", released.Run, err)
	}
	l, err := f.Leases.ReleaseWith(f.Ctx, g.Lease.ID, lease.ReleaseRequest{Outcome: &run.Report{Outcome: run.Errored, Message: "setup failed"}})
	if err != nil || l.Run == nil || l.Run.Outcome != run.Errored || l.Run.Message != "setup failed" || !l.EndedAt.Equal(*released.EndedAt) {
		t.Fatalf("late outcome: %+v %v", l.Run, err)
	}
	if n := auditCount(t, f, "run.outcome", g.Lease.ID); n != 1 {
		t.Errorf("%d run.outcome events, want 1", n)
	}
}

func TestAnExpiredLeaseRecordsAbandoned(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	named := leaseFor(t, f, checkout)
	unnamed := f.Lease(t, "ci-2")
	if _, err := f.DB.Exec(f.Ctx, `UPDATE leases SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Leases.Expire(f.Ctx); err != nil || n != 2 {
		t.Fatalf("expired %d, %v", n, err)
	}
	for _, id := range []string{named.Lease.ID, unnamed.Lease.ID} {
		l, err := f.Leases.Get(f.Ctx, id)
		if err != nil || l.Status != lease.Expired || l.Run == nil || l.Run.Outcome != run.Abandoned || l.Run.Message != run.AbandonMessage ||
			l.Run.OutcomeAt == nil || !l.Run.OutcomeAt.Equal(*l.EndedAt) {
			t.Fatalf("expired lease %s: %+v %v", id, l.Run, err)
		}
	}
	if l, _ := f.Leases.Get(f.Ctx, named.Lease.ID); l.Run.Naming != checkout {
		t.Errorf("abandoning lost the run's name: %+v", l.Run.Naming)
	}
	// An outcome sent for it comes too late; a release without one is
	// refused as before.
	_, err := f.Leases.ReleaseWith(f.Ctx, named.Lease.ID, lease.ReleaseRequest{Outcome: &run.Report{Outcome: run.Passed}})
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "recorded abandoned") || !strings.Contains(e.Message, "passed") {
		t.Errorf("outcome for an expired lease: %q", e.Message)
	}
	_, err = f.Leases.Release(f.Ctx, named.Lease.ID, false)
	domaintest.WantCode(t, err, understudy.ECONFLICT)
	if l, _ := f.Leases.Get(f.Ctx, named.Lease.ID); l.Run.Outcome != run.Abandoned {
		t.Errorf("outcome after the refused release: %s", l.Run.Outcome)
	}
	st := f.Runs.Stats()
	if len(st) != 2 || st[0].Flow != "" || st[1].Flow != "checkout" || st[0].Outcome != run.Abandoned || st[0].Count+st[1].Count != 2 {
		t.Errorf("stats = %+v, want one abandoned run without a flow and one of checkout", st)
	}
}

func TestNamingARunLater(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	g := f.Lease(t, "ci")
	if g.Lease.Run != nil {
		t.Fatalf("a lease that named no run has one: %+v", g.Lease.Run)
	}
	l, err := f.Leases.NameRun(f.Ctx, g.Lease.ID, checkout)
	if err != nil || l.Run == nil || l.Run.Naming != checkout || l.Status != lease.Active {
		t.Fatalf("naming: %+v %v", l.Run, err)
	}
	// Naming again replaces the naming.
	renamed := run.Naming{Flow: "signup"}
	if l, err = f.Leases.NameRun(f.Ctx, g.Lease.ID, renamed); err != nil || l.Run.Naming != renamed {
		t.Fatalf("renaming: %+v %v", l.Run, err)
	}
	if n := auditCount(t, f, "run.name", g.Lease.ID); n != 2 {
		t.Errorf("%d run.name events, want 2", n)
	}

	// Another token may not; its attempt is audited.
	other := tokenCtx(t, f, "ci-other", access.ScopeRunner)
	_, err = f.Leases.NameRun(other, g.Lease.ID, checkout)
	domaintest.WantCode(t, err, understudy.EFORBIDDEN)
	if n := auditCount(t, f, "lease.run_name_denied", g.Lease.ID); n != 1 {
		t.Errorf("%d run_name_denied events, want 1", n)
	}
	_, err = f.Leases.ReleaseWith(other, g.Lease.ID, lease.ReleaseRequest{Outcome: &run.Report{Outcome: run.Passed}})
	domaintest.WantCode(t, err, understudy.EFORBIDDEN)

	// A bad naming names its fields.
	_, err = f.Leases.NameRun(f.Ctx, g.Lease.ID, run.Naming{Flow: "_x", CIURL: "ftp://ci.example.test/1"})
	if e := domaintest.WantCode(t, err, understudy.EINVALID); len(e.Fields) != 2 || e.Fields[0].Field != "ci_url" || e.Fields[1].Field != "flow" {
		t.Errorf("bad naming: %+v", e.Fields)
	}

	// Released with an outcome, the run's name is final.
	if _, err := f.Leases.ReleaseWith(f.Ctx, g.Lease.ID, lease.ReleaseRequest{Outcome: &run.Report{Outcome: run.Passed}}); err != nil {
		t.Fatal(err)
	}
	_, err = f.Leases.NameRun(f.Ctx, g.Lease.ID, checkout)
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "(passed) is recorded") {
		t.Errorf("naming after the outcome: %q", e.Message)
	}
	if l, _ := f.Leases.Get(f.Ctx, g.Lease.ID); l.Run.Naming != renamed {
		t.Errorf("the refused naming changed the run: %+v", l.Run.Naming)
	}
}

// A released lease without an outcome may still be named.
func TestNamingAReleasedRunWithoutAnOutcome(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	g := f.Lease(t, "ci")
	if _, err := f.Leases.Release(f.Ctx, g.Lease.ID, false); err != nil {
		t.Fatal(err)
	}
	if l, err := f.Leases.NameRun(f.Ctx, g.Lease.ID, checkout); err != nil || l.Run.Naming != checkout || l.Status != lease.Released {
		t.Fatalf("naming a released run: %+v %v", l.Run, err)
	}
}

func TestAcquireRefusesABadRunNamingField(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	_, err := f.Leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute,
		Run: &run.Naming{Version: strings.Repeat("v", run.MaxVersion+1)}})
	if e := domaintest.WantCode(t, err, understudy.EINVALID); len(e.Fields) != 1 || e.Fields[0].Field != "run.version" {
		t.Fatalf("fields = %+v, want run.version", e.Fields)
	}
	_, err = f.Leases.ReleaseWith(f.Ctx, "00000000-0000-0000-0000-000000000000", lease.ReleaseRequest{Outcome: &run.Report{Outcome: run.Abandoned}})
	if e := domaintest.WantCode(t, err, understudy.EINVALID); e.Fields[0].Field != "outcome" {
		t.Fatalf("abandoned sent by a release: %+v", e.Fields)
	}
}

// Concurrent releases of one lease with different outcomes: one outcome is
// recorded, the releases that sent it succeed and the others are refused
// naming both.
func TestConcurrentReleasesRecordOneOutcome(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.NewPool(t), 1)
	g := f.Lease(t, "ci")
	outcomes := []run.Outcome{run.Passed, run.Failed, run.Passed, run.Failed, run.Errored, run.Passed}
	errs := make([]error, len(outcomes))
	got := make([]lease.Lease, len(outcomes))
	var wg sync.WaitGroup
	for i, o := range outcomes {
		wg.Go(func() {
			got[i], errs[i] = f.Leases.ReleaseWith(f.Ctx, g.Lease.ID, lease.ReleaseRequest{Outcome: &run.Report{Outcome: o}})
		})
	}
	wg.Wait()
	l, err := f.Leases.Get(f.Ctx, g.Lease.ID)
	if err != nil || l.Status != lease.Released || l.Run == nil || !l.Run.Outcome.Reported() {
		t.Fatalf("after the releases: %s %+v %v", l.Status, l.Run, err)
	}
	for i, o := range outcomes {
		switch {
		case o == l.Run.Outcome && (errs[i] != nil || got[i].Run == nil || got[i].Run.Outcome != o):
			t.Errorf("release %d with the recorded outcome %s: %+v %v", i, o, got[i].Run, errs[i])
		case o != l.Run.Outcome:
			if e := domaintest.WantCode(t, errs[i], understudy.ECONFLICT); !strings.Contains(e.Message, string(o)) || !strings.Contains(e.Message, string(l.Run.Outcome)) {
				t.Errorf("release %d with %s: %q", i, o, e.Message)
			}
		}
	}
	if n := auditCount(t, f, "lease.released", g.Lease.ID); n != 1 {
		t.Errorf("%d release events, want 1", n)
	}
	if st := f.Runs.Stats(); len(st) != 1 || st[0].Count != 1 {
		t.Errorf("stats = %+v, want the one outcome counted once", st)
	}
}

// A run named at acquire is part of the request an Idempotency-Key
// names: the same request returns the same lease with its run, another
// run is another request.
func TestAnIdempotencyKeyCoversTheRun(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	req := lease.Request{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute, IdempotencyKey: "job-9", Run: &checkout}
	first, err := f.Leases.Acquire(f.Ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.Leases.Acquire(f.Ctx, req)
	if err != nil || again.Lease.ID != first.Lease.ID || again.Lease.Run == nil || again.Lease.Run.Naming != checkout {
		t.Fatalf("the same request again: %+v %v", again.Lease, err)
	}
	req.Run = &run.Naming{Flow: "signup"}
	_, err = f.Leases.Acquire(f.Ctx, req)
	domaintest.WantCode(t, err, understudy.EINVALID)
	req.Run = nil
	_, err = f.Leases.Acquire(f.Ctx, req)
	domaintest.WantCode(t, err, understudy.EINVALID)
}
