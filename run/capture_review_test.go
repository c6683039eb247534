package run_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/run"
)

// afterFirstBatch is a pgdb.DB that runs hook once, right after the first
// batch sent on it has been read: between the reads a capture's job makes
// in one round trip and what it does with them.
type afterFirstBatch struct {
	pgdb.DB
	once sync.Once
	hook func()
}

type hookedResults struct {
	pgx.BatchResults
	after func()
}

func (r hookedResults) Close() error {
	err := r.BatchResults.Close()
	r.after()
	return err
}

func (d *afterFirstBatch) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return hookedResults{d.DB.SendBatch(ctx, b), func() { d.once.Do(d.hook) }}
}

// An app detached while the job reads the account's refs makes Evidence
// answer ENOTFOUND (its secrets are gone): the capture is failed with that
// reason and the account freed at once, as Capture documents, not retried
// by River while the account stays held until the sweep's deadline.
func TestACaptureWhoseAppVanishesMidReadIsFailedAndFreesTheAccount(t *testing.T) {
	s := newCaptureSite(t)
	ctx := context.Background()
	g := s.lease(t, `{"items":["socks"]}`)
	s.release(t, g.Lease.ID, run.Failed, false)
	args := s.jobArgs(t, g.Lease.ID)
	// A new updated_at makes the apps' cache build the app again, reading
	// its secrets: by then the app is gone.
	if _, err := s.pool.Exec(ctx, `UPDATE apps SET updated_at = updated_at + interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	db := &afterFirstBatch{DB: s.pool, hook: func() {
		if _, err := s.pool.Exec(ctx, `DELETE FROM apps`); err != nil {
			t.Error(err)
		}
	}}
	jobs, err := river.NewClient(riverpgxv5.New(s.pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := run.NewCaptures(run.CaptureConfig{DB: db, Snapshots: s.st.Snapshots, Jobs: jobs, Now: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CaptureJob(access.ForJob(ctx, "capture", 1), args); err != nil {
		t.Fatalf("the job failed (River retries it, the account stays held): %v", err)
	}
	cp := s.capture(t, g.Lease.ID)
	if cp.Status != run.CaptureFailed || !strings.Contains(cp.Reason, "no app has id") {
		t.Fatalf("capture %+v, want failed naming the missing app", cp)
	}
	if a := s.account(t, g.Account.ID); a.Status != accounts.StatusReady {
		t.Fatalf("after its failed capture the account is %s, want ready", a.Status)
	}
}

// A job whose args name the row's account in another spelling, or name no
// uuid at all, captures the row's account all the same (the row wins); a
// job of a lease that is not a uuid does nothing, and fails nothing.
func TestACaptureJobWithHostileArgsTrustsItsRow(t *testing.T) {
	s := newCaptureSite(t)
	jobCtx := access.ForJob(context.Background(), "capture", 1)
	if err := s.captures.CaptureJob(jobCtx, run.CaptureArgs{LeaseID: "not-a-lease", AccountID: "00000000-0000-4000-8000-000000000001"}); err != nil {
		t.Fatalf("a job of no lease: %v", err)
	}
	for _, spell := range []func(string) string{
		func(id string) string { return "urn:uuid:" + id },
		func(id string) string { return "{" + strings.ToUpper(id) + "}" },
		func(string) string { return "' OR 1=1 --" },
	} {
		g := s.lease(t, `{"items":["scarf"]}`)
		s.release(t, g.Lease.ID, run.Failed, false)
		args := s.jobArgs(t, g.Lease.ID)
		args.AccountID = spell(args.AccountID)
		if err := s.captures.CaptureJob(jobCtx, args); err != nil {
			t.Fatalf("the job of account %q: %v", args.AccountID, err)
		}
		cp := s.capture(t, g.Lease.ID)
		if cp.Status != run.CaptureCaptured || cp.AccountID != g.Account.ID || len(cp.Apps) != 1 || cp.Apps[0].ChangesTotal != 1 {
			t.Fatalf("the job of account %q captured %+v, want the row's account and its scarf", args.AccountID, cp)
		}
		if a := s.account(t, g.Account.ID); a.Status != accounts.StatusReady {
			t.Fatalf("after its capture the account is %s, want ready", a.Status)
		}
	}
}
