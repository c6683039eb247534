package run

import (
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The writes of a run, each queued by package lease in the batch of the
// lease's own transaction (so that naming a run or recording its outcome
// costs no round trip of its own), and the join through which lease reads
// a lease's run in the statements that read the lease.

// recordColumns are a run's columns as a Record scans them, from runs x.
const recordColumns = `x.ci_run_id, x.flow, x.ci_url, x.version, coalesce(x.outcome, ''), x.message, x.test, x.links, x.outcome_at`

func recordTargets(r *Record) []any {
	return []any{&r.RunID, &r.Flow, &r.CIURL, &r.Version, &r.Outcome, &r.Message, &r.Test, &r.Links, &r.OutcomeAt}
}

// nameSQL names a lease's run, unless its outcome is recorded: a new row,
// or the naming of the row the lease has, its outcome kept.
const nameSQL = `
INSERT INTO runs AS x (lease_id, ci_run_id, flow, ci_url, version) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (lease_id) DO UPDATE SET ci_run_id = excluded.ci_run_id, flow = excluded.flow, ci_url = excluded.ci_url, version = excluded.version
WHERE x.outcome IS NULL`

// QueueName queues in b, a batch of a transaction that holds lease
// leaseID, the statement that names its run (QueueNew names the run of a
// lease being inserted). The result, once b has been sent, is the
// run as named, or false when its outcome is already recorded (a run with
// an outcome is not renamed). A run without an outcome holds nothing but
// its name (this package writes a message, a test and links only with an
// outcome), so the result is n itself: nothing is read back.
func QueueName(b *pgx.Batch, leaseID string, n Naming) (result func() (Record, bool)) {
	named := false
	b.Queue(nameSQL, leaseID, n.RunID, n.Flow, n.CIURL, n.Version).Exec(func(tag pgconn.CommandTag) error {
		named = tag.RowsAffected() == 1
		return nil
	})
	return func() (Record, bool) { return Record{Naming: n, Links: []Link{}}, named }
}

// insertNameSQL names the run of a lease inserted in the same transaction,
// which has no row yet: a plain insert, cheaper for the database than
// nameSQL's (which must look for a row first).
const insertNameSQL = `INSERT INTO runs (lease_id, ci_run_id, flow, ci_url, version) VALUES ($1, $2, $3, $4, $5)`

// QueueNew queues in b, the batch that inserts lease leaseID (after its
// insert), the statement that names its run. The run as named is n.
func QueueNew(b *pgx.Batch, leaseID string, n Naming) Record {
	b.Queue(insertNameSQL, leaseID, n.RunID, n.Flow, n.CIURL, n.Version)
	return Record{Naming: n, Links: []Link{}}
}

// outcomeSQL records a run's outcome, unless it has one: a new row, or
// the outcome of the row its lease has (written meanwhile), its naming
// kept (and read back). $6 is the caller's clock (NULL: the database's),
// the lease's end's in the same transaction.
const outcomeSQL = `
INSERT INTO runs AS x (lease_id, outcome, message, test, links, outcome_at) VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()))
ON CONFLICT (lease_id) DO UPDATE SET outcome = excluded.outcome, message = excluded.message, test = excluded.test, links = excluded.links,
                                     outcome_at = excluded.outcome_at
WHERE x.outcome IS NULL
RETURNING x.ci_run_id, x.flow, x.ci_url, x.version, x.outcome_at`

// outcomeNamedSQL is outcomeSQL for a run known to have a row (its lease
// named it): an update, which costs the database less than an insert
// that finds the row.
const outcomeNamedSQL = `
UPDATE runs x SET outcome = $2, message = $3, test = $4, links = $5, outcome_at = coalesce($6::timestamptz, now())
WHERE x.lease_id = $1 AND x.outcome IS NULL
RETURNING x.ci_run_id, x.flow, x.ci_url, x.version, x.outcome_at`

// QueueOutcome queues in b, a batch of the transaction that ends lease
// leaseID (or has locked it, ended), the statement that records r as its
// run's outcome at now (nil: the database's clock). named says that the
// run has a row (the caller read it in this transaction: its lease named
// it), which is then updated; without, a row is inserted, or one written
// meanwhile updated. The result, once b has been sent, is the run with
// its outcome, or false when it had one already (which is kept).
func QueueOutcome(b *pgx.Batch, leaseID string, named bool, r Report, now *time.Time) (result func() (Record, bool)) {
	links := r.Links
	if links == nil {
		links = []Link{}
	}
	sql := outcomeSQL
	if named {
		sql = outcomeNamedSQL
	}
	rec := Record{Outcome: r.Outcome, Message: r.Message, Test: r.Test, Links: links}
	found := false
	b.Queue(sql, leaseID, string(r.Outcome), r.Message, r.Test, links, now).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		if rows.Next() {
			found = true
			if err := rows.Scan(&rec.RunID, &rec.Flow, &rec.CIURL, &rec.Version, &rec.OutcomeAt); err != nil {
				return err
			}
		}
		rows.Close()
		return rows.Err()
	})
	return func() (Record, bool) { return rec, found }
}

// AbandonMessage is the message of an abandoned run.
const AbandonMessage = "the lease expired without a release: its runner stopped renewing it (it crashed, was killed, or lost its connection)"

// abandonSQL records the runs of expired leases as abandoned, but for
// those that have an outcome.
const abandonSQL = `
INSERT INTO runs AS x (lease_id, outcome, message, outcome_at)
SELECT id, ` + sqlAbandoned + `, $2, coalesce($3::timestamptz, now()) FROM unnest($1::uuid[]) AS id
ON CONFLICT (lease_id) DO UPDATE SET outcome = excluded.outcome, message = excluded.message, outcome_at = excluded.outcome_at
WHERE x.outcome IS NULL
RETURNING x.lease_id::text, ` + recordColumns

// QueueAbandon queues in b, a batch of the transaction that expires the
// leases leaseIDs, the statement that records their runs as abandoned at
// now (nil: the database's clock). The result, once b has been sent, is
// each run so recorded, by lease id.
func QueueAbandon(b *pgx.Batch, leaseIDs []string, now *time.Time) (result func() map[string]Record) {
	out := make(map[string]Record, len(leaseIDs))
	if len(leaseIDs) == 0 {
		return func() map[string]Record { return out }
	}
	b.Queue(abandonSQL, leaseIDs, AbandonMessage, now).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		for rows.Next() {
			var id string
			var rec Record
			if err := rows.Scan(append([]any{&id}, recordTargets(&rec)...)...); err != nil {
				return err
			}
			out[id] = rec
		}
		return rows.Err()
	})
	return func() map[string]Record { return out }
}

// RecordView is this package's view of the runs (migration 000035):
// package lease joins it, through Join and JoinedColumns, to read each
// lease's run in the statement that reads the lease.
const RecordView = "run_records"

// Join is the LEFT JOIN of the run of lease l, as rr, for JoinedColumns.
const Join = ` LEFT JOIN ` + RecordView + ` rr ON rr.lease_id = l.id`

// JoinedColumns are the columns of the run Join joined, which Joined
// scans: whether there is one, then its Record (empty values without one).
const JoinedColumns = `rr.lease_id IS NOT NULL, coalesce(rr.ci_run_id, ''), coalesce(rr.flow, ''), coalesce(rr.ci_url, ''),
coalesce(rr.version, ''), coalesce(rr.outcome, ''), coalesce(rr.message, ''), coalesce(rr.test, ''), coalesce(rr.links, '[]'), rr.outcome_at`

// Joined scans JoinedColumns.
type Joined struct {
	found bool
	rec   Record
}

// Targets are the scan targets of JoinedColumns, in order.
func (j *Joined) Targets() []any {
	return append([]any{&j.found}, recordTargets(&j.rec)...)
}

// Record is the run scanned, or nil when the lease has none.
func (j *Joined) Record() *Record {
	if !j.found {
		return nil
	}
	r := j.rec
	return &r
}
