package accounts

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The reads other packages make of this package's tables, each on the
// caller's db: a pool, or the caller's transaction, so that what it reads
// here and in its own tables is one snapshot.

// RolePolicy is a role's isolation policy as package isolation lists it.
type RolePolicy struct {
	ID, Name string
	Policy   map[string]Visibility
}

// rolePoliciesSQL reads every role of the environment, deleted ones too:
// the accounts of a deleted role are still on the exclusion list.
const rolePoliciesSQL = `SELECT id::text, name, isolation_policy FROM roles WHERE environment_id = $1 ORDER BY id`

// RolePolicies returns the isolation policy of every role of environment
// envID, in id order, read on db: a pool, or the caller's transaction, so
// that the policies and what the caller reads with them are one snapshot.
func RolePolicies(ctx context.Context, db pgdb.DB, envID string) ([]RolePolicy, error) {
	return pgdb.QueryAll(ctx, db, func(r pgx.Row, p *RolePolicy) error { return r.Scan(&p.ID, &p.Name, &p.Policy) }, rolePoliciesSQL, envID)
}

const statusOfSQL = `SELECT status FROM accounts WHERE id = $1`

// StatusOf returns the status of account id, read on db. Errors: ENOTFOUND.
func StatusOf(ctx context.Context, db pgdb.DB, id string) (Status, error) {
	return pgdb.QueryOne(ctx, db, pgdb.Scalar[Status], "no account has id "+id, statusOfSQL, id)
}
