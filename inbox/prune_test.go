package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/dbtest"
)

// Prune deletes the messages older than their environment's retention, in
// batches of 500 audited each, and keeps the younger ones.
func TestPruneDeletesMessagesPastRetention(t *testing.T) {
	t.Parallel()
	db := dbtest.Tx(t)
	f := newFixture(t, db, fixtureOptions{})
	if _, err := db.Exec(context.Background(), `UPDATE environments SET inbox_retention_seconds = 3600, inbox_max_messages = 10000`); err != nil {
		t.Fatal(err)
	}
	old := f.newService(t, fixtureOptions{Now: func() time.Time { return testNow.Add(-61 * time.Minute) }})
	young := f.newService(t, fixtureOptions{Now: func() time.Time { return testNow.Add(-59 * time.Minute) }})
	hundred := make([]int, 100)
	for range 6 {
		f.deliver(t, old, "Old", hundred...)
	}
	keep := f.deliver(t, young, "Young", 0, 1)
	svc := f.newService(t, fixtureOptions{Now: func() time.Time { return testNow }})
	ctx := access.ForJob(context.Background(), "prune", 7)
	n, err := svc.Prune(ctx)
	if err != nil || n != 600 {
		t.Fatalf("Prune: %d, %v; want 600 deleted", n, err)
	}
	list, err := svc.List(f.admin, inbox.Filter{})
	if err != nil || len(list) != 2 || list[0].ID != keep[1] || list[1].ID != keep[0] {
		t.Errorf("left %+v, %v; want the two young messages", list, err)
	}
	events, err := access.NewAudit(db).List(context.Background(), access.AuditFilter{Action: "message.prune", RequestID: "job-7"})
	if err != nil || len(events) != 2 || events[1].Details["deleted"] != float64(500) || events[0].Details["deleted"] != float64(100) || events[0].Actor != "prune" {
		t.Errorf("audit events %+v, %v; want 500 then 100 deleted", events, err)
	}
	if n, err := svc.Prune(ctx); err != nil || n != 0 {
		t.Errorf("a second Prune: %d, %v", n, err)
	}
}
