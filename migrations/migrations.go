// Package migrations holds Understudy's schema as embedded SQL files and the
// one code path that applies them, used by `understudy migrate`, by
// `understudy serve --migrate` and by the tests.
//
// Files are zero-padded `NNNNNN_name.up.sql` / `.down.sql`. A landed migration
// is never edited: add a new one.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

//go:embed *.sql
var files embed.FS

// Table is where golang-migrate records the schema version.
const Table = "schema_migrations"

// DefaultLockTimeout bounds how long a migration waits for another replica's
// migration to finish, so a replica never hangs forever.
const DefaultLockTimeout = 30 * time.Second

// Latest returns the version of the newest embedded migration.
func Latest() uint {
	entries, _ := fs.ReadDir(files, ".")
	var versions []int
	for _, e := range entries {
		n, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err == nil {
			versions = append(versions, n)
		}
	}
	sort.Ints(versions)
	if len(versions) == 0 {
		return 0
	}
	return uint(versions[len(versions)-1])
}

// Migrator applies the embedded migrations to one database.
type Migrator struct {
	db *sql.DB
	m  *migrate.Migrate
}

// Open connects to the database at url. lockTimeout bounds the wait for the
// advisory lock that serialises concurrent migrations; 0 means DefaultLockTimeout.
func Open(url string, lockTimeout time.Duration) (*Migrator, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing the database URL: %w", redactParseError(err))
	}
	db := stdlib.OpenDB(*cfg)
	drv, err := pgxmigrate.WithInstance(db, &pgxmigrate.Config{MigrationsTable: Table})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to the database to migrate: %w", err)
	}
	src, err := iofs.New(files, ".")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("preparing migrations: %w", err)
	}
	if lockTimeout <= 0 {
		lockTimeout = DefaultLockTimeout
	}
	m.LockTimeout = lockTimeout
	return &Migrator{db: db, m: m}, nil
}

// Close releases the connection.
func (g *Migrator) Close() error {
	_, dbErr := g.m.Close()
	return errors.Join(dbErr, g.db.Close())
}

// Up applies every pending migration. It is a no-op when the schema is current.
func (g *Migrator) Up() error {
	if err := g.m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrating up: %w", err)
	}
	return nil
}

// Down reverts the last steps migrations (all of them when steps <= 0).
func (g *Migrator) Down(steps int) error {
	var err error
	if steps <= 0 {
		err = g.m.Down()
	} else {
		err = g.m.Steps(-steps)
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrating down: %w", err)
	}
	return nil
}

// Version returns the applied version (0 when none) and whether a failed
// migration left the schema dirty.
func (g *Migrator) Version() (uint, bool, error) {
	v, dirty, err := g.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading the schema version: %w", err)
	}
	return v, dirty, nil
}

// Up is a shortcut: open, migrate up, close.
func Up(url string, lockTimeout time.Duration) error {
	g, err := Open(url, lockTimeout)
	if err != nil {
		return err
	}
	return errors.Join(g.Up(), g.Close())
}

// Querier is what Check needs of a pool or a connection.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// BehindError reports a schema that is not at the version this binary needs.
type BehindError struct {
	Have, Want uint
	Dirty      bool
}

func (e *BehindError) Error() string {
	switch {
	case e.Dirty:
		return fmt.Sprintf("the database schema is dirty at version %d (a migration failed half-way); fix it by hand, then run `understudy migrate force %d` and `understudy migrate up`", e.Have, e.Have)
	case e.Have > e.Want:
		return fmt.Sprintf("the database schema is at version %d, newer than this binary knows (%d); upgrade understudy", e.Have, e.Want)
	default:
		return fmt.Sprintf("the database schema is at version %d but this binary needs %d; run `understudy migrate up` (or start with `understudy serve --migrate`)", e.Have, e.Want)
	}
}

// Check returns *BehindError unless the schema is exactly at Latest and clean.
func Check(ctx context.Context, q Querier) error {
	var have int64
	var dirty bool
	err := q.QueryRow(ctx, "SELECT version, dirty FROM "+Table+" LIMIT 1").Scan(&have, &dirty)
	if err != nil {
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr) && pgErr.Code == "42P01", errors.Is(err, pgx.ErrNoRows):
			have = 0
		default:
			return fmt.Errorf("reading the schema version: %w", err)
		}
	}
	if want := Latest(); uint(have) != want || dirty {
		return &BehindError{Have: uint(have), Want: want, Dirty: dirty}
	}
	return nil
}

// redactParseError keeps pgx's parse error from echoing a URL that may hold a password.
func redactParseError(err error) error {
	return errors.New(strings.SplitN(err.Error(), ":", 2)[0])
}

// Force records version as applied and clean without running anything: the
// way out after fixing by hand a migration that failed half-way.
func (g *Migrator) Force(version int) error {
	if err := g.m.Force(version); err != nil {
		return fmt.Errorf("forcing version %d: %w", version, err)
	}
	return nil
}

// Files returns the embedded migration files.
func Files() fs.FS { return files }
