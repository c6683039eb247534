package run

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/understudy-dev/understudy/access"
)

// artifactPruneBatch bounds the artifacts one round of the retention job
// deletes: their blobs one by one, then their rows in one transaction.
const artifactPruneBatch = 200

// PruneArtifacts deletes the artifacts uploaded more than the retention
// ago, blob first, then row, in rounds of artifactPruneBatch (each round's
// rows in one transaction, with one artifact.prune event per lease). A
// blob that cannot be deleted keeps its row for the next run. Once a
// lease has no artifact left, the blobs still under its prefix that are
// older than the retention (an upload whose server stopped between blob
// and row, a replaced blob that could not be removed) are deleted too. It
// returns how many artifacts it deleted.
func (a *Artifacts) PruneArtifacts(ctx context.Context) (int, error) {
	cutoff := a.now().Add(-a.retention)
	total := 0
	for {
		batch, err := a.expired(ctx, cutoff, artifactPruneBatch)
		if err != nil || len(batch) == 0 {
			return total, err
		}
		keys, failed := a.removeBlobs(ctx, batch)
		n, leases, err := a.deleteExpired(ctx, keys)
		total += n
		if err != nil {
			return total, err
		}
		if err := a.sweep(ctx, leases, cutoff); err != nil {
			return total, err
		}
		if failed != nil {
			return total, failed // their rows stay: the next run tries again
		}
		if len(batch) < artifactPruneBatch {
			return total, nil
		}
	}
}

// removeBlobs deletes the blobs of batch and returns the keys of those
// that are gone (already gone included), and the first error of those
// that are not.
func (a *Artifacts) removeBlobs(ctx context.Context, batch []Artifact) ([]string, error) {
	keys := make([]string, 0, len(batch))
	var failed error
	for _, art := range batch {
		err := a.bucket.Delete(ctx, art.key)
		if err == nil || gcerrors.Code(err) == gcerrors.NotFound {
			keys = append(keys, art.key)
			continue
		}
		if failed == nil {
			failed = a.unavailable("deleting", err)
		}
	}
	return keys, failed
}

// sweep deletes, under each of leases that has no artifact left, the blobs
// last modified before cutoff: no row names them, and an upload in flight
// (whose row is not yet written) is newer than that.
func (a *Artifacts) sweep(ctx context.Context, leases []string, cutoff time.Time) error {
	if len(leases) == 0 {
		return nil
	}
	kept, err := a.keptLeases(ctx, leases)
	if err != nil {
		return err
	}
	for _, l := range leases {
		if kept[l] {
			continue
		}
		it := a.bucket.List(&blob.ListOptions{Prefix: l + "/"})
		for {
			obj, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return a.unavailable("listing", err)
			}
			if obj.IsDir || !obj.ModTime.Before(cutoff) {
				continue
			}
			if err := a.bucket.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return a.unavailable("deleting", err)
			}
		}
	}
	return nil
}

// ArtifactPruneArgs is the periodic job that deletes the artifacts past
// their retention.
type ArtifactPruneArgs struct{}

// Kind names the job.
func (ArtifactPruneArgs) Kind() string { return "prune_run_artifacts" }

type artifactPruneWorker struct {
	river.WorkerDefaults[ArtifactPruneArgs]
	artifacts *Artifacts
}

// Timeout bounds one run: deleting blobs one by one takes longer than
// River's default minute when much has expired at once.
func (w *artifactPruneWorker) Timeout(*river.Job[ArtifactPruneArgs]) time.Duration {
	return 10 * time.Minute
}

// Work prunes as actor "prune", under a request id that names the job.
func (w *artifactPruneWorker) Work(ctx context.Context, job *river.Job[ArtifactPruneArgs]) error {
	ctx = access.ForJob(ctx, "prune", job.ID)
	n, err := w.artifacts.PruneArtifacts(ctx)
	if n > 0 {
		w.artifacts.logger.InfoContext(ctx, "pruned run artifacts", slog.Int("deleted", n))
	}
	return err
}

// AddArtifactWorkers adds the workers of the artifacts' jobs to w.
func AddArtifactWorkers(w *river.Workers, artifacts *Artifacts) {
	river.AddWorker(w, &artifactPruneWorker{artifacts: artifacts})
}

// ArtifactPeriodicJobs returns the jobs River runs on a schedule: the
// artifacts' retention every interval, and at start. A run is unique while
// one is queued or running, so a slow run is never doubled.
func ArtifactPeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return ArtifactPruneArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true,
				ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
					rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
		},
		&river.PeriodicJobOpts{RunOnStart: true})}
}
