package run_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/run"
)

// The retention job prunes as actor prune, under its job's request id,
// and runs every interval and at start.
func TestArtifactPruneJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket, err := run.OpenBucket(ctx, (&url.URL{Scheme: "file", Path: t.TempDir(), RawQuery: "no_tmp_dir=1"}).String())
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	pool := dbtest.NewPool(t)
	st := domaintest.New(t, pool, 1)
	g := st.Lease(t, "prune-job")
	now := time.Now()
	a, err := run.NewArtifacts(run.ArtifactConfig{DB: pool, Bucket: bucket, Retention: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Put(st.Ctx, run.Upload{LeaseID: g.Lease.ID, LeaseEnd: g.Lease.ExpiresAt, Name: "old.log", Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	w := run.NewArtifactPruneWorker(a)
	if err := w.Work(ctx, &river.Job[run.ArtifactPruneArgs]{JobRow: &rivertype.JobRow{ID: 9}}); err != nil {
		t.Fatal(err)
	}
	events, err := access.NewAudit(pool).List(ctx, access.AuditFilter{Action: "artifact.prune"})
	if err != nil || len(events) != 1 || events[0].Actor != "prune" || events[0].RequestID != "job-9" || events[0].TargetID != g.Lease.ID {
		t.Fatalf("audit %+v, %v; want one event of job 9 by prune on the lease", events, err)
	}
	if list, _ := a.List(ctx, g.Lease.ID); len(list) != 0 {
		t.Fatalf("the job left %v", list)
	}
	if w.Timeout(nil) != 10*time.Minute {
		t.Errorf("the job's timeout is %v", w.Timeout(nil))
	}
	jobs := run.ArtifactPeriodicJobs(time.Hour)
	if len(jobs) != 1 {
		t.Fatalf("%d periodic jobs, want 1", len(jobs))
	}
	if (run.ArtifactPruneArgs{}).Kind() != "prune_run_artifacts" {
		t.Fatal("the job's kind changed: queued jobs of the old kind would never run")
	}
}
