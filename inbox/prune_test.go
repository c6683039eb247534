package inbox_test

import (
	"context"
	"strings"
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
	n, err := svc.Prune(ctx, 0)
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
	if n, err := svc.Prune(ctx, 0); err != nil || n != 0 {
		t.Errorf("a second Prune: %d, %v", n, err)
	}
}

// Prune keeps each account's environment's inbox_max_messages newest
// messages, audited per environment; with a window, only the accounts that
// received mail in it are cut, and with none, every account.
func TestPruneKeepsTheCap(t *testing.T) {
	t.Parallel()
	db := dbtest.Tx(t)
	f := newFixture(t, db, fixtureOptions{})
	if _, err := db.Exec(context.Background(), `UPDATE environments SET inbox_max_messages = 3`); err != nil {
		t.Fatal(err)
	}
	at := func(ago time.Duration) *inbox.Service {
		return f.newService(t, fixtureOptions{Now: func() time.Time { return testNow.Add(-ago) }})
	}
	var ids []string
	for i := range 5 {
		ids = append(ids, f.deliver(t, at(time.Hour-time.Duration(i)*time.Minute), "Message "+string(rune('a'+i)), 0)...)
	}
	f.deliver(t, at(time.Hour), "Other", 1)
	svc := at(0)
	ctx := access.ForJob(context.Background(), "prune", 8)
	if n, err := svc.Prune(ctx, 15*time.Minute); err != nil || n != 0 {
		t.Fatalf("Prune over the last 15 minutes: %d, %v; want none deleted (no mail came in them)", n, err)
	}
	newest := f.deliver(t, at(time.Minute), "Message f", 0)
	if n, err := svc.Prune(ctx, 15*time.Minute); err != nil || n != 3 {
		t.Fatalf("Prune over the last 15 minutes: %d, %v; want 3 deleted", n, err)
	}
	list, err := svc.List(f.reader, inbox.Filter{AccountID: f.buyers[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range list {
		got = append(got, m.ID)
	}
	if want := []string{newest[0], ids[4], ids[3]}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("kept %v, want the newest three %v", got, want)
	}
	if _, err := db.Exec(context.Background(), `UPDATE environments SET inbox_max_messages = 1`); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Prune(ctx, 0); err != nil || n != 2 {
		t.Fatalf("Prune of every account: %d, %v; want the 2 beyond a cap of 1 of buyer 0", n, err)
	}
	events, err := access.NewAudit(db).List(context.Background(), access.AuditFilter{Action: "message.prune", RequestID: "job-8"})
	if err != nil || len(events) != 2 {
		t.Fatalf("message.prune events %+v, %v; want 2", events, err)
	}
	for i, want := range []float64{2, 3} { // newest first
		e := events[i]
		if e.TargetType != "environment" || e.Actor != "prune" || e.Details["deleted"] != want || e.Details["reason"] != "inbox_max_messages" {
			t.Errorf("message.prune event %+v; want %v deleted under inbox_max_messages", e, want)
		}
	}
}
