package inbox

import (
	"context"
	"maps"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Mail is kept for its environment's inbox_retention_seconds, then pruned
// by a periodic job, so that codes do not outlive their use and the table
// does not only grow. The same job keeps each account's inbox to its
// environment's inbox_max_messages newest messages: a delivery does not,
// as counting an inbox on every message would cost each delivery a scan
// of the account's newest messages and a second round trip to audit what
// it cut.

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

// capSQL deletes up to $4 messages of environment $1 beyond the newest $2
// of each account that received mail in the last $3 seconds before now
// (every account when $3 is 0), through the index on (account_id,
// received_at).
const capSQL = `
DELETE FROM messages WHERE id IN (
    SELECT old.id
    FROM (SELECT DISTINCT account_id FROM messages
          WHERE environment_id = $1
            AND ($3 = 0 OR received_at >= coalesce($5::timestamptz, now()) - make_interval(secs => $3))) recent
    CROSS JOIN LATERAL (
        SELECT id FROM messages WHERE account_id = recent.account_id
        ORDER BY received_at DESC, id DESC OFFSET $2) old
    LIMIT $4)`

// capWindow is how far back the job looks for accounts that received
// mail: the accounts that did not are as the previous runs left them. A
// process's first run looks at every account, so an inbox filled while no
// job ran is cut too.
const capWindow = 15 * time.Minute

// Prune deletes, in each environment, the messages older than its
// retention, then each account's messages beyond its cap (of the accounts
// that received mail in the last window, or of all when window is 0), in
// batches of 500,
// each its own transaction audited as one message.prune event (counts
// only). It returns how many it deleted.
func (s *Service) Prune(ctx context.Context, window time.Duration) (int64, error) {
	envs, err := accounts.InboxRetentions(ctx, s.db)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range envs {
		secs := int64(e.Retention.Seconds())
		n, err := s.pruneBatches(ctx, e.EnvironmentID, map[string]any{"reason": "inbox_retention_seconds", "inbox_retention_seconds": secs},
			pruneSQL, e.EnvironmentID, secs, pruneBatch, s.now())
		total += n
		if err != nil {
			return total, err
		}
		n, err = s.pruneBatches(ctx, e.EnvironmentID, map[string]any{"reason": "inbox_max_messages", "inbox_max_messages": e.MaxMessages},
			capSQL, e.EnvironmentID, e.MaxMessages, max(window, 0).Seconds(), pruneBatch, s.now())
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// pruneBatches runs the delete sql with args until it deletes fewer than
// pruneBatch messages, each run its own transaction with a message.prune
// event on environment envID (details, and the count deleted) when it
// deleted any.
func (s *Service) pruneBatches(ctx context.Context, envID string, details map[string]any, sql string, args ...any) (int64, error) {
	var total int64
	for {
		var n int64
		err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, sql, args...)
			if n = tag.RowsAffected(); err != nil || n == 0 {
				return err
			}
			d := map[string]any{"deleted": n}
			maps.Copy(d, details)
			return access.Record(ctx, tx, access.Event{Action: "message.prune", TargetType: "environment", TargetID: envID, Details: d})
		})
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

// PruneArgs is the periodic job that prunes the inboxes. All says to cut
// every account's inbox to its cap, not only those that received mail in
// the last capWindow.
type PruneArgs struct {
	All bool `json:"all,omitempty"`
}

// Kind names the job.
func (PruneArgs) Kind() string { return "prune_inbox_messages" }

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	svc *Service
}

// Work prunes as actor "prune", under a request id that names the job.
func (w *pruneWorker) Work(ctx context.Context, job *river.Job[PruneArgs]) error {
	ctx = access.ForJob(ctx, "prune", job.ID)
	window := capWindow
	if job.Args.All {
		window = 0
	}
	n, err := w.svc.Prune(ctx, window)
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
// inboxes every interval, the first run (at start) over every account.
func PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval), pruneArgs(),
		&river.PeriodicJobOpts{RunOnStart: true})}
}

// pruneArgs makes the periodic job's arguments: All the first time.
func pruneArgs() func() (river.JobArgs, *river.InsertOpts) {
	var started atomic.Bool
	return func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{All: !started.Swap(true)}, nil }
}
