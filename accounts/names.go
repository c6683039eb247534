package accounts

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The names behind ids that other packages store (isolation violations,
// tagging's destinations and runs): they read them here, one statement
// per list, instead of joining environments, accounts or roles.

// Names are the names of some environments and the roles of some
// accounts.
type Names struct {
	// Environments is each environment's name, by id.
	Environments map[string]string
	// EnvironmentRank is each environment's place when ordered by name as
	// the database collates it, by id, so a caller can order by name as
	// SQL would.
	EnvironmentRank map[string]int
	// Roles is the name of each account's role, by account id.
	Roles map[string]string
}

const namesSQL = `
SELECT kind, id, name FROM (
    SELECT 0 AS kind, id::text AS id, name FROM environments WHERE id = ANY($1::uuid[])
    UNION ALL
    SELECT 1, a.id::text, r.name FROM accounts a JOIN roles r ON r.id = a.role_id WHERE a.id = ANY($2::uuid[])
) x ORDER BY kind, name, id`

// NamesOf reads, in one statement on db, the names of the environments
// environmentIDs and the roles of the accounts accountIDs. An id that
// names nothing is left out.
func NamesOf(ctx context.Context, db pgdb.DB, environmentIDs, accountIDs []string) (Names, error) {
	n := Names{Environments: map[string]string{}, EnvironmentRank: map[string]int{}, Roles: map[string]string{}}
	if len(environmentIDs) == 0 && len(accountIDs) == 0 {
		return n, nil
	}
	type row struct {
		kind     int
		id, name string
	}
	rows, err := pgdb.QueryAll(ctx, db, func(r pgx.Row, x *row) error { return r.Scan(&x.kind, &x.id, &x.name) },
		namesSQL, environmentIDs, accountIDs)
	if err != nil {
		return Names{}, err
	}
	for _, x := range rows {
		if x.kind == 0 {
			n.EnvironmentRank[x.id] = len(n.Environments)
			n.Environments[x.id] = x.name
		} else {
			n.Roles[x.id] = x.name
		}
	}
	return n, nil
}

const environmentIDSQL = `SELECT id::text FROM environments WHERE name = $1`

// EnvironmentID returns the id of the environment named name, and false
// when there is none.
func EnvironmentID(ctx context.Context, db pgdb.DB, name string) (string, bool, error) {
	return pgdb.QueryMaybe(ctx, db, pgdb.Scalar[string], pgdb.Conflict{}, environmentIDSQL, name)
}

// QueueEnvironmentID queues on b the read of the id of the environment
// named name, so that a caller sends it with its own statements in one
// round trip; found tells whether there is one once b is sent.
func QueueEnvironmentID(b *pgx.Batch, name string, id *string, found *bool) {
	b.Queue(environmentIDSQL, name).QueryRow(func(row pgx.Row) error {
		err := row.Scan(id)
		*found = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
}
