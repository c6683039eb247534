package access

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Event is one audited write. Details hold only what is safe to show:
// never a password, a token or a key. An event caused by a request also
// holds the request's client address (details.client_addr, see Client).
type Event struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	Actor      string         `json:"actor"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id"`
	RequestID  string         `json:"request_id"`
	Details    map[string]any `json:"details"`
}

// recordSQL is the one statement that adds an audit event.
const recordSQL = `INSERT INTO audit_events (actor, action, target_type, target_id, request_id, details) VALUES ($1, $2, $3, $4, $5, $6)`

// Execer is what Record writes through: the transaction of the write it
// records, or, for work that has none (calls to apps, background jobs), the
// pool (one INSERT is atomic on its own).
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Record adds e to the audit trail through tx, the transaction of the write
// it records, with the actor and request id of ctx's caller.
func Record(ctx context.Context, tx Execer, e Event) error {
	args, err := recordArgs(ctx, e)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, recordSQL, args...)
	return err
}

// recordArgs are recordSQL's parameters for e, with the actor, the request
// id and the client address of ctx's caller.
func recordArgs(ctx context.Context, e Event) ([]any, error) {
	c := CallerFrom(ctx)
	actor := c.Actor
	if actor == "" {
		actor = "system"
	}
	d := e.Details
	if addr := ClientFrom(ctx).Addr; addr != "" {
		d = maps.Clone(d)
		if d == nil {
			d = map[string]any{}
		}
		d[clientAddrDetail] = addr
	}
	details, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	if d == nil {
		details = []byte("{}")
	}
	return []any{actor, e.Action, e.TargetType, e.TargetID, RequestID(ctx), details}, nil
}

// recordIfTemplate is a write (%[1]s, with its RETURNING clause) and the
// event that records it in one statement: the event is inserted only when
// the write returned a row. %[2]d… number the event's parameters after
// the write's.
const recordIfTemplate = `WITH w AS (%[1]s)
INSERT INTO audit_events (actor, action, target_type, target_id, request_id, details)
SELECT $%[2]d::text, $%[3]d::text, $%[4]d::text, $%[5]d::text, $%[6]d::text, $%[7]d::jsonb WHERE EXISTS (SELECT FROM w)`

// QueueIf queues in b a conditional write and e, the event that records
// it, in one statement: e is written only when the write wrote a row, and
// only with it. So a write that may find nothing to do (an account moved
// only from some statuses) is audited in its own round trip, with no
// transaction around it to roll back when it did nothing. write is one
// INSERT, UPDATE or DELETE that returns a row for each row it writes
// (RETURNING), with parameters $1… args. Once b has been sent, wrote
// reports whether the write wrote (and e was recorded).
func QueueIf(ctx context.Context, b *pgx.Batch, write string, args []any, e Event) (wrote func() bool, err error) {
	event, err := recordArgs(ctx, e)
	if err != nil {
		return nil, err
	}
	n := len(args)
	sql := fmt.Sprintf(recordIfTemplate, write, n+1, n+2, n+3, n+4, n+5, n+6)
	var recorded bool
	b.Queue(sql, append(slices.Clip(args), event...)...).Exec(func(tag pgconn.CommandTag) error {
		recorded = tag.RowsAffected() > 0
		return nil
	})
	return func() bool { return recorded }, nil
}

// recordManySQL adds several events of one caller in one statement, in
// the order given ($3, $4, $5, $6 are their actions, target types,
// target ids and details, index by index).
const recordManySQL = `INSERT INTO audit_events (actor, action, target_type, target_id, request_id, details)
SELECT $1, u.action, u.target_type, u.target_id, $2, u.details::jsonb
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u (action, target_type, target_id, details, n)
ORDER BY u.n`

// RecordMany adds events to the audit trail through tx, the transaction
// of the writes they record, in one statement, as Record would one by
// one: what a write of many rows (a pool's new accounts) records.
func RecordMany(ctx context.Context, tx Execer, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	c := CallerFrom(ctx)
	actor := cmp.Or(c.Actor, "system")
	addr := ClientFrom(ctx).Addr
	actions, types, targets, details := make([]string, len(events)), make([]string, len(events)), make([]string, len(events)), make([]string, len(events))
	for i, e := range events {
		d := e.Details
		if addr != "" {
			d = maps.Clone(d)
			if d == nil {
				d = map[string]any{}
			}
			d[clientAddrDetail] = addr
		}
		b := []byte("{}")
		if d != nil {
			var err error
			if b, err = json.Marshal(d); err != nil {
				return err
			}
		}
		actions[i], types[i], targets[i], details[i] = e.Action, e.TargetType, e.TargetID, string(b)
	}
	_, err := tx.Exec(ctx, recordManySQL, actor, RequestID(ctx), actions, types, targets, details)
	return err
}

// Queue queues e's statement in b, the batch of the write it records, with
// the actor and request id of ctx's caller as Record takes them, so that the
// event is written in the write's round trip and transaction. A write that
// learns what to audit from a statement's result (how many rows it deleted)
// reads that result, then records the event in the same transaction.
func Queue(ctx context.Context, b *pgx.Batch, e Event) error {
	return Record(ctx, batchExecer{b}, e)
}

// batchExecer is an Execer that queues its statement in a batch; its
// result comes when the batch is sent.
type batchExecer struct{ b *pgx.Batch }

func (q batchExecer) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	q.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

// RecordNow adds e to the audit trail on its own, for work that has no
// transaction of its own (calls to apps, background jobs: one INSERT is
// atomic), and logs a failure to record instead of returning it: the work
// it records has already happened.
func RecordNow(ctx context.Context, db Execer, logger *slog.Logger, e Event) {
	if err := Record(ctx, db, e); err != nil {
		logger.ErrorContext(ctx, "recording an audit event", "action", e.Action, "target", e.TargetID, "error", err)
	}
}

// AuditFilter narrows an audit listing. Zero fields match everything.
type AuditFilter struct {
	// Actor keeps the events of one actor (a token's name, "system"…).
	Actor      string
	Action     string
	TargetType string
	TargetID   string
	RequestID  string
	// Since keeps the events at or after it.
	Since time.Time
	// Before returns events with an id below it (for paging backwards).
	Before int64
	// After returns the events with an id above it, the nearest ones (for
	// paging forwards, back to newer events); they are still returned
	// newest first. With After, Before is ignored.
	After int64
	// Limit defaults to 100, at most 1000.
	Limit int
}

const listAuditSQL = `
SELECT id, at, actor, action, target_type, target_id, request_id, details FROM audit_events
WHERE ($1 = '' OR action = $1) AND ($2 = '' OR target_type = $2) AND ($3 = '' OR target_id = $3)
  AND ($4 = '' OR request_id = $4) AND ($5 = 0 OR id < $5)
  AND ($7 = '' OR actor = $7) AND ($8::timestamptz IS NULL OR at >= $8)
ORDER BY id DESC LIMIT $6`

// listAuditAfterSQL is listAuditSQL for the events just above an id ($5):
// the nearest first, so that LIMIT keeps those (List reverses them).
const listAuditAfterSQL = `
SELECT id, at, actor, action, target_type, target_id, request_id, details FROM audit_events
WHERE ($1 = '' OR action = $1) AND ($2 = '' OR target_type = $2) AND ($3 = '' OR target_id = $3)
  AND ($4 = '' OR request_id = $4) AND id > $5
  AND ($7 = '' OR actor = $7) AND ($8::timestamptz IS NULL OR at >= $8)
ORDER BY id ASC LIMIT $6`

// Audit reads the audit trail.
type Audit struct{ db pgdb.DB }

// NewAudit returns an audit reader on db.
func NewAudit(db pgdb.DB) *Audit { return &Audit{db: db} }

// List returns the newest events matching f, newest first.
func (a *Audit) List(ctx context.Context, f AuditFilter) ([]Event, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	var since *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	query, from := listAuditSQL, f.Before
	if f.After > 0 {
		query, from = listAuditAfterSQL, f.After
	}
	rows, err := a.db.Query(ctx, query, f.Action, f.TargetType, f.TargetID, f.RequestID, from, f.Limit, f.Actor, since)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.TargetType, &e.TargetID, &e.RequestID, &e.Details)
		return e, err
	})
	if f.After > 0 {
		slices.Reverse(list)
	}
	return list, pgdb.Translate(err, "", "")
}
