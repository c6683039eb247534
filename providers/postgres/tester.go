package postgres

import (
	"context"
	"fmt"

	"github.com/understudy-dev/understudy/providers"
)

// CheckConfig implements providers.ConfigChecker: it checks the settings
// against the app database's catalog. Every table and column they name
// must exist (in the settings' schema); the key column and the owner
// column must each have a unique index of their own; the synthetic column
// must be boolean; every per-user table must have a primary key and come
// after the tables it references; every user column must have a foreign
// key to the users table's key column, unless its table sets
// unchecked_user_column; the connection's role must be allowed to read
// and write every table; and every surface query must prepare, in a
// read-only transaction, as one statement returning one column. It returns the first
// setting that cannot work, in settings order, as a *providers.ConfigError,
// or an error wrapping providers.ErrUnavailable when the database cannot be
// reached. A successful check also keeps what Restore needs of the catalog.
func (a *App) CheckConfig(ctx context.Context) error {
	ps, err := a.checkCatalog(ctx)
	if err != nil {
		return a.fail("checking the configuration", err)
	}
	if len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// Test implements providers.Tester with the checks of CheckConfig: it
// names every setting that cannot work, in an error that wraps
// providers.ErrProtocol and each *providers.ConfigError, or returns an
// error wrapping providers.ErrUnavailable when the database cannot be
// reached.
func (a *App) Test(ctx context.Context) error {
	ps, err := a.checkCatalog(ctx)
	if err != nil {
		return a.fail("testing the configuration", err)
	}
	if len(ps) > 0 {
		return fmt.Errorf("testing the configuration of %s: %w: %w", a.name, providers.ErrProtocol, configErrors(ps))
	}
	return nil
}

// checkCatalog reads the catalog and returns the settings that cannot
// work; when there are none, it keeps the layout for Restore.
func (a *App) checkCatalog(ctx context.Context) ([]*providers.ConfigError, error) {
	ctx, cancel := context.WithTimeout(ctx, a.s.statementTimeout)
	defer cancel()
	cat, err := a.readCatalog(ctx)
	if err != nil {
		return nil, err
	}
	ps := a.problems(cat)
	if len(ps) == 0 {
		a.layout.Store(buildLayout(a.s, cat))
	}
	p, err := a.checkSurfaces(ctx)
	if err != nil {
		return nil, err
	}
	if p != nil {
		ps = append(ps, p)
	}
	return ps, nil
}
