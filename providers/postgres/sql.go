package postgres

import (
	"fmt"
	"strconv"
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

	// restoreSnapshotTemplate is the capture of a restore (RestoreSnapshot),
	// which reads nothing of a user that the restore's guard refused
	// (guardTemplate): the batch that sends it runs whole.
	restoreSnapshotTemplate = snapshotTemplate + ` AND current_setting('understudy.restore', true) <> ''`

	// snapshotTableTemplate is one table's rows, in the order of their
	// text form: any stable order will do, and this one needs no key.
	snapshotTableTemplate = `{name}::text, (SELECT coalesce(json_agg(t.* ORDER BY (t.*)::text), '[]'::json) FROM {table} AS t WHERE t.{user_column} = u.{key})`

	// guardTemplate is what a restore decides in the SQL of its one round
	// trip, once the user row is locked (restoreLockTemplate): whether the
	// user is a synthetic user that the account owns ({owned}), and which
	// parts of the user are already those of the state: the user row
	// against the state's user object ($2), then each table ({tables}, a
	// list of sameTableTemplate). It tells the writes that follow it in the
	// batch through the transaction's setting understudy.restore: "" when
	// the user is not to be written, so that no write runs, else one
	// character per part, '1' when it is already the state's, '0' when it
	// differs; each write runs only when its character is '0'
	// (guardCondition). Both sides of the comparison go through jsonb and
	// back to text, which orders keys and spaces alike but keeps every
	// number as written (1.50 is not 1.5), so "same" means the very same
	// values. Its check takes the user row's lock as well, so that a user
	// that the lock did not find and that was inserted since is not
	// written unlocked. It returns the setting, which the caller checks.
	guardTemplate = `SELECT set_config('understudy.restore', CASE WHEN g.ok THEN g.same_user::int::text || array_to_string(g.same_tables::int[], '') ELSE '' END, true)
FROM (SELECT coalesce((SELECT u.{synthetic} IS TRUE AND {owned} FROM {users} AS u WHERE u.{key} = $1 FOR NO KEY UPDATE OF u), false) AS ok,
	coalesce((SELECT to_jsonb(u.*)::text FROM {users} AS u WHERE u.{key} = $1) = $2::jsonb::text, false) AS same_user,
	ARRAY[{tables}]::boolean[] AS same_tables) AS g`

	// sameTableTemplate is one table's rows, in the snapshot's order,
	// compared with the state's ({name}).
	sameTableTemplate = `coalesce((SELECT jsonb_agg(to_jsonb(t.*) ORDER BY (t.*)::text)::text FROM {table} AS t WHERE t.{user_column} = $1), '[]') = {name}::jsonb::text`

	// guardCondition is true when the part of the user at position {part}
	// of understudy.restore (guardTemplate) is to be written: a condition
	// on no row, which PostgreSQL evaluates once, before the statement
	// reads anything. Outside a restore's transaction the setting is unset
	// and the condition false.
	guardCondition = `substr(current_setting('understudy.restore', true), {part}, 1) = '0'`

	// provisionTemplate inserts a synthetic user, or with an owner column
	// finds the one provisioned before ({conflict}).
	provisionTemplate = `INSERT INTO {users} AS u ({columns}) VALUES ({values}) {conflict}RETURNING u.{key}::text, u.{synthetic} IS TRUE`
	conflictTemplate  = `ON CONFLICT ({owner_column}) DO UPDATE SET {owner_column} = EXCLUDED.{owner_column} `

	// setLocalSQL scopes the timeouts, the application name (which
	// carries the trace context, or the request id, to pg_stat_activity
	// and the server's log: see applicationName) and understudy.request_id
	// (the request id, for the app's triggers and logs) to the transaction.
	setLocalSQL = `SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true), set_config('application_name', $3, true),
	set_config('understudy.request_id', $4, true)`

	// catalogTablesSQL reads, for each table of $1 (quoted, qualified
	// names), numbered from 1 in that order: whether it exists, the columns
	// of its primary key in key order, the columns that a foreign key ties
	// to column $3 of table $2 (the users table's key), which of the
	// privileges $4 the connection's role lacks on it, and the numbers of
	// the other tables of $1 that it references by a foreign key. Names are
	// resolved in the settings' schema, never the search_path.
	catalogTablesSQL = `SELECT t.i::int, c.oid IS NOT NULL,
	coalesce((SELECT array_agg(a.attname::text ORDER BY k.n)
		FROM pg_catalog.pg_index AS x
		CROSS JOIN unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
		JOIN pg_catalog.pg_attribute AS a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
		WHERE x.indrelid = c.oid AND x.indisprimary), '{}'),
	coalesce((SELECT array_agg(DISTINCT a.attname::text)
		FROM pg_catalog.pg_constraint AS f
		CROSS JOIN unnest(f.conkey, f.confkey) AS k(attnum, fattnum)
		JOIN pg_catalog.pg_attribute AS a ON a.attrelid = f.conrelid AND a.attnum = k.attnum
		JOIN pg_catalog.pg_attribute AS fa ON fa.attrelid = f.confrelid AND fa.attnum = k.fattnum
		WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid = to_regclass($2) AND fa.attname = $3), '{}'),
	coalesce((SELECT array_agg(p ORDER BY p) FROM unnest($4::text[]) AS p
		WHERE c.oid IS NOT NULL AND NOT has_table_privilege(c.oid, p)), '{}'),
	coalesce((SELECT array_agg(DISTINCT o.i::int ORDER BY o.i::int)
		FROM pg_catalog.pg_constraint AS f
		JOIN unnest($1::text[]) WITH ORDINALITY AS o(name, i) ON to_regclass(o.name) = f.confrelid
		WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid <> c.oid), '{}')
FROM unnest($1::text[]) WITH ORDINALITY AS t(name, i)
LEFT JOIN pg_catalog.pg_class AS c ON c.oid = to_regclass(t.name)
ORDER BY t.i`

	// catalogColumnsSQL lists the columns of each table of $1, numbered as
	// in catalogTablesSQL: name, type, whether it is an identity column
	// GENERATED ALWAYS or a generated column, and whether a unique index
	// covers it alone.
	catalogColumnsSQL = `SELECT t.i::int, a.attname::text, format_type(a.atttypid, a.atttypmod),
	a.attidentity = 'a', a.attgenerated <> '',
	EXISTS (SELECT FROM pg_catalog.pg_index AS x WHERE x.indrelid = a.attrelid AND x.indisunique
		AND x.indnatts = 1 AND x.indkey[0] = a.attnum AND x.indpred IS NULL)
FROM unnest($1::text[]) WITH ORDINALITY AS t(name, i)
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = to_regclass(t.name)
WHERE a.attnum > 0 AND NOT a.attisdropped
ORDER BY t.i, a.attnum`

	// deleteRowsTemplate deletes all of a user's rows of a table (Deprovision).
	deleteRowsTemplate = `DELETE FROM {table} AS t WHERE t.{user_column} = $1`

	// deleteMissingTemplate deletes the user's rows of a table whose
	// primary key ({match}: r.k = t.k AND …) is not among the state's rows
	// ($2).
	deleteMissingTemplate = `DELETE FROM {table} AS t WHERE {guard} AND t.{user_column} = $1
AND NOT EXISTS (SELECT FROM json_populate_recordset(NULL::{table}, $2::json) AS r WHERE {match})`

	// upsertTemplate writes the state's rows of a table ($2) that differ:
	// it updates the user's rows whose primary key is in the state and whose
	// columns are not, and inserts the state's rows whose key the user has
	// no row with. Rows that are the same are not written. A state with rows
	// that do not belong to the user, or that repeat a key, is refused with
	// an error, which rolls back the transaction: the statement fails with
	// refusedPrefix and the two counts (see refusal). {update} is
	// updateRowsTemplate, or a CTE that updates nothing when the table has
	// no column to update.
	upsertTemplate = `WITH r AS (SELECT r.* FROM json_populate_recordset(NULL::{table}, $2::json) AS r WHERE {guard}),
u AS ({update}),
i AS (INSERT INTO {table} ({columns}) OVERRIDING SYSTEM VALUE
	SELECT {r_columns} FROM r WHERE r.{user_column} = $1
	AND NOT EXISTS (SELECT FROM {table} AS t WHERE t.{user_column} = $1 AND {match})
	RETURNING 1)
SELECT (SELECT count(*) FROM u)::int, (SELECT count(*) FROM i)::int
FROM (SELECT (SELECT count(*) FROM r WHERE r.{user_column} IS DISTINCT FROM $1) AS others,
	(SELECT count(*) - count(DISTINCT ({r_key})) FROM r) AS repeated) AS c
WHERE CASE WHEN c.others = 0 AND c.repeated = 0 THEN true
	ELSE format('` + refusedPrefix + ` %s %s', c.others, c.repeated)::int IS NULL END`

	// refusedPrefix starts the text that upsertTemplate fails to read as
	// an integer to refuse a state: PostgreSQL has no statement that
	// raises an error outside PL/pgSQL, which a provider does not install
	// in an app's database.
	refusedPrefix = "understudy-refused:"

	// updateRowsTemplate is the update of upsertTemplate; {t_text} and
	// {r_text} compare the columns as text, which every type has (json
	// and point have no equality).
	updateRowsTemplate = `UPDATE {table} AS t SET ({updates}) = ROW({r_updates}) FROM r
	WHERE t.{user_column} = $1 AND r.{user_column} = $1 AND {match}
	AND ROW({t_text}) IS DISTINCT FROM ROW({r_text})
	RETURNING 1`
	noUpdateSQL = `SELECT 1 WHERE false`

	// updateUserTemplate sets the user row's columns from the state's user
	// object ($2) when they differ.
	updateUserTemplate = `UPDATE {users} AS u SET ({columns}) = ROW({r_columns})
FROM json_populate_record(NULL::{users}, $2::json) AS r
WHERE {guard} AND u.{key} = $1 AND ROW({u_text}) IS DISTINCT FROM ROW({r_text})`

	deleteUserTemplate = `DELETE FROM {users} AS u WHERE u.{key} = $1`
)

// statements are the statements of one provider, built at construction.
// Those that depend on the catalog's columns and keys are in a layout.
type statements struct {
	users       string // quoted, qualified users table
	verify      string
	lock        string
	restoreLock string
	snapshot    string
	// restoreSnapshot is restoreSnapshotTemplate.
	restoreSnapshot string
	guard           string
	provision       string
	deleteUser      string
	// tableNames are the snapshot's parameters after the ref: the tables'
	// names as they appear in a state.
	tableNames []any
	// qualified are the quoted, qualified names of the users table and
	// then the per-user tables, for the catalog's queries.
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
	same := make([]string, len(s.Tables))
	for i, t := range s.Tables {
		tids := map[string]pgx.Identifier{
			"table":       {s.Schema, t.Table},
			"user_column": {t.UserColumn},
			"key":         {s.KeyColumn},
		}
		parts[i] = quote(snapshotTableTemplate, tids, map[string]string{"name": fmt.Sprintf("$%d", i+2)})
		same[i] = quote(sameTableTemplate, tids, map[string]string{"name": fmt.Sprintf("$%d", i+3)})
		st.tableNames = append(st.tableNames, t.Table)
		st.qualified = append(st.qualified, tids["table"].Sanitize())
		st.deleteRows = append(st.deleteRows, quote(deleteRowsTemplate, tids, nil))
	}
	owner["tables"] = strings.Join(parts, ",\n\t\t")
	st.snapshot = quote(snapshotTemplate, ids, owner)
	st.restoreSnapshot = quote(restoreSnapshotTemplate, ids, owner)
	owned := "true"
	if s.OwnerColumn != "" {
		owned = "u." + pgx.Identifier{s.OwnerColumn}.Sanitize() + fmt.Sprintf("::text = $%d", len(s.Tables)+3)
	}
	st.guard = quote(guardTemplate, ids, map[string]string{"tables": strings.Join(same, ",\n\t\t"), "owned": owned})
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

// columnLists renders columns as "a", "b" and as p."a", p."b" for each
// prefix p.
func columnLists(columns []string, prefixes ...string) (plain string, prefixed []string) {
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	for _, p := range prefixes {
		withP := make([]string, len(quoted))
		for i, q := range quoted {
			withP[i] = p + "." + q
		}
		prefixed = append(prefixed, strings.Join(withP, ", "))
	}
	return strings.Join(quoted, ", "), prefixed
}

// asText renders columns as p."a"::text, p."b"::text, to compare rows of
// any column types.
func asText(prefix string, columns []string) string {
	parts := make([]string, len(columns))
	for i, c := range columns {
		parts[i] = prefix + "." + pgx.Identifier{c}.Sanitize() + "::text"
	}
	return strings.Join(parts, ", ")
}

// keyMatch renders r."a" = t."a" AND r."b" = t."b" for the key columns.
func keyMatch(key []string) string {
	parts := make([]string, len(key))
	for i, c := range key {
		q := pgx.Identifier{c}.Sanitize()
		parts[i] = "r." + q + " = t." + q
	}
	return strings.Join(parts, " AND ")
}

// guardOf is guardCondition for the part of the user at position part
// (1: the user row, 2…: the tables in settings order).
func guardOf(part int) string {
	return strings.Replace(guardCondition, "{part}", strconv.Itoa(part), 1)
}
