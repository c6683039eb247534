package spec

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Stored plans are pruned, or the table only grows (a drift check run by
// cron stores a plan each time). Nothing reads a plan after its apply but
// GetPlan by id: what a workspace applied lives in its objects' records,
// and drift is computed from them, so a workspace's latest applied plan
// needs no keeping. A plan being applied is never pruned.

// Defaults of the retention of stored plans.
const (
	DefaultRetainUnapplied = 7 * 24 * time.Hour
	DefaultRetainApplied   = 30 * 24 * time.Hour
)

// pruneBatch bounds the plans one statement deletes, so that a first run
// over a long-grown table takes no long lock and no large transaction.
const pruneBatch = 500

// prunePlansSQL deletes up to $3 plans: unapplied ones made before $1,
// applied or failed ones that ended before $2. Plans in the middle of an
// apply (status applying, or named by a workspace's apply lock) are
// never deleted. The status is checked by the DELETE itself, so a plan
// whose apply starts while the batch is chosen is rechecked on its new
// row and kept; rows another transaction holds are skipped.
const prunePlansSQL = `
DELETE FROM spec_plans p
WHERE p.id IN (
    SELECT c.id FROM spec_plans c
    WHERE (c.status = 'planned' AND c.created_at < $1)
       OR (c.status IN ('applied', 'failed') AND coalesce(c.finished_at, c.created_at) < $2)
    ORDER BY c.created_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED)
  AND ((p.status = 'planned' AND p.created_at < $1)
       OR (p.status IN ('applied', 'failed') AND coalesce(p.finished_at, p.created_at) < $2))
  AND NOT EXISTS (SELECT 1 FROM spec_workspaces w WHERE w.lock_plan_id = p.id)`

// Prune deletes the stored plans past their retention (Config's
// RetainUnapplied and RetainApplied), in batches of pruneBatch, each its
// own transaction and audited as one "plan.prune" event. It returns how
// many it deleted.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	now := s.cfg.Now()
	unapplied, applied := now.Add(-s.cfg.RetainUnapplied), now.Add(-s.cfg.RetainApplied)
	var total int64
	for {
		var n int64
		err := pgdb.InTx(ctx, s.cfg.DB, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, prunePlansSQL, unapplied, applied, pruneBatch)
			if n = tag.RowsAffected(); err != nil || n == 0 {
				return err
			}
			return access.Record(ctx, tx, access.Event{Action: "plan.prune", TargetType: "plans", TargetID: "spec",
				Details: map[string]any{"deleted": n, "unapplied_before": unapplied.UTC(), "applied_before": applied.UTC()}})
		})
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

// PruneArgs is the periodic job that prunes stored plans.
type PruneArgs struct{}

// Kind names the job.
func (PruneArgs) Kind() string { return "prune_spec_plans" }

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	svc *Service
}

// Work prunes as actor "prune", under a request id that names the job.
func (w *pruneWorker) Work(ctx context.Context, job *river.Job[PruneArgs]) error {
	ctx = access.ForJob(ctx, "prune", job.ID)
	n, err := w.svc.Prune(ctx)
	if n > 0 {
		w.svc.cfg.Logger.InfoContext(ctx, "pruned stored plans", "deleted", n)
	}
	return err
}

// AddWorkers adds the workers of this package's jobs to w.
func AddWorkers(w *river.Workers, svc *Service) {
	river.AddWorker(w, &pruneWorker{svc: svc})
}

// PeriodicJobs returns the jobs River runs on a schedule: pruning stored
// plans every interval.
func PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}
