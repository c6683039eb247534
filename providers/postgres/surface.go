package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy/providers"
)

// setTimeoutSQL bounds the statements that follow in the transaction.
const setTimeoutSQL = `SELECT set_config('statement_timeout', $1, true)`

// Surface implements providers.Surfaces: it runs the surface's configured
// query in a read-only transaction whose statement_timeout is the
// settings' surface_timeout, and returns the first column of its rows as
// text. A query that writes is refused (ErrRefused), one that runs past
// the timeout is cancelled (ErrUnavailable), one that does not return
// exactly one column, a NULL or more than MaxSurfaceRefs rows breaks the
// contract (ErrProtocol), and a surface with no query is ErrNoSurface.
func (a *App) Surface(ctx context.Context, name string) ([]string, error) {
	q, ok := a.s.Surfaces[name]
	if !ok {
		return nil, fmt.Errorf("reading surface %q of %s: %w", name, a.name, providers.ErrNoSurface)
	}
	// The context is a backstop a little past the server-side timeout,
	// which cuts the statement itself and says so.
	ctx, cancel := context.WithTimeout(ctx, a.s.surfaceTimeout+2*time.Second)
	defer cancel()
	var refs []string
	err := a.readOnly(ctx, func(conn *pgconn.PgConn) error {
		var err error
		refs, err = readRefs(ctx, conn, q)
		return err
	})
	if err != nil {
		return nil, a.surfaceError(name, err)
	}
	return refs, nil
}

// readOnly runs fn in a read-only transaction bounded by the surface
// timeout. The transaction is always rolled back.
func (a *App) readOnly(ctx context.Context, fn func(*pgconn.PgConn) error) error {
	tx, err := a.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	ms := strconv.FormatInt(a.s.surfaceTimeout.Milliseconds(), 10)
	if _, err := tx.Exec(ctx, setTimeoutSQL, ms); err != nil {
		return err
	}
	return fn(tx.Conn().PgConn())
}

// errShape is a surface query whose result is not one column of keys.
var errShape = errors.New("surface query")

// readRefs runs q with the extended protocol (one statement only, so it
// cannot end the read-only transaction) and text results.
func readRefs(ctx context.Context, conn *pgconn.PgConn, q string) ([]string, error) {
	rr := conn.ExecParams(ctx, q, nil, nil, nil, nil)
	if n := len(rr.FieldDescriptions()); n != 1 {
		_, err := rr.Close()
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w returns %d columns, not 1", errShape, n)
	}
	var refs []string
	for rr.NextRow() {
		v := rr.Values()[0]
		switch {
		case v == nil:
			_, _ = rr.Close()
			return nil, fmt.Errorf("%w returned NULL", errShape)
		case len(refs) == MaxSurfaceRefs:
			_, _ = rr.Close()
			return nil, fmt.Errorf("%w returned more than %d rows", errShape, MaxSurfaceRefs)
		}
		refs = append(refs, string(v))
	}
	_, err := rr.Close()
	return refs, err
}

// surfaceError says what went wrong with a surface query, in words an admin
// can act on, wrapping the contract's error.
func (a *App) surfaceError(name string, err error) error {
	doing := fmt.Sprintf("reading surface %q of %s", name, a.name)
	switch {
	case isCode(err, "25006"):
		return fmt.Errorf("%s: %w: the query writes, and surface queries run in a read-only transaction: %w", doing, providers.ErrRefused, err)
	case isCode(err, "57014"):
		return fmt.Errorf("%s: %w: the query ran longer than surface_timeout (%s) and was cancelled: %w", doing, providers.ErrUnavailable, a.s.surfaceTimeout, err)
	case errors.Is(err, errShape):
		return fmt.Errorf("%s: %w: %w", doing, providers.ErrProtocol, err)
	}
	return classify(doing, err)
}

// checkSurfaces describes every surface query, without running it, in a
// read-only transaction: each must parse, name what exists, be one
// statement and return one column. It returns the first that cannot
// work, by name.
func (a *App) checkSurfaces(ctx context.Context) (*providers.ConfigError, error) {
	names := make([]string, 0, len(a.s.Surfaces))
	for name := range a.s.Surfaces {
		names = append(names, name)
	}
	slices.Sort(names)
	var problem *providers.ConfigError
	err := a.readOnly(ctx, func(conn *pgconn.PgConn) error {
		for _, name := range names {
			sd, err := conn.Prepare(ctx, "", a.s.Surfaces[name], nil)
			var detail string
			switch pgErr, isPg := errors.AsType[*pgconn.PgError](err); {
			case isPg:
				detail = "cannot be prepared: " + pgErr.Message
			case err != nil:
				return err
			case len(sd.Fields) != 1:
				detail = fmt.Sprintf("returns %d columns, not 1 (the users' keys)", len(sd.Fields))
			default:
				continue
			}
			problem = &providers.ConfigError{Field: "settings.surfaces." + name, Detail: detail}
			return nil
		}
		return nil
	})
	return problem, err
}
