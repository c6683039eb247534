package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy/providers"
)

// sentinels are the contract's errors, to tell an error already translated
// from one that is not.
var sentinels = []error{
	providers.ErrNotFound, providers.ErrNotSynthetic, providers.ErrNotOwned,
	providers.ErrUnavailable, providers.ErrProtocol, providers.ErrRefused,
}

// fail wraps err, which happened while doing, with the app's name and the
// contract's error that fits it (see classify). The public methods call it
// once, on the way out.
func (a *App) fail(doing string, err error) error {
	return classify(doing+" in "+a.name, err)
}

// classify wraps err, which happened while doing, with the contract's
// error that fits it: the database is unreachable, slow or busy →
// ErrUnavailable; a constraint or a value refused → ErrRefused; the schema
// is not what the settings say → ErrProtocol. An error that already wraps
// one of them, or that fits none, is only wrapped. The text never holds the
// DSN (pgx's connect errors name the user and the database only).
func classify(doing string, err error) error {
	if slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) }) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	if kind := kindOf(err); kind != nil {
		return fmt.Errorf("%s: %w: %w", doing, kind, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// kindOf returns the contract's error for a pgx error, or nil.
func kindOf(err error) error {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		code := pgErr.Code
		switch {
		case isUnavailableCode(code):
			return providers.ErrUnavailable
		case strings.HasPrefix(code, "23"), // integrity constraint violation
			strings.HasPrefix(code, "22"), // data exception: a value the column cannot hold
			code == "42501":               // insufficient privilege
			return providers.ErrRefused
		case strings.HasPrefix(code, "42"): // undefined table or column, wrong type
			return providers.ErrProtocol
		}
		return nil
	}
	if isConnectionError(err) {
		return providers.ErrUnavailable
	}
	return nil
}

func isUnavailableCode(code string) bool {
	switch code {
	case "57014", // query_canceled: statement_timeout, or the caller gave up
		"55P03",                   // lock_not_available: lock_timeout
		"40001",                   // serialization_failure
		"40P01",                   // deadlock_detected
		"25006",                   // read_only_sql_transaction: a standby, during a failover
		"57P01", "57P02", "57P03": // admin shutdown, crash shutdown, cannot connect now
		return true
	}
	return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "53") // connection exception, insufficient resources
}

// isConnectionError reports whether err means the database could not be
// reached in time or the connection was lost.
func isConnectionError(err error) bool {
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, pgconn.ErrConnClosed)
}

// isCode reports whether err is a PostgreSQL error with one of codes.
func isCode(err error, codes ...string) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && slices.Contains(codes, pgErr.Code)
}
