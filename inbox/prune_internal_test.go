package inbox

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/understudy-dev/understudy/access"
)

// The prune job's worker prunes as actor "prune", under a request id that
// names the job.
func TestPruneWorkerPrunesAsTheJob(t *testing.T) {
	t.Parallel()
	f := newInternalFixture(t)
	ctx, tx, kr, acc, list := f.ctx, f.tx, f.kr, f.acc, f.list
	old, err := New(Config{DB: tx, Keyring: kr, Accounts: acc, Now: func() time.Time { return time.Now().Add(-8 * 24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Receive(ctx, Delivery{Via: "https", Raw: []byte("Subject: old\r\n\r\nold\r\n"),
		Recipients: []Recipient{{Address: list[0].Identity.Email, AccountID: list[0].ID}}}); err != nil {
		t.Fatal(err)
	}
	svc, _ := New(Config{DB: tx, Keyring: kr, Accounts: acc})
	w := &pruneWorker{svc: svc}
	if err := w.Work(context.Background(), &river.Job[PruneArgs]{JobRow: &rivertype.JobRow{ID: 9}}); err != nil {
		t.Fatal(err)
	}
	events, err := access.NewAudit(tx).List(ctx, access.AuditFilter{Action: "message.prune"})
	if err != nil || len(events) != 1 || events[0].Actor != "prune" || events[0].RequestID != "job-9" || events[0].Details["deleted"] != float64(1) {
		t.Errorf("audit %+v, %v; want one event of job 9 by prune", events, err)
	}
	if jobs := PeriodicJobs(time.Hour); len(jobs) != 2 {
		t.Errorf("%d periodic jobs, want 2 (every interval, and every hour over every account)", len(jobs))
	}

}
