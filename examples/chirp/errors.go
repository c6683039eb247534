package chirp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy/providers"
)

// Error codes of chirp's own API. Each maps to one HTTP status in
// writeError, the only place where errors become HTTP.
const (
	CodeMalformed   = "malformed"   // the request cannot be read (400)
	CodeInvalid     = "invalid"     // a field's value is not acceptable (422)
	CodeNotFound    = "not_found"   // no such user or post (404)
	CodeConflict    = "conflict"    // a unique value is taken (409)
	CodeUnavailable = "unavailable" // the database is down or slow (503)
)

// Error is the error of chirp's own domain operations (CreateUser, Post,
// Follow…): a code, the JSON name of the field at fault (if any) and a
// message safe to show. Any other error is internal.
type Error struct {
	Code    string
	Field   string
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

func notFound(field, format string, args ...any) *Error {
	return &Error{Code: CodeNotFound, Field: field, Message: fmt.Sprintf(format, args...)}
}

// constraintErrors turns the foreign-key and unique violations that a
// domain operation expects into errors naming the field at fault. Keys are
// constraint names, as PostgreSQL names them by default.
type constraintErrors map[string]*Error

// storeError translates an error from pgx at the store edge: a known
// constraint becomes its *Error, a lost connection CodeUnavailable; any
// other error is returned wrapped with doing, and is internal.
func storeError(err error, doing string, known constraintErrors) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*Error](err); ok {
		return err
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		if e, ok := known[pgErr.ConstraintName]; ok {
			copied := *e // the map may be shared; callers may annotate what they get
			return &copied
		}
	}
	if isUnavailable(err) {
		return &Error{Code: CodeUnavailable, Message: "the database is unavailable; try again shortly"}
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// contractError translates an error met by a webhook contract operation:
// errors that already wrap a providers sentinel pass through; a constraint
// violation means the app refuses the input (providers.ErrRefused); a lost
// connection or a timeout is providers.ErrUnavailable.
func contractError(err error, doing string) error {
	if err == nil {
		return nil
	}
	for _, sentinel := range []error{providers.ErrNotFound, providers.ErrNotSynthetic, providers.ErrNotOwned,
		providers.ErrRefused, providers.ErrUnavailable} {
		if errors.Is(err, sentinel) {
			return fmt.Errorf("%s: %w", doing, err)
		}
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && refusedCode(pgErr.Code) {
		return fmt.Errorf("%s: %w: %s (%s)", doing, providers.ErrRefused, pgErr.Message, pgErr.ConstraintName)
	}
	if isUnavailable(err) {
		return fmt.Errorf("%s: %w: %v", doing, providers.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// refusedCode reports whether a SQLSTATE means the data broke a rule
// (class 22 data exception, class 23 integrity constraint violation).
func refusedCode(code string) bool {
	return strings.HasPrefix(code, "22") || strings.HasPrefix(code, "23")
}

// isUnavailable reports whether err means the database could not be reached,
// was lost, is overloaded, or was too slow: trying again may work.
func isUnavailable(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pgErr.Code {
		case "57014", "57P01", "57P02", "57P03", "53300", "40001", "40P01":
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08")
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || pgconn.Timeout(err)
}
