package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy/providers"
)

// layout is what a restore writes with: the statements of each per-user
// table, built from the catalog (its columns and primary key). A provider
// reads the catalog once and keeps the layout; it reads it again when a
// state names a column the layout lacks, or when a write fails because the
// schema changed under it (see isSchemaChange).
type layout struct {
	deletes []string // per table, settings order: deleteMissingTemplate
	upserts []string // per table, settings order: upsertTemplate
	// userColumns are the users columns a restore may set: all but the
	// key, the marker, the owner and those the database writes itself.
	userColumns []string
	// updateAll updates every column of userColumns: a state's user object
	// has them all but when it was taken before one was added.
	updateAll string
	// columns are the column names of the users table, then of each
	// per-user table.
	columns []map[string]bool
}

// loadLayout returns the layout, read from the catalog when there is none
// yet or reload is set; fresh says it was just read. Settings that the
// catalog says cannot work are an error wrapping ErrProtocol and the
// *providers.ConfigError of each: nothing is restored or deleted through
// them, whether or not CheckConfig was called.
func (a *App) loadLayout(ctx context.Context, reload bool) (l *layout, fresh bool, err error) {
	if l := a.layout.Load(); l != nil && !reload {
		return l, false, nil
	}
	cat, err := a.readCatalog(ctx)
	if err != nil {
		return nil, false, err
	}
	if ps := a.problems(cat); len(ps) > 0 {
		a.layout.Store(nil)
		return nil, false, fmt.Errorf("%w: the settings do not fit the app's schema: %w", providers.ErrProtocol, configErrors(ps))
	}
	l = buildLayout(a.s, cat)
	a.layout.Store(l)
	return l, true, nil
}

func buildLayout(s settings, cat catalog) *layout {
	l := &layout{}
	for _, ct := range cat {
		names := map[string]bool{}
		for _, c := range ct.columns {
			names[c.name] = true
		}
		l.columns = append(l.columns, names)
	}
	for _, c := range cat[0].columns {
		switch c.name {
		case s.KeyColumn, s.SyntheticColumn, s.OwnerColumn:
			continue
		}
		if !c.generated && !c.identityAlways {
			l.userColumns = append(l.userColumns, c.name)
		}
	}
	l.updateAll = buildUpdateUser(s, l.userColumns)
	for i, t := range s.Tables {
		del, ups := tableStatements(s.Schema, t, cat[i+1], guardOf(i+2))
		l.deletes = append(l.deletes, del)
		l.upserts = append(l.upserts, ups)
	}
	return l
}

// tableStatements are the delete and the upsert of one per-user table,
// each run only when guard (guardOf) holds.
func tableStatements(schema string, t Table, ct catalogTable, guard string) (del, upsert string) {
	var writable, updates []string
	for _, c := range ct.columns {
		if c.generated {
			continue
		}
		writable = append(writable, c.name)
		if !c.identityAlways && c.name != t.UserColumn && !slices.Contains(ct.primaryKey, c.name) {
			updates = append(updates, c.name)
		}
	}
	ids := map[string]pgx.Identifier{"table": {schema, t.Table}, "user_column": {t.UserColumn}}
	match := keyMatch(ct.primaryKey)
	_, rKey := columnLists(ct.primaryKey, "r")
	update := noUpdateSQL
	if len(updates) > 0 {
		plain, prefixed := columnLists(updates, "r")
		update = quote(updateRowsTemplate, ids, map[string]string{
			"updates": plain, "r_updates": prefixed[0], "match": match,
			"t_text": asText("t", updates), "r_text": asText("r", updates),
		})
	}
	plain, prefixed := columnLists(writable, "r")
	upsert = quote(upsertTemplate, ids, map[string]string{
		"update": update, "columns": plain, "r_columns": prefixed[0], "match": match, "r_key": rKey[0], "guard": guard,
	})
	return quote(deleteMissingTemplate, ids, map[string]string{"match": match, "guard": guard}), upsert
}

// knows reports whether every column that st names is in the layout: a
// state taken after a column was added to the app needs a layout that
// writes it.
func (l *layout) knows(st state, tables []Table) bool {
	if !subset(st.userKeys, l.columns[0]) {
		return false
	}
	for i, t := range tables {
		if !subset(st.tables[t.Table].keys, l.columns[i+1]) {
			return false
		}
	}
	return true
}

func subset(keys, of map[string]bool) bool {
	for k := range keys {
		if !of[k] {
			return false
		}
	}
	return true
}

// updateUser is the update of the user row from the state's user object,
// which sets the columns the object has; "" when it has none of them.
func (l *layout) updateUser(s settings, inState map[string]bool) string {
	var names []string
	for _, c := range l.userColumns {
		if inState[c] {
			names = append(names, c)
		}
	}
	if len(names) == len(l.userColumns) {
		return l.updateAll
	}
	return buildUpdateUser(s, names)
}

func buildUpdateUser(s settings, names []string) string {
	if len(names) == 0 {
		return ""
	}
	plain, prefixed := columnLists(names, "r")
	return quote(updateUserTemplate, map[string]pgx.Identifier{
		"users": {s.Schema, s.UsersTable}, "key": {s.KeyColumn},
	}, map[string]string{
		"columns": plain, "r_columns": prefixed[0], "u_text": asText("u", names), "r_text": asText("r", names), "guard": guardOf(1),
	})
}

// isSchemaChange reports whether err says that a statement of the layout
// no longer fits the app's schema: a table or column was dropped or
// renamed, or a column's type changed.
func isSchemaChange(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && strings.HasPrefix(pgErr.Code, "42") && pgErr.Code != "42501"
}
