package run

// NewArtifactPruneWorker is the retention job's worker on a, for the
// external tests (package run_test imports internal/domaintest, which
// imports this package).
func NewArtifactPruneWorker(a *Artifacts) *artifactPruneWorker {
	return &artifactPruneWorker{artifacts: a}
}
