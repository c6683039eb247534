package accounts

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/understudy-dev/understudy/access"
)

// Background work runs as River jobs in PostgreSQL, so several replicas
// share one queue and one database and need nothing else.

// provisionWorker runs ProvisionArgs jobs.
type provisionWorker struct {
	river.WorkerDefaults[ProvisionArgs]
	svc *Service
}

// Work provisions the account. A permanent refusal, or the last attempt's
// failure, marks the account failed with the reason.
func (w *provisionWorker) Work(ctx context.Context, job *river.Job[ProvisionArgs]) error {
	ctx = access.WithCaller(ctx, access.Caller{Actor: "provisioner", RequestID: job.Args.RequestID})
	err := w.svc.Provision(ctx, job.Args.AccountID)
	switch {
	case err == nil:
		return nil
	case permanent(err):
		w.svc.failProvisioning(ctx, job.Args.AccountID, err)
		return river.JobCancel(err)
	case job.Attempt >= job.MaxAttempts:
		w.svc.failProvisioning(ctx, job.Args.AccountID, err)
	}
	return err
}

// Timeout bounds one attempt: every app, in turn, within the app timeout.
func (w *provisionWorker) Timeout(*river.Job[ProvisionArgs]) time.Duration { return 5 * time.Minute }

// ExpireLeasesArgs is the periodic job that ends leases past their expiry.
type ExpireLeasesArgs struct{}

// Kind names the job.
func (ExpireLeasesArgs) Kind() string { return "expire_leases" }

type expireWorker struct {
	river.WorkerDefaults[ExpireLeasesArgs]
	svc *Service
}

// Work expires the overdue leases.
func (w *expireWorker) Work(ctx context.Context, _ *river.Job[ExpireLeasesArgs]) error {
	_, err := w.svc.ExpireLeases(ctx)
	return err
}

// Workers returns the workers of the accounts jobs, for the River client
// that cmd builds.
func Workers(svc *Service) *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, &provisionWorker{svc: svc})
	river.AddWorker(w, &expireWorker{svc: svc})
	return w
}

// PeriodicJobs returns the jobs River runs on a schedule: lease expiry
// every interval.
func PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return ExpireLeasesArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}
