package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Scratch is a database created for one run.
type Scratch struct {
	// Name is understudy_bench_<random>.
	Name string
	// URL is the connection string of the scratch database.
	URL      string
	adminURL string // TEST_DATABASE_URL, to drop it from
}

// CreateScratch creates a database named understudy_bench_<random> on the
// server adminURL points at.
func CreateScratch(ctx context.Context, adminURL string) (*Scratch, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	name := "understudy_bench_" + hex.EncodeToString(b)
	dbURL, err := WithDatabase(adminURL, name)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connecting to TEST_DATABASE_URL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("creating database %s: %w", name, err)
	}
	return &Scratch{Name: name, URL: dbURL, adminURL: adminURL}, nil
}

// Drop drops the database, closing any connection left on it (PostgreSQL
// 13 or later). It has its own deadline, as it also runs after Ctrl-C.
func (s *Scratch) Drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.adminURL)
	if err != nil {
		return fmt.Errorf("dropping database %s: %w", s.Name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{s.Name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dropping database %s: %w", s.Name, err)
	}
	return nil
}

// WithDatabase returns the connection string dsn with its database set to
// name. It takes both forms pgx does: a postgres:// URL and key=value pairs
// (where a later key wins).
func WithDatabase(dsn, name string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " dbname=" + name, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("TEST_DATABASE_URL is not a valid URL: %w", err)
	}
	u.Path, u.RawPath = "/"+name, ""
	q := u.Query()
	q.Del("dbname")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Machine is what the figures depend on beyond the code.
type Machine struct {
	// CPUs is runtime.NumCPU(): the driver, the server and PostgreSQL share them.
	CPUs int `json:"cpus"`
	// Go is the Go version the driver was built with.
	Go string `json:"go"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
	// PostgreSQL is the server's SHOW server_version.
	PostgreSQL string `json:"postgresql"`
}

// MachineFacts returns the Machine, asking PostgreSQL its version.
func MachineFacts(ctx context.Context, dbURL string) (Machine, error) {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return m, fmt.Errorf("connecting to the scratch database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&m.PostgreSQL); err != nil {
		return m, fmt.Errorf("reading the PostgreSQL version: %w", err)
	}
	return m, nil
}

// OpenScratch is what a driver does first: it checks that the server
// binary bin exists, creates a scratch database (CreateScratch) and says so
// on progress as driver. The returned drop drops the database and says so,
// joining its error to *err; a driver defers it.
func OpenScratch(ctx context.Context, driver, bin, adminURL string, progress io.Writer) (db *Scratch, drop func(err *error), err error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, nil, fmt.Errorf("server binary %s: %w (run make build first, or pass -bin)", bin, err)
	}
	if db, err = CreateScratch(ctx, adminURL); err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(progress, "%s: created database %s\n", driver, db.Name)
	return db, func(err *error) {
		if derr := db.Drop(); derr != nil {
			*err = errors.Join(*err, derr)
			return
		}
		fmt.Fprintf(progress, "%s: dropped database %s\n", driver, db.Name)
	}, nil
}
