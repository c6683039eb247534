package snapshot

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/providers"
)

// provisionWorker runs the provisioning jobs (ProvisionArgs) that
// Scheduler enqueues.
type provisionWorker struct {
	river.WorkerDefaults[ProvisionArgs]
	svc *Service
}

// Work provisions the account. A permanent refusal, or the last attempt's
// failure, marks the account failed with the reason.
func (w *provisionWorker) Work(ctx context.Context, job *river.Job[ProvisionArgs]) error {
	ctx = access.WithRequestID(access.WithCaller(ctx, access.Caller{Actor: "provisioner"}), job.Args.RequestID)
	err := w.svc.Provision(ctx, job.Args.AccountID)
	switch {
	case err == nil:
		return nil
	case providers.Permanent(err):
		w.svc.failProvisioning(ctx, job.Args.AccountID, err)
		return river.JobCancel(err)
	case job.Attempt >= job.MaxAttempts:
		w.svc.failProvisioning(ctx, job.Args.AccountID, err)
	}
	return err
}

// Timeout bounds one attempt: every app, in turn, within the app timeout.
func (w *provisionWorker) Timeout(*river.Job[ProvisionArgs]) time.Duration {
	return 5 * time.Minute
}

// AddWorkers adds the workers of this package's jobs to w.
func AddWorkers(w *river.Workers, svc *Service) {
	river.AddWorker(w, &provisionWorker{svc: svc})
}
