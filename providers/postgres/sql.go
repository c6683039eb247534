package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The statements, one template per statement. A {name} in a template is an
// identifier from the settings or from the catalog, quoted with
// pgx.Identifier before it is put in (quote); values are always
// parameters. The replacement is one pass, so a quoted name that happens to
// contain "{key}" is not expanded again.
//
// Row variables are written t.* and u.*, never a bare t or u, because a
// bare name means a column when the table has a column of that name.
const (
	// verifyTemplate reads what Verify checks. {owner} is the owner column
	// as text, or NULL.
	verifyTemplate = `SELECT u.{synthetic} IS TRUE, {owner} FROM {users} AS u WHERE u.{key} = $1`

	// lockTemplate is verifyTemplate taking the user row's lock, so that
	// concurrent restores and deprovisions of one user queue. Deprovision
	// deletes the row, so it takes FOR UPDATE.
	lockTemplate = verifyTemplate + ` FOR UPDATE OF u`

	// restoreLockTemplate is the lock a restore takes: FOR NO KEY UPDATE
	// still queues concurrent restores of one user, but unlike FOR UPDATE it
	// does not block the FOR KEY SHARE lock that foreign-key checks take, so
	// two users whose rows point at each other (a follows b, b follows a)
	// can be restored at once without a deadlock. A restore never changes
	// the user's key.
	restoreLockTemplate = verifyTemplate + ` FOR NO KEY UPDATE OF u`

	// snapshotTemplate checks and captures a user in one statement, so the
	// capture is consistent across tables. {tables} is a list of
	// snapshotTableTemplate; json (not jsonb) keeps the keys in that order.
	snapshotTemplate = `SELECT u.{synthetic} IS TRUE, {owner},
	json_build_object('user', row_to_json(u.*), 'tables', json_build_object({tables}))
FROM {users} AS u WHERE u.{key} = $1`

	// snapshotTableTemplate is one table's rows, in the order of their
	// text form: any stable order will do, and this one needs no key.
	snapshotTableTemplate = `{name}::text, (SELECT coalesce(json_agg(t.* ORDER BY (t.*)::text), '[]'::json) FROM {table} AS t WHERE t.{user_column} = u.{key})`

	// provisionTemplate inserts a synthetic user, or with an owner column
	// finds the one provisioned before ({conflict}).
	provisionTemplate = `INSERT INTO {users} AS u ({columns}) VALUES ({values}) {conflict}RETURNING u.{key}::text, u.{synthetic} IS TRUE`
	conflictTemplate  = `ON CONFLICT ({owner_column}) DO UPDATE SET {owner_column} = EXCLUDED.{owner_column} `

	// setLocalSQL scopes the timeouts and the application name (which
	// carries the request id to pg_stat_activity and the server's log) to
	// the transaction.
	setLocalSQL = `SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true), set_config('application_name', $3, true)`

	// columnsSQL lists the columns a restore may write, of each table
	// named in $1 (quoted, qualified names), numbered from 1 in that order.
	// Generated columns are left out; identity columns are written with
	// OVERRIDING SYSTEM VALUE, and never updated.
	columnsSQL = `SELECT t.i::int, a.attname::text, a.attidentity = 'a'
FROM unnest($1::text[]) WITH ORDINALITY AS t(name, i)
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = to_regclass(t.name)
WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY t.i, a.attnum`

	deleteRowsTemplate = `DELETE FROM {table} AS t WHERE t.{user_column} = $1`

	// insertRowsTemplate writes a table's rows from the state, keeping only
	// those that belong to the user: the caller compares the count.
	insertRowsTemplate = `INSERT INTO {table} AS t ({columns}) OVERRIDING SYSTEM VALUE
SELECT {r_columns} FROM json_populate_recordset(NULL::{table}, $1::json) AS r WHERE r.{user_column}::text = $2`

	updateUserTemplate = `UPDATE {users} AS u SET ({columns}) = (SELECT {r_columns} FROM json_populate_record(NULL::{users}, $2::json) AS r) WHERE u.{key} = $1`

	deleteUserTemplate = `DELETE FROM {users} AS u WHERE u.{key} = $1`

	// testSQL reads, for each (table, column, privileges) of $1, $2, $3,
	// whether the table and the column exist, the column's type, whether a
	// unique index covers that column alone, and whether the role holds
	// every privilege listed.
	testSQL = `SELECT to_regclass(c.tbl) IS NOT NULL, a.attname IS NOT NULL,
	coalesce(format_type(a.atttypid, a.atttypmod), ''),
	EXISTS (SELECT FROM pg_catalog.pg_index AS x WHERE x.indrelid = a.attrelid AND x.indisunique
		AND x.indnatts = 1 AND x.indkey[0] = a.attnum AND x.indpred IS NULL),
	to_regclass(c.tbl) IS NULL OR coalesce((SELECT bool_and(has_table_privilege(to_regclass(c.tbl), p))
		FROM unnest(string_to_array(c.privs, ',')) AS p), true)
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS c(tbl, col, privs, i)
LEFT JOIN pg_catalog.pg_attribute AS a
	ON a.attrelid = to_regclass(c.tbl) AND a.attname = c.col AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.i`
)

// statements are the statements of one provider, built at construction.
// Those that depend on the catalog's columns are built per restore.
type statements struct {
	users       string // quoted, qualified users table
	verify      string
	lock        string
	restoreLock string
	snapshot    string
	provision   string
	deleteUser  string
	// tableNames are the snapshot's parameters after the ref: the tables'
	// names as they appear in a state.
	tableNames []any
	// qualified are the quoted, qualified names of the users table and
	// then the per-user tables, for columnsSQL and testSQL.
	qualified  []string
	deleteRows []string // per table, in settings order
}

// quote renders template with each {name} replaced by identifiers[name]
// quoted, and each {name} in raw by raw[name] as it is (SQL built here).
func quote(template string, identifiers map[string]pgx.Identifier, raw map[string]string) string {
	pairs := make([]string, 0, 2*(len(identifiers)+len(raw)))
	for k, id := range identifiers {
		pairs = append(pairs, "{"+k+"}", id.Sanitize())
	}
	for k, s := range raw {
		pairs = append(pairs, "{"+k+"}", s)
	}
	return strings.NewReplacer(pairs...).Replace(template)
}

func buildStatements(s settings) statements {
	users := pgx.Identifier{s.Schema, s.UsersTable}
	ids := map[string]pgx.Identifier{
		"users":     users,
		"key":       {s.KeyColumn},
		"synthetic": {s.SyntheticColumn},
	}
	owner := map[string]string{"owner": "NULL::text"}
	if s.OwnerColumn != "" {
		owner["owner"] = "u." + pgx.Identifier{s.OwnerColumn}.Sanitize() + "::text"
	}
	st := statements{
		users:       users.Sanitize(),
		verify:      quote(verifyTemplate, ids, owner),
		lock:        quote(lockTemplate, ids, owner),
		restoreLock: quote(restoreLockTemplate, ids, owner),
		deleteUser:  quote(deleteUserTemplate, ids, nil),
		qualified:   []string{users.Sanitize()},
	}
	parts := make([]string, len(s.Tables))
	for i, t := range s.Tables {
		tids := map[string]pgx.Identifier{
			"table":       {s.Schema, t.Table},
			"user_column": {t.UserColumn},
			"key":         {s.KeyColumn},
		}
		parts[i] = quote(snapshotTableTemplate, tids, map[string]string{"name": fmt.Sprintf("$%d", i+2)})
		st.tableNames = append(st.tableNames, t.Table)
		st.qualified = append(st.qualified, tids["table"].Sanitize())
		st.deleteRows = append(st.deleteRows, quote(deleteRowsTemplate, tids, nil))
	}
	owner["tables"] = strings.Join(parts, ",\n\t\t")
	st.snapshot = quote(snapshotTemplate, ids, owner)
	st.provision = buildProvision(s, ids)
	return st
}

// buildProvision writes the mapped columns from $1…$n, then the synthetic
// marker, then the owner from the last parameter.
func buildProvision(s settings, ids map[string]pgx.Identifier) string {
	var cols, vals []string
	for i, field := range s.fields {
		cols = append(cols, pgx.Identifier{s.Columns[field]}.Sanitize())
		vals = append(vals, fmt.Sprintf("$%d", i+1))
	}
	cols = append(cols, pgx.Identifier{s.SyntheticColumn}.Sanitize())
	vals = append(vals, "true")
	raw := map[string]string{"conflict": ""}
	if s.OwnerColumn != "" {
		cols = append(cols, pgx.Identifier{s.OwnerColumn}.Sanitize())
		vals = append(vals, fmt.Sprintf("$%d", len(s.fields)+1))
		raw["conflict"] = quote(conflictTemplate, map[string]pgx.Identifier{"owner_column": {s.OwnerColumn}}, nil)
	}
	raw["columns"] = strings.Join(cols, ", ")
	raw["values"] = strings.Join(vals, ", ")
	return quote(provisionTemplate, ids, raw)
}

// columnLists renders columns as "a", "b" and as r."a", r."b".
func columnLists(columns []string) (plain, fromR string) {
	p := make([]string, len(columns))
	r := make([]string, len(columns))
	for i, c := range columns {
		p[i] = pgx.Identifier{c}.Sanitize()
		r[i] = "r." + p[i]
	}
	return strings.Join(p, ", "), strings.Join(r, ", ")
}
