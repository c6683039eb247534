// Package pgdb is the one place where PostgreSQL errors become Understudy's
// error contract. Every store runs its statements through the family here
// (QueryOne, QueryMaybe, QueryAll, Exec), so nothing above a store sees a pgx
// type or compares with pgx.ErrNoRows.
package pgdb

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy"
)

// DB is what the stores need of a pgxpool.Pool or a pgx.Tx. Tests pass a
// transaction that is rolled back at the end; the server passes the pool.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// SendBatch sends the statements queued in b in one round trip and waits
// for them, translating the first error. Each statement's own callback
// (QueuedQuery.Query, QueryRow, Exec) has read its result by then.
func SendBatch(ctx context.Context, db DB, b *pgx.Batch) error {
	return Translate(db.SendBatch(ctx, b).Close(), "", "")
}

// Translate translates an error from pgx into the error contract at the store
// edge, so nothing above a store sees pgx types: no rows becomes ENOTFOUND
// with notFound as its message, a unique violation ECONFLICT with conflict,
// a foreign-key or check violation EINVALID, a lost or refused connection
// or a deadline that ran out EUNAVAILABLE (each with its own message). Anything else is returned as it is (internal).
func Translate(err error, notFound, conflict string) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*understudy.Error](err); ok {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &understudy.Error{Code: understudy.ENOTFOUND, Message: notFound}
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch {
		case pgErr.Code == "23505":
			return &understudy.Error{Code: understudy.ECONFLICT, Message: conflict}
		case pgErr.Code == "23503", pgErr.Code == "23514", pgErr.Code == "22001", pgErr.Code == "22P02":
			return &understudy.Error{Code: understudy.EINVALID, Message: "the request refers to something that does not exist or breaks a constraint (" + pgErr.ConstraintName + ")"}
		case pgErr.Code == "22021", pgErr.Code == "22P05":
			// A NUL, or bytes that are not UTF-8, in text or JSON the
			// request sent: the client's mistake, whichever field held it.
			return &understudy.Error{Code: understudy.EMALFORMED, Message: "the request holds text that cannot be stored: a NUL character, or bytes that are not UTF-8"}
		case pgErr.Code == "57014":
			return &understudy.Error{Code: understudy.EUNAVAILABLE, Message: "the database query was canceled; try again"}
		case pgErr.Code[:2] == "08", pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", pgErr.Code == "53300":
			return unavailable(err)
		}
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// The caller's time ran out, perhaps spent elsewhere (an app, a
		// vendor) before this statement: say so, not that the database is
		// down.
		return &unavailableError{safe: &understudy.Error{Code: understudy.EUNAVAILABLE,
			Message: "the request ran out of time before the database answered; try again"}, cause: err}
	}
	if IsConnectionError(err) {
		return unavailable(err)
	}
	return err
}

// IsConnectionError reports whether err means the database could not be
// reached or the connection was lost, as opposed to a query that failed.
func IsConnectionError(err error) bool {
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) ||
		errors.Is(err, net.ErrClosed)
}

// unavailableError keeps the cause for the logs while showing a safe message.
type unavailableError struct {
	safe  *understudy.Error
	cause error
}

func (e *unavailableError) Error() string   { return e.safe.Message + ": " + e.cause.Error() }
func (e *unavailableError) Unwrap() []error { return []error{e.safe, e.cause} }

func unavailable(cause error) error {
	return &unavailableError{safe: &understudy.Error{Code: understudy.EUNAVAILABLE, Message: "the database is unavailable; try again shortly"}, cause: cause}
}

// QueryOne runs sql and scans its one row with scan. No row is ENOTFOUND
// with notFound as its message.
func QueryOne[T any](ctx context.Context, db DB, scan func(pgx.Row, *T) error, notFound, sql string, args ...any) (T, error) {
	var x T
	err := scan(db.QueryRow(ctx, sql, args...), &x)
	return x, Translate(err, notFound, "")
}

// Conflict is the message of the ECONFLICT that a unique violation becomes
// (QueryMaybe); the zero Conflict leaves it empty. It is a struct, not a
// string, so that it cannot be swapped with the statement beside it: an
// untyped string constant would convert to a named string type.
type Conflict struct{ Message string }

// QueryMaybe runs sql and scans its row with scan, if there is one: no row
// is not an error, it is found == false. A unique violation is ECONFLICT
// with conflict's message.
func QueryMaybe[T any](ctx context.Context, db DB, scan func(pgx.Row, *T) error, conflict Conflict, sql string, args ...any) (x T, found bool, err error) {
	err = scan(db.QueryRow(ctx, sql, args...), &x)
	if errors.Is(err, pgx.ErrNoRows) {
		return x, false, nil
	}
	return x, err == nil, Translate(err, "", conflict.Message)
}

// QueueMaybe is QueryMaybe in a batch: it queues sql in b, and once b has
// been sent, result returns its row scanned with scan, whether there was
// one, and scan's error as QueryMaybe says it. A statement that fails is
// the batch's error (SendBatch), and its result then says no row.
func QueueMaybe[T any](b *pgx.Batch, scan func(pgx.Row, *T) error, conflict Conflict, sql string, args ...any) (result func() (T, bool, error)) {
	var x T
	found := false
	var err error
	b.Queue(sql, args...).QueryRow(func(row pgx.Row) error {
		if err = scan(row, &x); errors.Is(err, pgx.ErrNoRows) {
			err = nil
			return nil
		}
		found = err == nil
		return err
	})
	return func() (T, bool, error) { return x, found, Translate(err, "", conflict.Message) }
}

// QueryAll runs sql and scans every row with scan.
func QueryAll[T any](ctx context.Context, db DB, scan func(pgx.Row, *T) error, sql string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, Translate(err, "", "")
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) {
		var x T
		return x, scan(r, &x)
	})
	return list, Translate(err, "", "")
}

// Exec runs sql and returns how many rows it changed. A unique violation
// is ECONFLICT with conflict as its message.
func Exec(ctx context.Context, db DB, conflict, sql string, args ...any) (int64, error) {
	tag, err := db.Exec(ctx, sql, args...)
	if err != nil {
		return 0, Translate(err, "", conflict)
	}
	return tag.RowsAffected(), nil
}

// Scalar is a scan function for a one-column row into a T.
func Scalar[T any](row pgx.Row, x *T) error { return row.Scan(x) }

// Now is the time a statement takes as its now, told by clock: the clock's
// value, or nil (SQL NULL) when there is no clock or it tells the zero time.
// Statements read it as coalesce($N::timestamptz, now()), so that a store
// and its SQL share its package's injected clock, and the database tells
// the time only when nothing was injected.
func Now(clock func() time.Time) *time.Time {
	if clock == nil {
		return nil
	}
	t := clock()
	if t.IsZero() {
		return nil
	}
	return &t
}

// BeginRetry runs fn in a transaction as pgx.BeginFunc does, and runs it
// again (at most three times in all) when PostgreSQL chose the transaction
// as a deadlock's victim (40P01) or failed it for serialization (40001):
// PostgreSQL rolled it back whole, so running it again is what its manual
// prescribes. fn must set its results afresh on each run.
func BeginRetry(ctx context.Context, db DB, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, db, fn)
		var pgErr *pgconn.PgError
		if attempt < 3 && ctx.Err() == nil && errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			continue
		}
		return err
	}
}

// InTx runs fn in a transaction of db, committed when fn returns nil, and
// translates the error.
func InTx(ctx context.Context, db DB, fn func(pgx.Tx) error) error {
	return Translate(pgx.BeginFunc(ctx, db, fn), "", "")
}
