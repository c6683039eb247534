package access_test

import (
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
)

// QueueIf records its event only when its write wrote a row, with the
// caller's actor and request id, in the write's own statement.
func TestQueueIfRecordsAnEventOnlyWhenItsWriteWrote(t *testing.T) {
	tx := dbtest.Tx(t)
	ctx := access.WithCaller(t.Context(), access.Caller{Actor: "queue-if-test"})
	ctx = access.WithRequestID(ctx, "req-queue-if")
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE things (id int PRIMARY KEY, status text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO things VALUES (1, 'ready'), (2, 'leased')`); err != nil {
		t.Fatal(err)
	}
	const move = `UPDATE things SET status = $2 WHERE id = $1 AND status = ANY($3) RETURNING 1`
	b := &pgx.Batch{}
	var wrote []func() bool
	for id := 1; id <= 3; id++ { // 1 moves; 2 is leased and 3 does not exist: both left alone
		w, err := access.QueueIf(ctx, b, move, []any{id, "moved", []string{"ready"}},
			access.Event{Action: "thing.moved", TargetType: "thing", TargetID: strconv.Itoa(id), Details: map[string]any{"to": "moved"}})
		if err != nil {
			t.Fatal(err)
		}
		wrote = append(wrote, w)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, false} {
		if got := wrote[i](); got != want {
			t.Errorf("thing %d: wrote %v, want %v", i+1, got, want)
		}
	}
	events, err := access.NewAudit(tx).List(ctx, access.AuditFilter{TargetType: "thing"})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("%d events, want 1 (thing 1's): %+v", len(events), events)
	}
	e := events[0]
	if e.TargetID != "1" || e.Action != "thing.moved" || e.Actor != "queue-if-test" || e.RequestID != "req-queue-if" || e.Details["to"] != "moved" {
		t.Errorf("event %+v, want thing 1 moved by queue-if-test in req-queue-if, details to=moved", e)
	}
	var status string
	if err := tx.QueryRow(ctx, `SELECT status FROM things WHERE id = 2`).Scan(&status); err != nil || status != "leased" {
		t.Errorf("thing 2 is %q (%v), want leased", status, err)
	}
}
