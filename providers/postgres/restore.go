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
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/tracing"
)

// Restore writes what differs between the target's rows and the state's,
// in one transaction that first locks the user row and checks it: it
// deletes the rows the state lacks, updates those that changed and inserts
// those the app lacks, matching rows by their table's primary key, and
// leaves the others alone. On any error nothing is changed.
func (a *App) Restore(ctx context.Context, t providers.Target, s providers.State) error {
	_, err := a.restoreCapturing(ctx, t, s, false)
	return err
}

// RestoreSnapshot is Restore, then Snapshot in the restore's transaction:
// the capture rides in the batch of the writes, before their COMMIT, so it
// costs no round trip of its own.
func (a *App) RestoreSnapshot(ctx context.Context, t providers.Target, s providers.State) (providers.State, error) {
	return a.restoreCapturing(ctx, t, s, true)
}

func (a *App) restoreCapturing(ctx context.Context, t providers.Target, s providers.State, capture bool) (providers.State, error) {
	ctx, cancel := context.WithTimeout(ctx, a.s.lockTimeout+2*a.s.statementTimeout)
	defer cancel()
	var after []byte
	var into *[]byte
	if capture {
		into = &after
	}
	if err := a.restore(ctx, t, s, into); err != nil {
		return nil, a.fail("restoring "+t.Ref, err)
	}
	a.log.DebugContext(ctx, "restored a user", slog.String("app", a.name), slog.String("ref", t.Ref),
		slog.String("request_id", access.RequestID(ctx)))
	return after, nil
}

// restore writes the state; with capture set, it also captures the user
// as the writes left it, in the same transaction, into *capture.
func (a *App) restore(ctx context.Context, t providers.Target, s providers.State, capture *[]byte) error {
	// The state is read now and its errors reported after the target is
	// checked, so that a real user is reported as such whatever the state.
	st, stateErr := a.decodeState(s, t.Ref)
	l, fresh, err := a.loadLayout(ctx, false)
	if err != nil {
		return err
	}
	if stateErr == nil && !fresh && !l.knows(st, a.s.Tables) {
		if l, fresh, err = a.loadLayout(ctx, true); err != nil {
			return err
		}
	}
	for {
		err := a.inTx(ctx, func(c *pgxpool.Conn) error {
			var then batch
			var same sameness
			if stateErr == nil {
				then.compare(a.sql.same, t.Ref, st, a.s.Tables, &same)
			}
			if err := a.lock(ctx, c, t, a.sql.restoreLock, &then); err != nil {
				return err
			}
			if stateErr != nil {
				return stateErr
			}
			b := a.diff(l, t.Ref, st, same)
			if capture != nil {
				b.snapshot(a, t, a.sql.snapshot, capture)
			}
			b.commit()
			return a.run(ctx, c, b)
		})
		if fresh || !isSchemaChange(err) {
			return err
		}
		// The layout was read before the app's schema changed: read it
		// again and try once more.
		if l, fresh, err = a.loadLayout(ctx, true); err != nil {
			return err
		}
	}
}

// Deprovision locks and checks the target, then deletes its per-user rows
// (in reverse order, for apps whose foreign keys do not cascade) and its
// user row. A target already gone is not an error.
func (a *App) Deprovision(ctx context.Context, t providers.Target) error {
	ctx, cancel := context.WithTimeout(ctx, a.s.lockTimeout+2*a.s.statementTimeout)
	defer cancel()
	err := func() error {
		// The per-user deletes trust the user columns: only once the
		// catalog has vouched for them.
		if _, _, err := a.loadLayout(ctx, false); err != nil {
			return err
		}
		return a.inTx(ctx, func(c *pgxpool.Conn) error {
			if err := a.lock(ctx, c, t, a.sql.lock, nil); err != nil {
				return err
			}
			var b batch
			for i := len(a.s.Tables) - 1; i >= 0; i-- {
				b.exec("deleting from "+a.s.Tables[i].Table, a.sql.deleteRows[i], t.Ref)
			}
			b.exec("deleting user "+t.Ref, a.sql.deleteUser, t.Ref)
			b.commit()
			return a.run(ctx, c, &b)
		})
	}()
	switch {
	case errors.Is(err, providers.ErrNotFound):
		return nil
	case err != nil:
		return a.fail("deprovisioning "+t.Ref, err)
	}
	return nil
}

// inTx runs fn on one connection, in a transaction that fn begins with its
// first batch (lock) and commits with its last (batch.commit). A restore is
// on the path of every reset, where each round trip to the app counts:
// pgx.BeginFunc would spend one on BEGIN and one on COMMIT, on top of the
// lock's and the writes'. If fn fails, or its batch stopped before the
// commit, the transaction is rolled back; nothing is committed but by fn's
// last statement.
func (a *App) inTx(ctx context.Context, fn func(c *pgxpool.Conn) error) error {
	c, err := a.pool.Acquire(ctx)
	if err != nil {
		return classify("connecting", err)
	}
	defer c.Release()
	err = fn(c)
	if c.Conn().PgConn().TxStatus() != 'I' {
		// Rolled back even if the caller gave up; a connection that cannot
		// say ROLLBACK is not in state 'I' and the pool closes it on Release.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_, _ = c.Exec(rctx, "ROLLBACK")
	}
	return err
}

// lock begins the transaction, scopes its limits, then locks and checks
// the user row, and runs then's statements (reads that need the lock), in
// one round trip.
func (a *App) lock(ctx context.Context, c *pgxpool.Conn, t providers.Target, lockSQL string, then *batch) error {
	var b batch
	b.exec("beginning a transaction", "BEGIN")
	b.exec("setting the transaction's limits", setLocalSQL, millis(a.s.lockTimeout), millis(a.s.statementTimeout), applicationName(ctx),
		printable(access.RequestID(ctx), 200))
	b.Queue(lockSQL, t.Ref)
	b.steps = append(b.steps, step{"checking user " + t.Ref, func(br pgx.BatchResults) error {
		return a.check(t, br.QueryRow())
	}})
	if then != nil {
		b.QueuedQueries = append(b.QueuedQueries, then.QueuedQueries...)
		b.steps = append(b.steps, then.steps...)
	}
	return a.run(ctx, c, &b)
}

// sameness says which parts of a user are already a state's.
type sameness struct {
	user   bool
	tables []bool // per table, settings order
}

// compare queues sameSQL (statements.same) with user ref and the state's
// user and rows, to fill same.
func (b *batch) compare(sameSQL, ref string, st state, tables []Table, same *sameness) {
	args := []any{ref, string(st.user)}
	for _, t := range tables {
		args = append(args, st.tables[t.Table].rawOrEmpty())
	}
	b.Queue(sameSQL, args...)
	b.steps = append(b.steps, step{"comparing the user's rows with the state", func(br pgx.BatchResults) error {
		if err := br.QueryRow().Scan(&same.user, &same.tables); err != nil {
			return err
		}
		if len(same.tables) != len(tables) {
			return fmt.Errorf("%w: %d tables compared, want %d", providers.ErrProtocol, len(same.tables), len(tables))
		}
		return nil
	}})
}

// diff is the batch that makes the user's rows the state's, in the
// tables that differ (same): the deletes of the rows the state lacks,
// children first (reverse settings order), then the updates and inserts,
// parents first, then the update of the user row. Every statement
// compares by primary key in the database, so the batch is one round trip
// whatever the rows.
func (a *App) diff(l *layout, ref string, st state, same sameness) *batch {
	var b batch
	for i := len(a.s.Tables) - 1; i >= 0; i-- {
		if name := a.s.Tables[i].Table; !same.tables[i] {
			b.exec("deleting from "+name, l.deletes[i], ref, st.tables[name].rawOrEmpty())
		}
	}
	for i, t := range a.s.Tables {
		if rows := st.tables[t.Table]; !same.tables[i] && rows.count > 0 {
			b.scan("writing "+t.Table, l.upserts[i], rows.checkUpsert(t.Table), ref, string(rows.raw))
		}
	}
	if sql := l.updateUser(a.s, st.userKeys); sql != "" && !same.user {
		b.exec("updating user "+ref, sql, ref, string(st.user))
	}
	return &b
}

// batch is a pgx.Batch whose statements say what they do, for errors, and
// how their results are read and checked.
type batch struct {
	pgx.Batch
	steps []step
}

type step struct {
	what string
	read func(br pgx.BatchResults) error
}

// exec queues a statement whose result is only its success.
func (b *batch) exec(what, sql string, args ...any) {
	b.Queue(sql, args...)
	b.steps = append(b.steps, step{what, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return err
	}})
}

// scan queues a statement that returns one row of counts, which check
// judges.
func (b *batch) scan(what, sql string, check func(upserted) error, args ...any) {
	b.Queue(sql, args...)
	b.steps = append(b.steps, step{what, func(br pgx.BatchResults) error {
		var u upserted
		if err := br.QueryRow().Scan(&u.foreign, &u.repeated, &u.updated, &u.inserted); err != nil {
			return err
		}
		return check(u)
	}})
}

// snapshot queues snapshotSQL (statements.snapshot) for target t, whose
// checked document goes to *into.
func (b *batch) snapshot(a *App, t providers.Target, snapshotSQL string, into *[]byte) {
	b.Queue(snapshotSQL, append([]any{t.Ref}, a.sql.tableNames...)...)
	b.steps = append(b.steps, step{"snapshotting after the restore", func(br pgx.BatchResults) error {
		var synthetic bool
		var owner *string
		err := br.QueryRow().Scan(&synthetic, &owner, into)
		return a.checked(t, synthetic, owner, err)
	}})
}

// commit queues the COMMIT of the transaction. A COMMIT of a transaction
// that failed answers ROLLBACK, which is an error here.
func (b *batch) commit() {
	b.Queue("COMMIT")
	b.steps = append(b.steps, step{"committing", func(br pgx.BatchResults) error {
		tag, err := br.Exec()
		if err == nil && tag.String() != "COMMIT" {
			err = fmt.Errorf("%w: the transaction was rolled back (%s)", providers.ErrUnavailable, tag)
		}
		return err
	}})
}

func (a *App) run(ctx context.Context, c *pgxpool.Conn, b *batch) error {
	br := c.SendBatch(ctx, &b.Batch)
	defer br.Close()
	for _, s := range b.steps {
		if err := s.read(br); err != nil {
			return classify(s.what, err)
		}
	}
	return br.Close()
}

func millis(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// maxApplicationName is the longest application_name PostgreSQL keeps
// (NAMEDATALEN - 1 bytes); it truncates a longer one.
const maxApplicationName = 63

// applicationName names the transaction in pg_stat_activity and the
// server's logs (log_line_prefix %a): the W3C traceparent of the lease's
// work (55 bytes: 00-<trace id>-<span id>-<flags>) when ctx carries one,
// so the app's database joins the lease's trace; else "understudy" and the
// request id. Printable ASCII only, within PostgreSQL's 63 bytes.
func applicationName(ctx context.Context) string {
	if traceparent, _ := tracing.Headers(ctx); traceparent != "" && len(traceparent) <= maxApplicationName {
		return traceparent
	}
	id := access.RequestID(ctx)
	if id == "" {
		return "understudy"
	}
	return printable("understudy "+id, maxApplicationName)
}

// printable is s without its bytes outside printable ASCII, cut to at most
// n bytes.
func printable(s string, n int) string {
	clean := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
	return clean[:min(len(clean), n)]
}

// upserted is what upsertTemplate returns: how many of the state's rows
// do not belong to the user, how many repeat another's primary key, and
// how many were updated and inserted.
type upserted struct{ foreign, repeated, updated, inserted int }

// checkUpsert refuses a state whose rows of table name another user or
// repeat a key: the upsert wrote what it could, and the transaction is
// rolled back.
func (r rowsOf) checkUpsert(table string) func(upserted) error {
	return func(u upserted) error {
		switch {
		case u.foreign > 0:
			return refused("%d of the state's %d rows of %s do not belong to the user", u.foreign, r.count, table)
		case u.repeated > 0:
			return refused("%d of the state's %d rows of %s repeat the primary key of another", u.repeated, r.count, table)
		}
		return nil
	}
}
