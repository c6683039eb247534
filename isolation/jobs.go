package isolation

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/understudy-dev/understudy/access"
)

// AuditArgs is the periodic job that audits every environment's surfaces.
type AuditArgs struct{}

// Kind names the job.
func (AuditArgs) Kind() string { return "isolation_audit" }

type auditWorker struct {
	river.WorkerDefaults[AuditArgs]
	svc *Service
}

// Work audits every environment, as actor "isolation-audit" under a
// request id that names the job, which reaches the apps asked.
func (w *auditWorker) Work(ctx context.Context, job *river.Job[AuditArgs]) error {
	ctx = access.ForJob(ctx, "isolation-audit", job.ID)
	_, err := w.svc.AuditAll(ctx)
	return err
}

// AddWorkers adds the workers of this package's jobs to w.
func AddWorkers(w *river.Workers, svc *Service) {
	river.AddWorker(w, &auditWorker{svc: svc})
}

// PeriodicJobs returns the jobs River runs on a schedule: the audit every
// interval.
func PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return AuditArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}
