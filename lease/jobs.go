package lease

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/understudy-dev/understudy/access"
)

// ExpireArgs is the periodic job that ends leases past their expiry.
type ExpireArgs struct{}

// Kind names the job.
func (ExpireArgs) Kind() string { return "expire_leases" }

type expireWorker struct {
	river.WorkerDefaults[ExpireArgs]
	svc *Service
}

// Work expires the overdue leases, as actor "expiry" under a request id
// that names the job, so each expiry's audit event says what ended it.
func (w *expireWorker) Work(ctx context.Context, job *river.Job[ExpireArgs]) error {
	ctx = access.ForJob(ctx, "expiry", job.ID)
	_, err := w.svc.Expire(ctx)
	return err
}

// AddWorkers adds the workers of this package's jobs to w.
func AddWorkers(w *river.Workers, svc *Service) {
	river.AddWorker(w, &expireWorker{svc: svc})
}

// PeriodicJobs returns the jobs River runs on a schedule: lease expiry
// every interval.
func PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return ExpireArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}
