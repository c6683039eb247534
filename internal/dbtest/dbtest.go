// Package dbtest gives tests a real PostgreSQL, fast: every test binary
// shares one migrated database (cloned from a template) and each test works
// in a transaction that is rolled back (Tx); a test that must commit, or boots
// a whole server, gets a fresh database of its own cloned from the template
// (NewDatabase), which is dropped when it ends.
//
// The server comes from TEST_DATABASE_URL; `make test` provides one when it is
// not set. There is no mock and no fallback: without a database, tests fail
// and say how to get one.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/migrations"
)

// EnvVar names the variable that points the tests at a PostgreSQL server.
const EnvVar = "TEST_DATABASE_URL"

var (
	templateOnce sync.Once
	templateName string
	templateErr  error

	sharedOnce sync.Once
	sharedPool *pgxpool.Pool
	sharedName string
	sharedErr  error
)

// ServerURL returns TEST_DATABASE_URL or fails the test.
func ServerURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(EnvVar)
	if u == "" {
		tb.Fatalf("%s is not set: run `make test`, which provides a database, or point it at a PostgreSQL server you own", EnvVar)
	}
	return u
}

// Main runs the tests of a package and then drops the database that Pool
// shared between them. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if sharedPool != nil {
		sharedPool.Close()
		_ = dropDatabase(os.Getenv(EnvVar), sharedName)
	}
	os.Exit(code)
}

// Pool returns the pool of the database shared by this test binary.
// Prefer Tx, which isolates the test.
func Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	server := ServerURL(tb)
	sharedOnce.Do(func() {
		sharedName, sharedErr = cloneTemplate(server)
		if sharedErr != nil {
			return
		}
		sharedPool, sharedErr = pgxpool.New(context.Background(), withDatabase(tb, server, sharedName))
	})
	if sharedErr != nil {
		tb.Fatalf("preparing the shared test database: %v", sharedErr)
	}
	return sharedPool
}

// Tx returns a transaction on the shared database that is rolled back when
// the test ends.
func Tx(tb testing.TB) pgx.Tx {
	tb.Helper()
	tx, err := Pool(tb).Begin(context.Background())
	if err != nil {
		tb.Fatalf("beginning the test transaction: %v", err)
	}
	tb.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

// NewDatabase creates a migrated database for this test alone, returns its
// URL and drops it when the test ends.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	server := ServerURL(tb)
	name, err := cloneTemplate(server)
	if err != nil {
		tb.Fatalf("creating a test database: %v", err)
	}
	tb.Cleanup(func() {
		if err := dropDatabase(server, name); err != nil {
			tb.Logf("dropping test database %s: %v", name, err)
		}
	})
	return withDatabase(tb, server, name)
}

// NewPool is NewDatabase with a pool on it, closed when the test ends.
func NewPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), NewDatabase(tb))
	if err != nil {
		tb.Fatalf("connecting to the test database: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

func withDatabase(tb testing.TB, server, name string) string {
	cfg, err := pgx.ParseConfig(server)
	if err != nil {
		tb.Fatalf("%s is not a valid connection string", EnvVar)
	}
	return fmt.Sprintf("%s dbname=%s", keywordForm(cfg), name)
}

// keywordForm renders the server part of a connection config so that the
// database name can be replaced, whatever form TEST_DATABASE_URL had.
func keywordForm(cfg *pgx.ConnConfig) string {
	s := fmt.Sprintf("host=%s port=%d user=%s", cfg.Host, cfg.Port, cfg.User)
	if cfg.Password != "" {
		s += " password=" + cfg.Password
	}
	if cfg.TLSConfig == nil {
		s += " sslmode=disable"
	}
	return s
}

func cloneTemplate(server string) (string, error) {
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(server) })
	if templateErr != nil {
		return "", templateErr
	}
	name := "understudy_t_" + hex.EncodeToString(randomBytes(6))
	return name, adminExec(server, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName))
}

// ensureTemplate creates, once per schema version on a server, a database
// with every migration applied. Test binaries running side by side serialise
// on an advisory lock so that only one of them builds it.
func ensureTemplate(server string) (string, error) {
	name := "understudy_tmpl_" + schemaHash()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", fmt.Errorf("connecting to %s: %w", EnvVar, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
		return "", err
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(727274)")
	var comment *string
	err = conn.QueryRow(ctx, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", name).Scan(&comment)
	switch {
	case err == nil && comment != nil && *comment == "ready":
		return name, nil
	case err == nil: // a template whose migration did not finish
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			return "", err
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	cfg, _ := pgx.ParseConfig(server)
	if err := migrations.Up(keywordForm(cfg)+" dbname="+name, 0); err != nil {
		return "", fmt.Errorf("migrating the template: %w", err)
	}
	// The comment marks a template whose migration finished.
	if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+name+" IS 'ready'"); err != nil {
		return "", err
	}
	return name, nil
}

// schemaHash names the template after the migrations' content, so a new or
// changed migration gets a new template.
func schemaHash() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.Files(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(migrations.Files(), path)
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func dropDatabase(server, name string) error {
	return adminExec(server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

func adminExec(server, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", EnvVar, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// NewEmptyDatabase creates a database with no schema at all for this test
// alone (to test migrations themselves), returns its URL and drops it when
// the test ends.
func NewEmptyDatabase(tb testing.TB) string {
	tb.Helper()
	server := ServerURL(tb)
	name := "understudy_t_" + hex.EncodeToString(randomBytes(6))
	if err := adminExec(server, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("creating an empty test database: %v", err)
	}
	tb.Cleanup(func() { _ = dropDatabase(server, name) })
	return withDatabase(tb, server, name)
}

// ServerAddress returns the network and address at which TEST_DATABASE_URL's
// server listens ("unix" and a socket path, or "tcp" and host:port), for
// tests that put a proxy in front of it.
func ServerAddress(tb testing.TB) (network, address string) {
	tb.Helper()
	cfg, err := pgx.ParseConfig(ServerURL(tb))
	if err != nil {
		tb.Fatalf("%s is not a valid connection string", EnvVar)
	}
	if len(cfg.Host) > 0 && cfg.Host[0] == '/' {
		return "unix", fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port)
	}
	return "tcp", fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
}

// WithHost returns url (a keyword/value or URL connection string of the test
// server) pointed at host and port instead, keeping user and database.
func WithHost(tb testing.TB, url, host string, port int) string {
	tb.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		tb.Fatalf("not a valid connection string")
	}
	cfg.Host, cfg.Port = host, uint16(port)
	return keywordForm(cfg) + " dbname=" + cfg.Database
}

// PoolFor returns a pool on url, closed when the test ends.
func PoolFor(tb testing.TB, url string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		tb.Fatalf("connecting to the test database: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}
