package inbox

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

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

const (
	// recentSQL lists the accounts of environment $1 that received mail
	// in the last $2 seconds before now, through the index on
	// (environment_id, received_at).
	recentSQL = `
SELECT DISTINCT account_id FROM messages
WHERE environment_id = $1 AND received_at >= coalesce($3::timestamptz, now()) - make_interval(secs => $2)`
	// overCapSQL lists the accounts of environment $1 that hold more than
	// $2 messages: every one of its messages is counted.
	overCapSQL = `SELECT account_id FROM messages WHERE environment_id = $1 GROUP BY account_id HAVING count(*) > $2`
	// capSQL deletes, of each account of $1, up to $3 of its messages
	// beyond its newest $2, each account's read through the index on
	// (account_id, received_at) in order, no further than it must; rows
	// another transaction holds are skipped.
	capSQL = `
DELETE FROM messages WHERE id IN (
    SELECT old.id FROM unnest($1::uuid[]) a(id)
    CROSS JOIN LATERAL (
        SELECT id FROM messages WHERE account_id = a.id
        ORDER BY received_at DESC, id DESC OFFSET $2 LIMIT $3
        FOR UPDATE SKIP LOCKED) old)`
)

// Bounds of the cap's statements: accounts per statement, and messages
// per account.
const (
	capAccounts = 50
	capEach     = 100
)

// capWindow is how far back the job that runs every minute looks for
// accounts that received mail: the others are as the runs before left
// them, and the hourly run (Window 0) counts every account, such as those
// over a cap just lowered.
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
		n, err = s.cutToCap(ctx, e, window)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// cutToCap deletes the messages of environment e's accounts beyond its
// inbox_max_messages: of the accounts that received mail in the last
// window, or of every account over it when window is 0. Each statement
// (capAccounts accounts, capEach messages each) is its own transaction,
// audited when it deleted any.
func (s *Service) cutToCap(ctx context.Context, e accounts.InboxRetention, window time.Duration) (int64, error) {
	var ids []pgtype.UUID
	var err error
	if window > 0 {
		ids, err = pgdb.QueryAll(ctx, s.db, pgdb.Scalar[pgtype.UUID], recentSQL, e.EnvironmentID, window.Seconds(), s.now())
	} else {
		ids, err = pgdb.QueryAll(ctx, s.db, pgdb.Scalar[pgtype.UUID], overCapSQL, e.EnvironmentID, e.MaxMessages)
	}
	if err != nil {
		return 0, err
	}
	details := map[string]any{"reason": "inbox_max_messages", "inbox_max_messages": e.MaxMessages}
	var total int64
	for chunk := range slices.Chunk(ids, capAccounts) {
		for {
			n, err := s.pruneOnce(ctx, e.EnvironmentID, details, capSQL, chunk, e.MaxMessages, capEach)
			total += n
			if err != nil || n == 0 {
				if err != nil {
					return total, err
				}
				break
			}
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
		n, err := s.pruneOnce(ctx, envID, details, sql, args...)
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

// pruneOnce runs the delete sql with args in a transaction of its own,
// with a message.prune event on environment envID (details, and the count
// deleted) when it deleted any, and returns the count.
func (s *Service) pruneOnce(ctx context.Context, envID string, details map[string]any, sql string, args ...any) (int64, error) {
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
	if err != nil {
		n = 0
	}
	return n, err
}

// PruneArgs is the periodic job that prunes the inboxes. All says to cut
// every account's inbox to its cap, not only those of the accounts that
// received mail in the last capWindow.
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
// inboxes every interval (the cap on the accounts that received mail in
// the last capWindow), and every hour, and at start, over every account.
// Each kind of run is unique while one is queued or running, so that a
// slow run is never doubled.
func PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	job := func(all bool) river.PeriodicJobConstructor {
		return func() (river.JobArgs, *river.InsertOpts) {
			return PruneArgs{All: all}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true,
				ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
					rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
		}
	}
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(interval), job(false), nil),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour), job(true), &river.PeriodicJobOpts{RunOnStart: true}),
	}
}
