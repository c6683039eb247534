package lease

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// ExpireArgs is the periodic job that ends leases past their expiry.
type ExpireArgs struct{}

// Kind names the job.
func (ExpireArgs) Kind() string { return "expire_leases" }

type expireWorker struct {
	river.WorkerDefaults[ExpireArgs]
	svc *Service
}

// Work expires the overdue leases.
func (w *expireWorker) Work(ctx context.Context, _ *river.Job[ExpireArgs]) error {
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
