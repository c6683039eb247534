package migrations_test

import (
	"context"
	"maps"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/internal/dbtest"
)

// The statement-level exclusions trigger on accounts (migration 000024)
// leaves each list as exclusion_add, row by row, leaves it: the same
// identifiers, size and hash. An identifier already on the list stays as
// it was, a forgotten one comes back, one shared by two new accounts is
// added once; the statement adds one version.
func TestNewAccountsAreExcludedAsRowByRow(t *testing.T) {
	t.Parallel()
	tx := dbtest.Tx(t)
	ctx := context.Background()
	var env, oracle, role string
	mustScan(t, tx.QueryRow(ctx, `INSERT INTO environments (name, email_domains) VALUES ('trig', '{qa.example.test}') RETURNING id`), &env)
	mustScan(t, tx.QueryRow(ctx, `INSERT INTO environments (name, email_domains) VALUES ('oracle', '{qa.example.test}') RETURNING id`), &oracle)
	mustScan(t, tx.QueryRow(ctx, `INSERT INTO roles (environment_id, name, pool_size) VALUES ($1, 'buyer', 20) RETURNING id`, env), &role)
	insert := func(slot int, email, username string) string {
		t.Helper()
		var id string
		mustScan(t, tx.QueryRow(ctx, insertOneSQL, env, role, slot, email, username), &id)
		return id
	}
	// On the list before the statement: one identifier kept, one forgotten.
	kept := insert(1, "kept@qa.example.test", "shared-before")
	gone := insert(2, "gone@qa.example.test", "forgotten-name")
	mustExec(t, tx, `UPDATE accounts SET status = 'retired', retired_at = now() WHERE id = $1`, gone)
	mustExec(t, tx, `UPDATE exclusion_lists SET version = version + 1, size = size - 1, hash = hash # exclusion_digest('forgotten-name') WHERE environment_id = $1`, env)
	mustExec(t, tx, `UPDATE exclusions SET forgotten = true, version = (SELECT version FROM exclusion_lists WHERE environment_id = $1)
		WHERE environment_id = $1 AND identifier = 'forgotten-name'`, env)
	before := head(t, tx, env)

	// One statement: two accounts share a username, one reuses a name
	// already on the list, one a forgotten one.
	rows := [][2]string{{"a@qa.example.test", "twin"}, {"b@qa.example.test", "twin"}, {"c@qa.example.test", "shared-before"}, {"d@qa.example.test", "forgotten-name"}}
	emails, names := make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		emails[i], names[i] = r[0], r[1]
	}
	var ids []string
	rs, err := tx.Query(ctx, insertManySQL, env, role, emails, names)
	if err != nil {
		t.Fatal(err)
	}
	if ids, err = pgx.CollectRows(rs, pgx.RowTo[string]); err != nil || len(ids) != 4 {
		t.Fatalf("inserted %v, %v; want 4 accounts", ids, err)
	}
	after := head(t, tx, env)
	if after.version != before.version+1 {
		t.Errorf("version %d → %d, want one version for the statement", before.version, after.version)
	}
	// The oracle: exclusion_add, row by row, in another environment, of
	// what was on the list before and what the statement inserted.
	for _, a := range []string{kept, gone} {
		mustExec(t, tx, `SELECT exclusion_add($1, a.id, x.i, x.k, '') FROM accounts a,
			LATERAL (VALUES (a.id::text, 'account_id'), (a.email, 'email'), (a.username, 'username')) x (i, k) WHERE a.id = $2`, oracle, a)
	}
	mustExec(t, tx, `SELECT exclusion_add($1, $2, 'forgotten-name', 'username', '')`, oracle, gone) // as it was, before…
	mustExec(t, tx, `UPDATE exclusion_lists SET size = size - 1, hash = hash # exclusion_digest('forgotten-name') WHERE environment_id = $1`, oracle)
	mustExec(t, tx, `UPDATE exclusions SET forgotten = true WHERE environment_id = $1 AND identifier = 'forgotten-name'`, oracle) // …and forgotten
	for _, id := range ids {
		mustExec(t, tx, `SELECT exclusion_add($1, a.id, x.i, x.k, '') FROM accounts a,
			LATERAL (VALUES (a.id::text, 'account_id'), (a.email, 'email'), (a.username, 'username')) x (i, k) WHERE a.id = $2`, oracle, id)
	}
	want := head(t, tx, oracle)
	if after.size != want.size || after.hash != want.hash || after.size != 2*3+4*2+1 {
		t.Errorf("list size %d hash %s, want %d and %s as row by row (13: 6 before, less the forgotten one, 4 ids, 4 emails, twin and forgotten-name)",
			after.size, after.hash, want.size, want.hash)
	}
	got, wantEntries := entries(t, tx, env), entries(t, tx, oracle)
	if !maps.Equal(got, wantEntries) {
		t.Errorf("entries:\n%v\nwant, as row by row:\n%v", got, wantEntries)
	}
	var hash, recount string
	mustScan(t, tx.QueryRow(ctx, `SELECT l.hash::text, (SELECT coalesce(bit_xor(exclusion_digest(identifier)), repeat('0', 256)::bit(256))::text
		FROM exclusions WHERE environment_id = $1 AND NOT forgotten) FROM exclusion_lists l WHERE l.environment_id = $1`, env), &hash, &recount)
	if hash != recount {
		t.Errorf("the list's hash is not the XOR of its identifiers' digests")
	}
	var byKept string
	mustScan(t, tx.QueryRow(ctx, `SELECT account_id::text FROM exclusions WHERE environment_id = $1 AND identifier = 'shared-before'`, env), &byKept)
	if byKept != kept {
		t.Errorf("shared-before now names account %s, want the account that put it there, %s", byKept, kept)
	}
	var version int64
	mustScan(t, tx.QueryRow(ctx, `SELECT version FROM exclusions WHERE environment_id = $1 AND identifier = 'forgotten-name'`, env), &version)
	if version != after.version {
		t.Errorf("forgotten-name came back at version %d, want the statement's %d", version, after.version)
	}
}

const (
	insertOneSQL = `INSERT INTO accounts (environment_id, role_id, slot, generation, status, email, username, identity, password_key_id, password_sealed, password_rotated_at)
VALUES ($1, $2, $3, 0, 'ready', $4, $5, '{}', 'k', '\x00', now()) RETURNING id::text`
	insertManySQL = `INSERT INTO accounts (environment_id, role_id, slot, generation, status, email, username, identity, password_key_id, password_sealed, password_rotated_at)
SELECT $1, $2, 10 + n, 0, 'ready', e, u, '{}', 'k', '\x00', now() FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS x (e, u, n)
ORDER BY n RETURNING id::text`
)

type listHead struct {
	version, size int64
	hash          string
}

func head(t *testing.T, tx pgx.Tx, env string) listHead {
	t.Helper()
	var h listHead
	mustScan(t, tx.QueryRow(context.Background(), `SELECT version, size, hash::text FROM exclusion_lists WHERE environment_id = $1`, env), &h.version, &h.size, &h.hash)
	return h
}

// entries returns the list's identifiers as "kind forgotten" by
// identifier, account ids replaced by the account's email (the two
// environments' lists name the same accounts).
func entries(t *testing.T, tx pgx.Tx, env string) map[string]string {
	t.Helper()
	rows, err := tx.Query(context.Background(), `SELECT CASE WHEN x.kind = 'account_id' THEN 'id of ' || a.email ELSE x.identifier END,
		x.kind || CASE WHEN x.forgotten THEN ' forgotten' ELSE '' END
		FROM exclusions x JOIN accounts a ON a.id = x.account_id WHERE x.environment_id = $1`, env)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no entries for environment %s", env)
	}
	return out
}

func mustScan(t *testing.T, row pgx.Row, dest ...any) {
	t.Helper()
	if err := row.Scan(dest...); err != nil {
		t.Fatal(err)
	}
}

func mustExec(t *testing.T, tx pgx.Tx, sql string, args ...any) {
	t.Helper()
	if _, err := tx.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}
