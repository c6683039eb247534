package tagging

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// SyncArgs is the job that syncs one destination. At most one is pending
// per destination: it is unique by destination id among jobs not yet done.
type SyncArgs struct {
	DestinationID string `json:"destination_id" river:"unique"`
	// RequestID is the request id the run carries to the vendor.
	RequestID string `json:"request_id"`
}

// Kind names the job.
func (SyncArgs) Kind() string { return "sync_destination" }

// InsertOpts makes the job unique by destination while it is pending,
// scheduled, running or retrying.
func (SyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

// ScheduleArgs is the periodic job that enqueues a SyncArgs for each
// destination whose interval has passed since its last run.
type ScheduleArgs struct{}

// Kind names the job.
func (ScheduleArgs) Kind() string { return "schedule_syncs" }

type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	svc *Service
}

// Work runs the sync as actor "sync". A vendor's failure is recorded in
// the run, not retried here (the next interval tries again); a run
// already under way elsewhere means this one is skipped.
func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	ctx = access.WithRequestID(access.WithCaller(ctx, access.Caller{Actor: "sync"}),
		firstOf(job.Args.RequestID, "job-"+strconv.FormatInt(job.ID, 10)))
	_, err := w.svc.SyncByID(ctx, job.Args.DestinationID)
	switch understudy.ErrorCode(err) {
	case understudy.ECONFLICT, understudy.ENOTFOUND:
		return nil // running elsewhere, or detached since
	}
	return err
}

type scheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	svc *Service
}

// Work enqueues a sync of every destination that is due.
func (w *scheduleWorker) Work(ctx context.Context, job *river.Job[ScheduleArgs]) error {
	due, err := w.svc.Due(ctx)
	if err != nil || len(due) == 0 {
		return err
	}
	params := make([]river.InsertManyParams, len(due))
	for i, id := range due {
		params[i] = river.InsertManyParams{Args: SyncArgs{DestinationID: id, RequestID: "sync-" + strconv.FormatInt(job.ID, 10)}}
	}
	_, err = river.ClientFromContext[pgx.Tx](ctx).InsertMany(ctx, params)
	return err
}

// dueSQL reads the destinations due at $1: never run, past their
// interval, or behind their environment's list version (the environment
// ids $3 with the versions $4 of their heads, as ReadHead reads them)
// once $2 seconds have passed since their last run.
const dueSQL = `
SELECT d.id::text FROM destinations d
LEFT JOIN unnest($3::text[], $4::bigint[]) AS l (environment_id, version) ON l.environment_id = d.environment_id::text
LEFT JOIN LATERAL (SELECT r.started_at, r.list_version FROM sync_runs r WHERE r.destination_id = d.id
                   ORDER BY r.started_at DESC LIMIT 1) last ON true
WHERE last.started_at IS NULL
   OR last.started_at <= coalesce($1::timestamptz, now()) - make_interval(secs => d.sync_interval_seconds)
   OR (coalesce(l.version, 0) > last.list_version AND last.started_at <= coalesce($1::timestamptz, now()) - make_interval(secs => $2))
ORDER BY d.id`

// Debounce is how long after its last run a destination waits before a
// change of its environment's exclusion list (an account provisioned,
// retired or forgotten) makes it due: changes that come together are sent
// together. The scheduler looks every minute.
const Debounce = 30 * time.Second

// Due returns the ids of the destinations that should sync now: those
// that never ran, those whose interval has passed since their last run
// started, and those whose exclusion list changed since their last run
// (once Debounce has passed since it).
func (s *Service) Due(ctx context.Context) ([]string, error) {
	heads, err := readHeads(ctx, s.db)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	envIDs, versions := make([]string, len(heads)), make([]int64, len(heads))
	for i, h := range heads {
		envIDs[i], versions[i] = h.EnvironmentID, h.Version
	}
	return pgdb.QueryAll(ctx, s.db, pgdb.Scalar[string], dueSQL, s.now(), Debounce.Seconds(), envIDs, versions)
}

// AddWorkers adds the workers of this package's jobs to w.
func AddWorkers(w *river.Workers, svc *Service) {
	river.AddWorker(w, &syncWorker{svc: svc})
	river.AddWorker(w, &scheduleWorker{svc: svc})
}

// PeriodicJobs returns the jobs River runs on a schedule: every interval,
// enqueue the syncs that are due (each destination keeps its own interval).
func PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return ScheduleArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
