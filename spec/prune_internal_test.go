package spec

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// oldPlan stores a plan of workspace "default" with status, made age ago.
func oldPlan(t *testing.T, ctx context.Context, s *Service, status string, age time.Duration) string {
	t.Helper()
	id := uuid.NewString()
	if _, err := s.cfg.DB.Exec(ctx, insertPlanSQL, id, "default", ModeNormal, status, 0, "f", "admin-1",
		s.cfg.Now().Add(-age), "{}", "{}", "", nil); err != nil {
		t.Fatal(err)
	}
	return id
}

func planExists(t *testing.T, ctx context.Context, s *Service, id string) bool {
	t.Helper()
	_, found, err := pgdb.QueryMaybe(ctx, s.cfg.DB, pgdb.Scalar[string], pgdb.Conflict{}, `SELECT id::text FROM spec_plans WHERE id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// pruneEvents returns what each plan.prune event deleted, oldest first.
func pruneEvents(ctx context.Context, s *Service) ([]int64, error) {
	events, err := access.NewAudit(s.cfg.DB).List(ctx, access.AuditFilter{Action: "plan.prune"})
	out := make([]int64, len(events))
	for i, e := range events {
		n, _ := e.Details["deleted"].(float64)
		out[len(events)-1-i] = int64(n)
	}
	return out, err
}

// Prune deletes unapplied plans past 7 days and applied or failed ones
// past 30 days since they ended, and keeps every plan being applied.
func TestPruneDeletesPlansPastTheirRetentionOnly(t *testing.T) {
	t.Parallel()
	s, ctx := newInternal(t)
	day := 24 * time.Hour
	keep := map[string]string{
		"planned 6 days ago":              oldPlan(t, ctx, s, StatusPlanned, 6*day),
		"applied 29 days ago":             oldPlan(t, ctx, s, StatusApplied, 29*day),
		"applying for 90 days":            oldPlan(t, ctx, s, StatusApplying, 90*day),
		"planned 8 days ago, locked":      oldPlan(t, ctx, s, StatusPlanned, 8*day),
		"made 40 days ago, finished just": oldPlan(t, ctx, s, StatusPlanned, 40*day),
	}
	gone := map[string]string{
		"planned 8 days ago":  oldPlan(t, ctx, s, StatusPlanned, 8*day),
		"applied 31 days ago": oldPlan(t, ctx, s, StatusApplied, 31*day),
		"failed 31 days ago":  oldPlan(t, ctx, s, StatusFailed, 31*day),
	}
	// An apply has taken the workspace for one old plan; another ended now.
	if _, err := s.cfg.DB.Exec(ctx, ensureWorkspaceSQL, "default", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cfg.DB.Exec(ctx, takeApplyLockSQL, "default", "admin-1", keep["planned 8 days ago, locked"], pgdb.Now(s.cfg.Now)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cfg.DB.Exec(ctx, setPlanStatusSQL, keep["made 40 days ago, finished just"], StatusApplied, "", []AppliedChange{}, pgdb.Now(s.cfg.Now)); err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(ctx)
	if err != nil || n != int64(len(gone)) {
		t.Fatalf("Prune: %d, %v; want %d deleted", n, err, len(gone))
	}
	for name, id := range keep {
		if !planExists(t, ctx, s, id) {
			t.Errorf("the plan %s was pruned", name)
		}
	}
	for name, id := range gone {
		if planExists(t, ctx, s, id) {
			t.Errorf("the plan %s was kept", name)
		}
	}
	events, err := pruneEvents(ctx, s)
	if err != nil || len(events) != 1 || events[0] != int64(len(gone)) {
		t.Fatalf("plan.prune events %v, %v; want one of %d", events, err, len(gone))
	}
	if n, err := s.Prune(ctx); err != nil || n != 0 {
		t.Fatalf("a second Prune: %d, %v", n, err)
	}
}

// A table grown long is pruned in batches, each its own transaction.
func TestPruneDeletesInBoundedBatches(t *testing.T) {
	t.Parallel()
	s, ctx := newInternal(t)
	s.cfg.RetainUnapplied = time.Hour
	const old = 2*pruneBatch + 3
	b := &pgx.Batch{}
	for range old {
		b.Queue(insertPlanSQL, uuid.NewString(), "default", ModeNormal, StatusPlanned, 0, "f", "admin-1",
			s.cfg.Now().Add(-2*time.Hour), "{}", "{}", "", nil)
	}
	if err := pgdb.SendBatch(ctx, s.cfg.DB, b); err != nil {
		t.Fatal(err)
	}
	fresh := oldPlan(t, ctx, s, StatusPlanned, time.Minute)
	n, err := s.Prune(ctx)
	if err != nil || n != old {
		t.Fatalf("Prune: %d, %v; want %d", n, err, old)
	}
	if !planExists(t, ctx, s, fresh) {
		t.Fatal("a plan made a minute ago was pruned")
	}
	batches, err := pruneEvents(ctx, s)
	if err != nil || len(batches) != 3 || batches[0] != pruneBatch || batches[2] != 3 {
		t.Fatalf("batches %v, %v; want %d, %d, 3", batches, err, pruneBatch, pruneBatch)
	}
}
