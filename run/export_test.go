package run

import "context"

// NewArtifactPruneWorker is the retention job's worker on a, for the
// external tests (package run_test imports internal/domaintest, which
// imports this package).
func NewArtifactPruneWorker(a *Artifacts) *artifactPruneWorker {
	return &artifactPruneWorker{artifacts: a}
}

// CaptureJob runs the capture job of args, as its River worker does.
func (c *Captures) CaptureJob(ctx context.Context, args CaptureArgs) error {
	return c.capture(ctx, args)
}
