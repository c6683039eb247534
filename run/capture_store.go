package run

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/snapshot"
)

// The captures' SQL (tables run_captures and run_capture_apps, migration
// 000036). A capture is written pending by package lease, in the batch of
// the transaction that ends the lease and holds its account
// (accounts.QueueHold); the job finishes it and frees the account
// (accounts.QueueUnhold) in one transaction; the sweep fails what is
// pending past the deadline, and deletes what is past the retention of
// its account's environment (accounts.EnvironmentDirectory).

const captureSQL = `INSERT INTO run_captures (lease_id, account_id, state, reset, requested_at)
VALUES ($1, $2, $3, $4, coalesce($5::timestamptz, now())) ON CONFLICT (lease_id) DO NOTHING`

// QueueCapture queues in b, a batch of the transaction that ends lease
// leaseID with an outcome that is Captured, the statement that records its
// capture pending: the account's state in each app, compared with state
// (the one the lease reset it to), and a reset when reset is set. The
// caller holds the account (accounts.QueueHold) in the same batch and,
// once it has committed, enqueues the job (Captures.Enqueue). now is the
// caller's clock (nil: the database's).
func QueueCapture(b *pgx.Batch, leaseID, accountID, state string, reset bool, now *time.Time) {
	b.Queue(captureSQL, leaseID, accountID, state, reset, now)
}

const capturesSQL = `INSERT INTO run_captures (lease_id, account_id, state, requested_at)
SELECT l, a, s, coalesce($4::timestamptz, now()) FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS x(l, a, s)
ON CONFLICT (lease_id) DO NOTHING`

// QueueCaptures is QueueCapture for the leases that expire together
// (without a reset): leaseIDs[i] held accountIDs[i], reset to states[i].
func QueueCaptures(b *pgx.Batch, leaseIDs, accountIDs, states []string, now *time.Time) {
	if len(leaseIDs) > 0 {
		b.Queue(capturesSQL, leaseIDs, accountIDs, states, now)
	}
}

// pendingCapture is a capture the job has to do.
type pendingCapture struct {
	LeaseID, AccountID, State string
	reset                     bool
}

const pendingSQL = `SELECT lease_id::text, account_id::text, state, reset FROM run_captures WHERE lease_id = $1 AND status = 'pending'`

func (c *Captures) pending(ctx context.Context, leaseID string) (pendingCapture, bool, error) {
	if _, err := uuid.Parse(leaseID); err != nil {
		return pendingCapture{}, false, nil
	}
	return pgdb.QueryMaybe(ctx, c.db, scanPending, pgdb.Conflict{}, pendingSQL, leaseID)
}

// queuePending queues in b the read of the capture of lease leaseID (a
// uuid) while it is pending; once b is sent, result returns it, or false.
func queuePending(b *pgx.Batch, leaseID string) (result func() (pendingCapture, bool, error)) {
	return pgdb.QueueMaybe(b, scanPending, pgdb.Conflict{}, pendingSQL, leaseID)
}

func scanPending(row pgx.Row, p *pendingCapture) error {
	return row.Scan(&p.LeaseID, &p.AccountID, &p.State, &p.reset)
}

const (
	finishSQL = `UPDATE run_captures SET status = $2, reason = $3, finished_at = coalesce($4::timestamptz, now())
WHERE lease_id = $1 AND status = 'pending'`
	captureAppsSQL = `INSERT INTO run_capture_apps (lease_id, app_id, app, hash, content_gz, size, baseline_hash, changes, changes_total, error)
SELECT $1, a, n, h, z, s, bh, ch, t, e
FROM unnest($2::uuid[], $3::text[], $4::bytea[], $5::bytea[], $6::int[], $7::bytea[], $8::jsonb[], $9::int[], $10::text[])
     AS x(a, n, h, z, s, bh, ch, t, e)`
)

// finish records the capture of p as status, with each app's part, frees
// its account and audits it, in one transaction (two round trips: the
// BEGIN with the capture's update, then the rest with the COMMIT); false
// when p was no longer pending (the sweep failed it meanwhile), and then
// nothing is written.
func (c *Captures) finish(ctx context.Context, p pendingCapture, status CaptureStatus, reason string, apps []CapturedApp, contents [][]byte) (bool, error) {
	now := c.dbNow()
	tx, err := pgdb.BeginPipe(ctx, c.db)
	if err != nil {
		return false, err
	}
	defer tx.End(ctx)
	b := &pgx.Batch{}
	moved := false
	b.Queue(finishSQL, p.LeaseID, status, reason, now).Exec(func(tag pgconn.CommandTag) error {
		moved = tag.RowsAffected() == 1
		return nil
	})
	if err := tx.Send(ctx, b); err != nil {
		return false, pgdb.Translate(err, "", "")
	}
	if !moved {
		return false, nil
	}
	b = &pgx.Batch{}
	if len(apps) > 0 {
		n := len(apps)
		ids, names, hashes, sizes, baselines, changes, totals, errs := make([]string, n), make([]string, n), make([][]byte, n),
			make([]*int32, n), make([][]byte, n), make([]string, n), make([]int32, n), make([]string, n)
		for i, a := range apps {
			ids[i], names[i], hashes[i], baselines[i], totals[i], errs[i] = a.AppID, a.App, hexOrNil(a.Hash), hexOrNil(a.Baseline), int32(a.ChangesTotal), a.Error
			if a.Hash != "" {
				sizes[i] = new(int32(a.Size))
			}
			j, err := json.Marshal(a.Changes)
			if err != nil {
				return false, fmt.Errorf("keeping the changes of app %s: %w", a.App, err)
			}
			changes[i] = string(j)
		}
		b.Queue(captureAppsSQL, p.LeaseID, ids, names, hashes, contents, sizes, baselines, changes, totals, errs)
	}
	if !p.reset { // else the account is reset first (Capture), then freed
		accounts.QueueUnhold(b, []string{p.AccountID}, []string{p.LeaseID}, now)
	}
	if err := queueAudit(ctx, b, p, status, reason, apps); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx, b, nil); err != nil {
		return false, pgdb.Translate(err, "", "")
	}
	return true, nil
}

// heldFor is an account held for the capture of a lease's run.
type heldFor struct{ account, lease string }

// unhold frees each account held for its lease, in a transaction of its
// own.
func (c *Captures) unhold(ctx context.Context, held ...heldFor) error {
	ids, holders := make([]string, len(held)), make([]string, len(held))
	for i, h := range held {
		ids[i], holders[i] = h.account, h.lease
	}
	b := &pgx.Batch{}
	accounts.QueueUnhold(b, ids, holders, c.dbNow())
	return pgdb.SendBatch(ctx, c.db, b)
}

const (
	getCaptureSQL = `SELECT lease_id::text, account_id::text, state, status, reason, requested_at, finished_at FROM run_captures WHERE lease_id = $1`
	getAppsSQL    = `SELECT app, app_id::text, hash, coalesce(size, 0), baseline_hash, changes, changes_total, error
FROM run_capture_apps WHERE lease_id = $1 ORDER BY app`
)

func (c *Captures) get(ctx context.Context, leaseID string) (Capture, bool, error) {
	if _, err := uuid.Parse(leaseID); err != nil {
		return Capture{}, false, nil
	}
	b := &pgx.Batch{}
	var cp Capture
	found := false
	b.Queue(getCaptureSQL, leaseID).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		if rows.Next() {
			found = true
			if err := rows.Scan(&cp.LeaseID, &cp.AccountID, &cp.State, &cp.Status, &cp.Reason, &cp.RequestedAt, &cp.FinishedAt); err != nil {
				return err
			}
		}
		rows.Close()
		return rows.Err()
	})
	cp.Apps = []CapturedApp{}
	b.Queue(getAppsSQL, leaseID).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		for rows.Next() {
			var a CapturedApp
			var h, bh []byte
			if err := rows.Scan(&a.App, &a.AppID, &h, &a.Size, &bh, &a.Changes, &a.ChangesTotal, &a.Error); err != nil {
				return err
			}
			a.Hash, a.Baseline = hex.EncodeToString(h), hex.EncodeToString(bh)
			if a.Changes == nil {
				a.Changes = []snapshot.Change{}
			}
			cp.Apps = append(cp.Apps, a)
		}
		return rows.Err()
	})
	if err := pgdb.SendBatch(ctx, c.db, b); err != nil {
		return Capture{}, false, err
	}
	return cp, found, nil
}

const contentSQL = `SELECT content_gz, size FROM run_capture_apps WHERE lease_id = $1 AND (app = $2 OR app_id::text = $2) AND content_gz IS NOT NULL`

// keptState is an app's state as a capture keeps it: gzip'd, and its
// length once inflated.
type keptState struct {
	gz   []byte
	size int64
}

func (c *Captures) content(ctx context.Context, leaseID, app string) (keptState, bool, error) {
	if _, err := uuid.Parse(leaseID); err != nil {
		return keptState{}, false, nil
	}
	return pgdb.QueryMaybe(ctx, c.db, func(row pgx.Row, k *keptState) error { return row.Scan(&k.gz, &k.size) }, pgdb.Conflict{}, contentSQL, leaseID, app)
}

// requeueAfter is how long a capture waits for its job before the sweep
// enqueues it again: its enqueue may have been lost with its server.
const requeueAfter = 30 * time.Second

// requeueSQL reads the captures pending for longer than $2 seconds, the
// oldest first, at most $3.
const requeueSQL = `SELECT lease_id::text FROM run_captures
WHERE status = 'pending' AND requested_at < coalesce($1::timestamptz, now()) - make_interval(secs => $2)
ORDER BY requested_at LIMIT $3`

// Requeue enqueues again the job of each capture pending for longer than
// requeueAfter (at most capturePruneBatch a run): a job that waits or
// runs is not doubled (CaptureArgs is unique by lease), and one lost with
// the server that ended the lease, before it was enqueued, is. Errors:
// the database's.
func (c *Captures) Requeue(ctx context.Context) error {
	ids, err := pgdb.QueryAll(ctx, c.db, pgdb.Scalar[string], requeueSQL, c.dbNow(), requeueAfter.Seconds(), capturePruneBatch)
	if err != nil || len(ids) == 0 {
		return err
	}
	runs := make([]CaptureArgs, len(ids))
	for i, id := range ids {
		runs[i] = CaptureArgs{LeaseID: id, RequestID: access.RequestID(ctx)}
	}
	c.insert(ctx, runs)
	return nil
}

// staleSQL fails the captures pending past the deadline ($2 seconds).
const staleSQL = `
UPDATE run_captures SET status = 'failed', finished_at = coalesce($1::timestamptz, now()),
       reason = 'the capture did not finish within ' || $3 || ' (its job was lost with its server, or kept failing): the account was freed without its state'
WHERE status = 'pending' AND requested_at < coalesce($1::timestamptz, now()) - make_interval(secs => $2)
RETURNING lease_id::text, account_id::text, state`

// FailStale fails every capture pending for longer than the deadline and
// frees its account, in one transaction, with an audit event each: a
// capture's job lost with its server, or failing each time, never holds
// an account for longer. It returns how many it failed.
func (c *Captures) FailStale(ctx context.Context) (int, error) {
	now := c.dbNow()
	var stale []pendingCapture
	err := pgdb.InTx(ctx, c.db, func(tx pgx.Tx) error {
		var err error
		stale, err = pgdb.QueryAll(ctx, tx, func(row pgx.Row, p *pendingCapture) error { return row.Scan(&p.LeaseID, &p.AccountID, &p.State) },
			staleSQL, now, c.deadline.Seconds(), c.deadline.String())
		if err != nil || len(stale) == 0 {
			return err
		}
		b := &pgx.Batch{}
		ids, holders := make([]string, len(stale)), make([]string, len(stale))
		for i, p := range stale {
			ids[i], holders[i] = p.AccountID, p.LeaseID
			if err := queueAudit(ctx, b, p, CaptureFailed, "the capture did not finish within "+c.deadline.String(), nil); err != nil {
				return err
			}
		}
		accounts.QueueUnhold(b, ids, holders, now)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, err
	}
	return len(stale), c.freeStranded(ctx)
}

// strandedSQL names the accounts still held for a capture that finished
// more than the deadline ago ($2 seconds): its job kept the state, then
// stopped (its server with it) before the reset its release asked for,
// and the account's freeing.
const strandedSQL = `SELECT c.account_id::text, c.lease_id::text FROM run_captures c
JOIN ` + accounts.AccountDirectory + ` a ON a.id = c.account_id
WHERE a.status = 'capturing' AND c.status <> 'pending' AND c.finished_at < coalesce($1::timestamptz, now()) - make_interval(secs => $2)
LIMIT 500`

// freeStranded frees the accounts strandedSQL names: the next lease
// resets them, as every lease does.
func (c *Captures) freeStranded(ctx context.Context) error {
	list, err := pgdb.QueryAll(ctx, c.db, func(row pgx.Row, h *heldFor) error { return row.Scan(&h.account, &h.lease) }, strandedSQL, c.dbNow(), c.deadline.Seconds())
	if err != nil || len(list) == 0 {
		return err
	}
	return c.unhold(ctx, list...)
}

// capturePruneBatch bounds the captures one round of the retention deletes.
const capturePruneBatch = 500

// pruneSQL deletes the finished captures past their environment's
// retention (an hour at least: the partial index finds the candidates).
const pruneSQL = `
DELETE FROM run_captures c WHERE c.lease_id IN (
    SELECT c.lease_id FROM run_captures c
    JOIN ` + accounts.AccountDirectory + ` a ON a.id = c.account_id
    JOIN ` + accounts.EnvironmentDirectory + ` e ON e.id = a.environment_id
    WHERE c.status <> 'pending' AND c.finished_at < coalesce($1::timestamptz, now()) - interval '1 hour'
      AND c.finished_at < coalesce($1::timestamptz, now()) - make_interval(secs => e.capture_retention_seconds)
    LIMIT $2)
RETURNING c.lease_id::text, c.account_id::text`

// Prune deletes the captures past the retention of their account's
// environment, each round of capturePruneBatch in one transaction with an
// audit event per capture (run.capture_prune). It returns how many it
// deleted.
func (c *Captures) Prune(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := pgdb.InTx(ctx, c.db, func(tx pgx.Tx) error {
			type gone struct{ lease, account string }
			deleted, err := pgdb.QueryAll(ctx, tx, func(row pgx.Row, g *gone) error { return row.Scan(&g.lease, &g.account) }, pruneSQL, c.dbNow(), capturePruneBatch)
			if err != nil || len(deleted) == 0 {
				return err
			}
			b := &pgx.Batch{}
			for _, g := range deleted {
				if err := access.Queue(ctx, b, access.Event{Action: "run.capture_prune", TargetType: "lease", TargetID: g.lease,
					Details: map[string]any{"account_id": g.account}}); err != nil {
					return err
				}
			}
			n = len(deleted)
			return tx.SendBatch(ctx, b).Close()
		})
		total += n
		if err != nil || n < capturePruneBatch {
			return total, err
		}
	}
}
