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
// as the writes left it, in the same transaction, into *capture. It is one
// round trip to the app: the lock and check of the user, the comparison,
// the writes of the parts that differ, the capture and the COMMIT, in one
// batch (see guardTemplate: the check and the comparison decide in SQL
// which writes run).
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
			if stateErr != nil {
				if err := a.lock(ctx, c, t, a.sql.restoreLock, nil); err != nil {
					return err
				}
				return stateErr
			}
			b := a.writes(l, t, st)
			if capture != nil {
				b.snapshot(a, t, a.sql.restoreSnapshot, capture)
			}
			b.commit()
			return a.lock(ctx, c, t, a.sql.restoreLock, b)
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
// lock's and the writes'. If fn's batch stopped before its COMMIT, the
// transaction is rolled back; nothing is committed but by fn's last
// statement. A batch sent whole runs to its COMMIT even when fn then
// fails on a result it reads (a check of the user that failed): such a
// batch must not write unless the database itself allows it (a restore's
// guard, see guardTemplate).
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
// the user row, and runs then's statements (what needs the lock: a
// restore's guard, writes, capture and COMMIT), in one round trip.
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

// writes is the batch that makes the user's rows the state's, sent after
// the lock in its round trip: first the guard (guardTemplate), which
// checks the user and tells which of its parts differ from the state, then
// the deletes of the rows the state lacks, children first (reverse
// settings order), the updates and inserts, parents first, and the update
// of the user row, each of which runs only when the guard found its part
// to differ. Every statement compares by primary key in the database, so
// the batch is the same whatever the rows.
func (a *App) writes(l *layout, t providers.Target, st state) *batch {
	var b batch
	args := []any{t.Ref, string(st.user)}
	for _, tb := range a.s.Tables {
		args = append(args, st.tables[tb.Table].rawOrEmpty())
	}
	if a.s.OwnerColumn != "" {
		args = append(args, t.AccountID)
	}
	parts := 1 + len(a.s.Tables)
	b.Queue(a.sql.guard, args...)
	b.steps = append(b.steps, step{"comparing the user's rows with the state", func(br pgx.BatchResults) error {
		var decided string
		if err := br.QueryRow().Scan(&decided); err != nil {
			return err
		}
		switch {
		case decided == "":
			// The lock's check passed (it is read first), but the same
			// check in SQL did not: nothing was written.
			return fmt.Errorf("%w: the user's check in SQL refused the user that its lock accepted; nothing was written", providers.ErrProtocol)
		case len(decided) != parts:
			return fmt.Errorf("%w: %d parts compared, want %d", providers.ErrProtocol, len(decided), parts)
		}
		return nil
	}})
	for i := len(a.s.Tables) - 1; i >= 0; i-- {
		name := a.s.Tables[i].Table
		b.exec("deleting from "+name, l.deletes[i], t.Ref, st.tables[name].rawOrEmpty())
	}
	for i, tb := range a.s.Tables {
		if rows := st.tables[tb.Table]; rows.count > 0 {
			b.upsert(tb.Table, l.upserts[i], rows, t.Ref)
		}
	}
	if sql := l.updateUser(a.s, st.userKeys); sql != "" {
		b.exec("updating user "+t.Ref, sql, t.Ref, string(st.user))
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

// upsert queues the upsert of rows into table, whose refusal of the
// state (upsertTemplate) it says as such.
func (b *batch) upsert(table, sql string, rows rowsOf, ref string) {
	b.Queue(sql, ref, string(rows.raw))
	b.steps = append(b.steps, step{"writing " + table, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		if others, repeated, ok := refusal(err); ok {
			if others > 0 {
				return refused("%d of the state's %d rows of %s do not belong to the user", others, rows.count, table)
			}
			return refused("%d of the state's %d rows of %s repeat the primary key of another", repeated, rows.count, table)
		}
		return err
	}})
}

// refusal reads the counts of upsertTemplate's refusal from err.
func refusal(err error) (others, repeated int, ok bool) {
	pgErr, isPg := errors.AsType[*pgconn.PgError](err)
	if !isPg || pgErr.Code != "22P02" {
		return 0, 0, false
	}
	_, after, found := strings.Cut(pgErr.Message, refusedPrefix)
	if !found {
		return 0, 0, false
	}
	if _, err := fmt.Sscanf(after, " %d %d", &others, &repeated); err != nil || others+repeated == 0 {
		return 0, 0, false // not the upsert's refusal: a value of the state that says the same
	}
	return others, repeated, true
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
