package inbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Mail is kept for its environment's inbox_retention_seconds, then pruned
// by a periodic job, so that codes do not outlive their use and the table
// does not only grow.

// pruneBatch bounds the messages one statement deletes, so that a first
// run over a long-grown table takes no long lock and no large transaction.
const pruneBatch = 500

// pruneSQL deletes up to $3 messages of environment $1 received more than
// $2 seconds before now; rows another transaction holds are skipped.
const pruneSQL = `
DELETE FROM messages WHERE id IN (
    SELECT id FROM messages
    WHERE environment_id = $1 AND received_at < coalesce($4::timestamptz, now()) - make_interval(secs => $2)
    ORDER BY received_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED)`

// Prune deletes the messages older than their environment's retention, in
// batches of 500, each its own transaction audited as one message.prune
// event (counts only). It returns how many it deleted.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	envs, err := accounts.InboxRetentions(ctx, s.db)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range envs {
		n, err := s.pruneEnvironment(ctx, e)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (s *Service) pruneEnvironment(ctx context.Context, e accounts.InboxRetention) (int64, error) {
	secs := e.Retention.Seconds()
	var total int64
	for {
		var n int64
		err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, pruneSQL, e.EnvironmentID, secs, pruneBatch, s.now())
			if n = tag.RowsAffected(); err != nil || n == 0 {
				return err
			}
			return access.Record(ctx, tx, access.Event{Action: "message.prune", TargetType: "environment", TargetID: e.EnvironmentID,
				Details: map[string]any{"deleted": n, "reason": "inbox_retention_seconds", "inbox_retention_seconds": int64(secs)}})
		})
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

// PruneArgs is the periodic job that prunes the inboxes.
type PruneArgs struct{}

// Kind names the job.
func (PruneArgs) Kind() string { return "prune_inbox_messages" }

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	svc *Service
}

// Work prunes as actor "prune", under a request id that names the job.
func (w *pruneWorker) Work(ctx context.Context, job *river.Job[PruneArgs]) error {
	ctx = access.ForJob(ctx, "prune", job.ID)
	n, err := w.svc.Prune(ctx)
	if n > 0 {
		w.svc.cfg.Logger.InfoContext(ctx, "pruned inbox messages", "deleted", n)
	}
	return err
}

// AddWorkers adds the workers of this package's jobs to w.
func AddWorkers(w *river.Workers, svc *Service) {
	river.AddWorker(w, &pruneWorker{svc: svc})
}

// PeriodicJobs returns the jobs River runs on a schedule: pruning the
// inboxes every interval.
func PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}
