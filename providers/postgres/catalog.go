package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/providers"
)

// catalog is what the app database's catalog says about the tables the
// settings name: the users table first, then the per-user tables in
// settings order.
type catalog []catalogTable

// catalogTable is one table as the catalog describes it.
type catalogTable struct {
	exists     bool
	columns    []catalogColumn // in the table's order
	primaryKey []string        // in the key's order; empty without one
	// userKeyColumns are the columns that a foreign key ties to the users
	// table's key column.
	userKeyColumns []string
	// lacking are the privileges the provider needs on the table that the
	// connection's role does not hold.
	lacking []string
	// references are the positions (from 1: the users table, then the
	// per-user tables) of the other tables it references by a foreign key.
	references []int
}

// catalogColumn is one column of a table.
type catalogColumn struct {
	name, typ      string
	identityAlways bool // GENERATED ALWAYS AS IDENTITY: inserted, never updated
	generated      bool // GENERATED ALWAYS AS (…) STORED: never written
	unique         bool // a unique index covers this column alone
}

func (t catalogTable) column(name string) (catalogColumn, bool) {
	i := slices.IndexFunc(t.columns, func(c catalogColumn) bool { return c.name == name })
	if i < 0 {
		return catalogColumn{}, false
	}
	return t.columns[i], true
}

// privileges are what the provider needs on each table: it provisions
// and deletes users, and restores a user's rows by deleting, updating and
// inserting them.
var privileges = []string{"DELETE", "INSERT", "SELECT", "UPDATE"}

// readCatalog reads the catalog of the tables the settings name, in one
// round trip.
func (a *App) readCatalog(ctx context.Context) (catalog, error) {
	cat := make(catalog, len(a.sql.qualified))
	b := &pgx.Batch{}
	b.Queue(catalogTablesSQL, a.sql.qualified, a.sql.users, a.s.KeyColumn, privileges)
	b.Queue(catalogColumnsSQL, a.sql.qualified)
	br := a.pool.SendBatch(ctx, b)
	defer br.Close()
	rows, _ := br.Query()
	var i int
	var t catalogTable
	_, err := pgx.ForEachRow(rows, []any{&i, &t.exists, &t.primaryKey, &t.userKeyColumns, &t.lacking, &t.references}, func() error {
		cat[i-1] = t
		t = catalogTable{} // the next row's arrays are its own
		return nil
	})
	if err != nil {
		return nil, classify("reading the catalog's tables", err)
	}
	rows, _ = br.Query()
	var c catalogColumn
	_, err = pgx.ForEachRow(rows, []any{&i, &c.name, &c.typ, &c.identityAlways, &c.generated, &c.unique}, func() error {
		cat[i-1].columns = append(cat[i-1].columns, c)
		return nil
	})
	if err != nil {
		return nil, classify("reading the catalog's columns", err)
	}
	return cat, br.Close()
}

// problems are the settings that the catalog says cannot work, in
// settings order; none when the settings fit the app's schema.
func (a *App) problems(cat catalog) []*providers.ConfigError {
	var out []*providers.ConfigError
	add := func(field, format string, args ...any) {
		out = append(out, &providers.ConfigError{Field: "settings." + field, Detail: fmt.Sprintf(format, args...)})
	}
	users := cat[0]
	if !users.exists {
		add("users_table", "table %q does not exist in schema %q", a.s.UsersTable, a.s.Schema)
	} else {
		for _, p := range a.usersProbes() {
			c, ok := users.column(p.column)
			switch {
			case !ok:
				add(p.field, "column %q of table %q does not exist", p.column, a.s.UsersTable)
			case p.boolean && c.typ != "boolean":
				add(p.field, "column %q of table %q is %s, not boolean", p.column, a.s.UsersTable, c.typ)
			case p.unique && !c.unique:
				add(p.field, "column %q of table %q has no unique index of its own, which %s", p.column, a.s.UsersTable, p.why)
			}
		}
		if len(users.lacking) > 0 {
			add("users_table", "the connection's role lacks %s on table %q", strings.Join(users.lacking, ", "), a.s.UsersTable)
		}
	}
	for i, t := range a.s.Tables {
		out = append(out, a.tableProblems(i, t, cat[i+1])...)
	}
	return out
}

// usersProbe is a column of the users table that a setting names, and
// what it must be.
type usersProbe struct {
	field, column   string
	boolean, unique bool
	why             string // why it must be unique
}

func (a *App) usersProbes() []usersProbe {
	ps := []usersProbe{
		{field: "key_column", column: a.s.KeyColumn, unique: true, why: "a ref needs to name one user"},
		{field: "synthetic_column", column: a.s.SyntheticColumn, boolean: true},
	}
	if a.s.OwnerColumn != "" {
		ps = append(ps, usersProbe{field: "owner_column", column: a.s.OwnerColumn, unique: true, why: "provisioning needs"})
	}
	for _, field := range a.s.fields {
		ps = append(ps, usersProbe{field: "columns." + field, column: a.s.Columns[field]})
	}
	return ps
}

// tableProblems are the problems of tables[i]: it must exist, have a
// primary key, come after the tables it references (a restore inserts in
// settings order and deletes in reverse), and its user column must exist
// and have a foreign key to the users table's key, unless the settings
// vouch for it.
func (a *App) tableProblems(i int, t Table, ct catalogTable) []*providers.ConfigError {
	field := fmt.Sprintf("settings.tables[%d]", i)
	problem := func(suffix, format string, args ...any) *providers.ConfigError {
		return &providers.ConfigError{Field: field + suffix, Detail: fmt.Sprintf(format, args...)}
	}
	if !ct.exists {
		return []*providers.ConfigError{problem(".table", "table %q does not exist in schema %q", t.Table, a.s.Schema)}
	}
	var out []*providers.ConfigError
	if len(ct.primaryKey) == 0 {
		out = append(out, problem(".table", "table %q has no primary key, by which a restore matches its rows; add one", t.Table))
	}
	if _, ok := ct.column(t.UserColumn); !ok {
		out = append(out, problem(".user_column", "column %q of table %q does not exist", t.UserColumn, t.Table))
	} else if !t.UncheckedUserColumn && !slices.Contains(ct.userKeyColumns, t.UserColumn) {
		out = append(out, problem(".user_column", "column %q of table %q has no foreign key to %s(%s); add one, or set unchecked_user_column if the app truly has none",
			t.UserColumn, t.Table, a.s.UsersTable, a.s.KeyColumn))
	}
	for _, ref := range ct.references {
		// ref-2 is the referenced table's index in Tables; i+2 is this one's.
		if ref > i+2 {
			parent := a.s.Tables[ref-2].Table
			out = append(out, problem(".table", "table %q references table %q (tables[%d]) by a foreign key, so it must be listed after it: tables are in foreign-key order, parents first",
				t.Table, parent, ref-2))
		}
	}
	if len(ct.lacking) > 0 {
		out = append(out, problem(".table", "the connection's role lacks %s on table %q", strings.Join(ct.lacking, ", "), t.Table))
	}
	return out
}

// configErrors are several *providers.ConfigError as one error.
type configErrors []*providers.ConfigError

func (e configErrors) Error() string {
	msgs := make([]string, len(e))
	for i, ce := range e {
		msgs[i] = ce.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e configErrors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, ce := range e {
		errs[i] = ce
	}
	return errs
}
