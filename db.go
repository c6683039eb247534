package understudy

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is what the stores need of a pgxpool.Pool or a pgx.Tx. Tests pass a
// transaction that is rolled back at the end; the server passes the pool.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// DBError translates an error from pgx into the error contract at the store
// edge, so nothing above a store sees pgx types: no rows becomes ENOTFOUND
// with notFound as its message, a unique violation ECONFLICT with conflict,
// a foreign-key or check violation EINVALID, a lost or refused connection
// EUNAVAILABLE. Anything else is returned as it is (internal).
func DBError(err error, notFound, conflict string) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*Error](err); ok {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &Error{Code: ENOTFOUND, Message: notFound}
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch {
		case pgErr.Code == "23505":
			return &Error{Code: ECONFLICT, Message: conflict}
		case pgErr.Code == "23503", pgErr.Code == "23514", pgErr.Code == "22001", pgErr.Code == "22P02":
			return &Error{Code: EINVALID, Message: "the request refers to something that does not exist or breaks a constraint (" + pgErr.ConstraintName + ")"}
		case pgErr.Code == "57014":
			return &Error{Code: EUNAVAILABLE, Message: "the database query was canceled; try again"}
		case pgErr.Code[:2] == "08", pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", pgErr.Code == "53300":
			return unavailable(err)
		}
		return err
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
	safe  *Error
	cause error
}

func (e *unavailableError) Error() string   { return e.safe.Message + ": " + e.cause.Error() }
func (e *unavailableError) Unwrap() []error { return []error{e.safe, e.cause} }

func unavailable(cause error) error {
	return &unavailableError{safe: &Error{Code: EUNAVAILABLE, Message: "the database is unavailable; try again shortly"}, cause: cause}
}
