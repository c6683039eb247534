package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy/providers"
)

// column is a column a restore may write.
type column struct {
	name           string
	identityAlways bool // GENERATED ALWAYS AS IDENTITY: inserted, never updated
}

// Restore replaces the target's rows with the state's, in one transaction
// that first locks the user row and checks it. On any error nothing is
// changed.
func (a *App) Restore(ctx context.Context, t providers.Target, s providers.State) error {
	ctx, cancel := context.WithTimeout(ctx, a.s.lockTimeout+2*a.s.statementTimeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		columns, err := a.lock(ctx, tx, t, a.sql.restoreLock)
		if err != nil {
			return err
		}
		// The state is read after the target is checked, so that a real
		// user is reported as such whatever the state.
		st, err := a.decodeState(s, t.Ref)
		if err != nil {
			return err
		}
		return a.replace(ctx, tx, t.Ref, st, columns)
	})
	if err != nil {
		return a.fail("restoring "+t.Ref, err)
	}
	a.log.DebugContext(ctx, "restored a user", slog.String("app", a.name), slog.String("ref", t.Ref),
		slog.String("request_id", providers.RequestID(ctx)))
	return nil
}

// Deprovision locks and checks the target, then deletes its per-user rows
// (in reverse order, for apps whose foreign keys do not cascade) and its
// user row. A target already gone is not an error.
func (a *App) Deprovision(ctx context.Context, t providers.Target) error {
	ctx, cancel := context.WithTimeout(ctx, a.s.lockTimeout+2*a.s.statementTimeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		if _, err := a.lock(ctx, tx, t, a.sql.lock); err != nil {
			return err
		}
		var b batch
		a.queueDeletes(&b, t.Ref)
		b.queue("deleting user "+t.Ref, a.sql.deleteUser, nil, t.Ref)
		return a.run(ctx, tx, &b)
	})
	switch {
	case errors.Is(err, providers.ErrNotFound):
		return nil
	case err != nil:
		return a.fail("deprovisioning "+t.Ref, err)
	}
	return nil
}

// lock scopes the transaction's limits, locks and checks the user row, and
// reads the columns a restore may write (users table first), in one round
// trip.
func (a *App) lock(ctx context.Context, tx pgx.Tx, t providers.Target, lockSQL string) ([][]column, error) {
	b := &pgx.Batch{}
	b.Queue(setLocalSQL, millis(a.s.lockTimeout), millis(a.s.statementTimeout), applicationName(ctx))
	b.Queue(lockSQL, t.Ref)
	b.Queue(columnsSQL, a.sql.qualified)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, classify("setting the transaction's limits", err)
	}
	if err := a.check(t, br.QueryRow()); err != nil {
		return nil, err
	}
	rows, _ := br.Query()
	columns := make([][]column, len(a.sql.qualified))
	var i int
	var c column
	_, err := pgx.ForEachRow(rows, []any{&i, &c.name, &c.identityAlways}, func() error {
		columns[i-1] = append(columns[i-1], c)
		return nil
	})
	if err != nil {
		return nil, classify("reading the tables' columns", err)
	}
	for i, cols := range columns {
		if len(cols) == 0 {
			return nil, fmt.Errorf("table %s: %w: it does not exist (or has no columns)", a.sql.qualified[i], providers.ErrProtocol)
		}
	}
	return columns, br.Close()
}

// replace deletes the user's rows in reverse order, inserts the state's in
// settings order and updates the user row, in one round trip.
func (a *App) replace(ctx context.Context, tx pgx.Tx, ref string, st state, columns [][]column) error {
	var b batch
	a.queueDeletes(&b, ref)
	for i, t := range a.s.Tables {
		rows := st.tables[t.Table]
		if rows.count == 0 {
			continue
		}
		names := make([]string, len(columns[i+1]))
		for j, c := range columns[i+1] {
			names[j] = c.name
		}
		plain, fromR := columnLists(names)
		sql := quote(insertRowsTemplate, map[string]pgx.Identifier{
			"table": {a.s.Schema, t.Table}, "user_column": {t.UserColumn},
		}, map[string]string{"columns": plain, "r_columns": fromR})
		b.queue("inserting into "+t.Table, sql, rows.wantCount(t.Table), string(rows.raw), ref)
	}
	if names := a.updatable(columns[0], st.userKeys); len(names) > 0 {
		plain, fromR := columnLists(names)
		sql := quote(updateUserTemplate, map[string]pgx.Identifier{
			"users": {a.s.Schema, a.s.UsersTable}, "key": {a.s.KeyColumn},
		}, map[string]string{"columns": plain, "r_columns": fromR})
		b.queue("updating user "+ref, sql, nil, ref, string(st.user))
	}
	return a.run(ctx, tx, &b)
}

// updatable are the users columns that a restore sets: those of the
// state's user object that the table has, less the key, the marker and the
// owner, which a state never changes.
func (a *App) updatable(columns []column, inState map[string]bool) []string {
	var names []string
	for _, c := range columns {
		switch c.name {
		case a.s.KeyColumn, a.s.SyntheticColumn, a.s.OwnerColumn:
			continue
		}
		if inState[c.name] && !c.identityAlways {
			names = append(names, c.name)
		}
	}
	return names
}

func (a *App) queueDeletes(b *batch, ref string) {
	for i := len(a.s.Tables) - 1; i >= 0; i-- {
		b.queue("deleting from "+a.s.Tables[i].Table, a.sql.deleteRows[i], nil, ref)
	}
}

// batch is a pgx.Batch whose statements say what they do, for errors, and
// may check their command tag.
type batch struct {
	pgx.Batch
	what   []string
	checks []func(pgconn.CommandTag) error
}

func (b *batch) queue(what, sql string, check func(pgconn.CommandTag) error, args ...any) {
	b.Queue(sql, args...)
	b.what = append(b.what, what)
	b.checks = append(b.checks, check)
}

func (a *App) run(ctx context.Context, tx pgx.Tx, b *batch) error {
	br := tx.SendBatch(ctx, &b.Batch)
	defer br.Close()
	for i, what := range b.what {
		tag, err := br.Exec()
		if err != nil {
			return classify(what, err)
		}
		if check := b.checks[i]; check != nil {
			if err := check(tag); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
	}
	return br.Close()
}

func millis(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// applicationName carries the request id into pg_stat_activity and the
// server's logs: printable ASCII only, within PostgreSQL's 63 bytes.
func applicationName(ctx context.Context) string {
	id := providers.RequestID(ctx)
	if id == "" {
		return "understudy"
	}
	clean := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, id)
	name := "understudy " + clean
	return name[:min(len(name), 63)]
}

// wantCount checks that an insert wrote every row of the state: the insert
// keeps only the rows that reference the target user.
func (r rowsOf) wantCount(table string) func(pgconn.CommandTag) error {
	return func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() != int64(r.count) {
			return fmt.Errorf("%w: %d of the state's %d rows of %s do not belong to the user", providers.ErrRefused, int64(r.count)-tag.RowsAffected(), r.count, table)
		}
		return nil
	}
}
