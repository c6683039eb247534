package accounts

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The account side of a lease. Package lease owns the leases table; a
// lease's effect on its account's status (ready → leased → ready) is made
// here, inside the lease's transaction, so the accounts table has one
// owner.

// QuarantineView is the name of package isolation's view of the
// violations that quarantine their account (migration 000022), which
// isolation owns and exports as isolation.QuarantineView: isolation decides
// which violations quarantine, and this package only reads the view by
// name, since it cannot import isolation (isolation depends on it). A test
// in isolation fails if the two names ever differ.
const QuarantineView = "quarantining_violations"

// sqlQuarantined is true of account a when its role quarantines on
// violations and a has a quarantining violation: an open one on a hidden
// surface. The claim must test it in the statement that locks the account,
// so it reads package isolation's view of those violations
// (QuarantineView), and the role's choice here.
const sqlQuarantined = `(EXISTS (SELECT 1 FROM ` + QuarantineView + ` v JOIN roles q ON q.id = a.role_id
        WHERE v.account_id = a.id AND q.quarantine_on_violation))`

// claimSQL marks one ready, not quarantined account of a role leased.
// SKIP LOCKED lets concurrent claims take different accounts.
const claimSQL = `
WITH picked AS (
    SELECT a.id FROM accounts a
    WHERE a.role_id = (SELECT r.id FROM roles r JOIN environments e ON e.id = r.environment_id
                       WHERE e.name = @env AND r.name = @role AND r.deleted_at IS NULL)
      AND a.status = 'ready' AND NOT ` + sqlQuarantined + `
    ORDER BY a.slot LIMIT 1 FOR UPDATE SKIP LOCKED
)
UPDATE accounts a SET status = 'leased', status_reason = '', updated_at = coalesce(@now::timestamptz, now())
FROM picked WHERE a.id = picked.id RETURNING a.id, a.role_id`

// Claimed is the account a lease's claim took.
type Claimed struct {
	AccountID string
	RoleID    string
}

// QueueClaim queues in b, a batch the caller sends in the transaction
// that records the lease, the statement that marks one ready account of
// role role of environment env leased; once b has been sent (without an
// error: a failed read is the batch's error), result returns it, or false
// when none is ready (or the role does not exist: the caller tells which). An account quarantined by an isolation
// violation is passed over. now is the caller's clock (nil: the
// database's).
func QueueClaim(b *pgx.Batch, env, role string, now *time.Time) (result func() (Claimed, bool)) {
	var c Claimed
	found := false
	b.Queue(claimSQL, pgx.NamedArgs{"env": env, "role": role, "now": now}).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		if rows.Next() {
			if err := rows.Scan(&c.AccountID, &c.RoleID); err != nil {
				return err
			}
			found = true
		}
		rows.Close()
		return rows.Err()
	})
	return func() (Claimed, bool) { return c, found }
}

// freeSQL marks leased accounts ready again; a failed account (its reset
// failed) stays failed.
const freeSQL = `UPDATE accounts SET status = 'ready', updated_at = coalesce($2::timestamptz, now())
WHERE id = ANY($1::uuid[]) AND status = 'leased'`

// QueueFree queues in b, a batch the caller sends in the transaction that
// ends the leases, the statement that marks the leased accounts with ids
// ready again. now is the caller's clock (nil: the database's).
func QueueFree(b *pgx.Batch, ids []string, now *time.Time) {
	if len(ids) > 0 {
		b.Queue(freeSQL, ids, now)
	}
}

// holdSQL marks leased accounts capturing, with the reason; a failed
// account (its reset failed) stays failed.
const holdSQL = `UPDATE accounts a SET status = 'capturing', status_reason = x.reason, updated_at = coalesce($2::timestamptz, now())
FROM unnest($1::uuid[], $3::text[]) AS x(id, reason) WHERE a.id = x.id AND a.status = 'leased'`

// QueueHold queues in b, a batch the caller sends in the transaction that
// ends the leases, the statement that marks the leased accounts with ids
// capturing (ids[i] with reasons[i], which names what holds it) instead of
// ready: their run failed, and no claim takes them until package run has
// kept their state (QueueUnhold).
// now is the caller's clock (nil: the database's).
func QueueHold(b *pgx.Batch, ids, reasons []string, now *time.Time) {
	if len(ids) > 0 {
		b.Queue(holdSQL, ids, now, reasons)
	}
}

// unholdSQL marks capturing accounts ready again, each only while its hold
// names its holder (the reason QueueHold gave it holds the holder's id),
// and returns those it moved.
const unholdSQL = `UPDATE accounts a SET status = 'ready', status_reason = '', updated_at = coalesce($2::timestamptz, now())
FROM unnest($1::uuid[], $3::text[]) AS x(id, holder)
WHERE a.id = x.id AND a.status = 'capturing' AND strpos(a.status_reason, x.holder) > 0 RETURNING a.id::text`

// QueueUnhold queues in b the statement that marks the capturing accounts
// with ids ready again, each only while it is held for holders[i] (a
// lease's id, which the reason QueueHold was given names): a hold another
// run took since is left alone, and so is an account that moved meanwhile
// (failed, retired). Once b has been sent, moved returns the ids of the
// accounts it freed. now is the caller's clock (nil: the database's).
func QueueUnhold(b *pgx.Batch, ids, holders []string, now *time.Time) (moved func() []string) {
	var out []string
	b.Queue(unholdSQL, ids, now, holders).Query(func(rows pgx.Rows) error {
		var err error
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return func() []string { return out }
}

// heldSQL names the role's capturing accounts, oldest hold first.
const heldSQL = `SELECT id::text, status_reason, updated_at FROM accounts WHERE role_id = $1 AND status = 'capturing' ORDER BY updated_at, id`

// Hold is an account held while its failed run's state is captured.
type Hold struct {
	AccountID string
	// Reason says whose run is captured.
	Reason string
	Since  time.Time
}

// Held lists the role's accounts held while their failed runs' states are
// captured (capturing).
func Held(ctx context.Context, db pgdb.DB, roleID string) ([]Hold, error) {
	return pgdb.QueryAll(ctx, db, func(row pgx.Row, h *Hold) error { return row.Scan(&h.AccountID, &h.Reason, &h.Since) }, heldSQL, roleID)
}

const anyReadySQL = `SELECT EXISTS (SELECT 1 FROM accounts a WHERE a.role_id = $1 AND a.status = 'ready' AND NOT ` + sqlQuarantined + `)`

// AnyReady reports whether role roleID has a ready account that is not
// quarantined (false when that cannot be read).
func AnyReady(ctx context.Context, db pgdb.DB, roleID string) bool {
	ok, _ := pgdb.QueryOne(ctx, db, pgdb.Scalar[bool], "", anyReadySQL, roleID)
	return ok
}

// quarantinedSQL names the role's ready accounts held back by a
// violation, each with its oldest quarantining violation.
const quarantinedSQL = `
SELECT DISTINCT ON (a.slot) a.id::text, v.id, v.surface, v.app_id::text
FROM accounts a JOIN ` + QuarantineView + ` v ON v.account_id = a.id JOIN roles q ON q.id = a.role_id
WHERE a.role_id = $1 AND a.status = 'ready' AND q.quarantine_on_violation
ORDER BY a.slot, v.id`

// Quarantine is why a ready account cannot be leased: its oldest open
// isolation violation on a hidden surface.
type Quarantine struct {
	AccountID string
	Violation int64
	Surface   string
	// AppID is the app the account was seen in; App is its name, which
	// Quarantined leaves empty (apps are package apps': the caller reads
	// the names, as QuarantineError shows them).
	AppID string
	App   string
}

// Quarantined returns the ready accounts of role roleID held back by an
// isolation violation, by slot. Each names its app by id only (AppID).
func Quarantined(ctx context.Context, db pgdb.DB, roleID string) ([]Quarantine, error) {
	return pgdb.QueryAll(ctx, db, func(row pgx.Row, q *Quarantine) error {
		return row.Scan(&q.AccountID, &q.Violation, &q.Surface, &q.AppID)
	}, quarantinedSQL, roleID)
}

// QuarantineError returns ECONFLICT naming the quarantined accounts of
// role r and why, each app by its name (by its id where App is empty).
func QuarantineError(r Role, list []Quarantine) error {
	why := make([]string, len(list))
	for i, q := range list {
		why[i] = fmt.Sprintf("account %s was seen by real viewers on hidden surface %s of app %s (violation %d)", q.AccountID, q.Surface, cmp.Or(q.App, q.AppID), q.Violation)
	}
	return understudy.Errorf(understudy.ECONFLICT, "no account of role %s in environment %s can be leased: %d quarantined by isolation violations: %s; fix the leak and audit again (`understudy isolation audit --environment %s`), or set quarantine_on_violation to false on the role",
		r.Name, r.Environment, len(why), strings.Join(why, "; "), r.Environment)
}
