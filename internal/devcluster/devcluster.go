// Package devcluster is the development setup that `understudy serve
// --dev`, `understudy demo` and `understudy dev-postgres` share: a private
// PostgreSQL cluster, started with localpg, and a throwaway secret key, both
// kept between runs under the folder Dir of the working directory.
//
// Start (or Database, which also creates a database on it) starts the
// cluster in ClusterDir, or reuses the one already running there. SecretKey
// reads the development secret key from KeyFile, or makes it the first time.
// RunWithDatabase runs a command, `go test` for instance, with
// TEST_DATABASE_URL pointing at a database of a private cluster.
//
// Nothing here is for production: the key seals passwords of accounts that
// are thrown away, and the cluster trusts its local users without password.
package devcluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/internal/localpg"
	"github.com/understudy-dev/understudy/secret"
)

// Dir holds what the development commands keep between runs: the private
// cluster and the development secret key.
const Dir = ".understudy"

var (
	// ClusterDir is the folder of the private cluster of serve --dev and
	// the demo.
	ClusterDir = filepath.Join(Dir, "pg")
	// TestClusterDir is the folder of the cluster dev-postgres starts by
	// default, apart from ClusterDir so tests never touch its databases.
	TestClusterDir = filepath.Join(Dir, "test-pg")
	// KeyFile holds the development secret key.
	KeyFile = filepath.Join(Dir, "secret.key")
)

// Config says where a private cluster lives and where it logs.
type Config struct {
	// Dir is the folder of the cluster. Defaults to ClusterDir.
	Dir string
	// Logger receives what the cluster does. Defaults to a logger that
	// discards everything.
	Logger *slog.Logger
}

// WithDefaults returns c with its unset fields filled.
func (c Config) WithDefaults() Config {
	c.Dir = cmp.Or(c.Dir, ClusterDir)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Start starts the private cluster in cfg.Dir, or reuses the one running
// there (its Stop then leaves it running).
func Start(ctx context.Context, cfg Config) (*localpg.Cluster, error) {
	cfg = cfg.WithDefaults()
	cluster, err := localpg.Start(ctx, localpg.Config{Dir: cfg.Dir, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("starting the private PostgreSQL cluster: %w", err)
	}
	return cluster, nil
}

// Database starts the private cluster in cfg.Dir, creates the database name
// on it unless it exists, and returns its URL with the function that stops
// the cluster.
func Database(ctx context.Context, cfg Config, name string) (url string, stop func(context.Context) error, err error) {
	cluster, err := Start(ctx, cfg)
	if err != nil {
		return "", nil, err
	}
	url, err = cluster.CreateDatabase(ctx, name)
	if err != nil {
		_ = cluster.Stop(ctx)
		return "", nil, err
	}
	return url, cluster.Stop, nil
}

// SecretKey reads the development key at path, or makes one, readable only
// by its owner, so that a second `make run` can still open what the first
// sealed.
func SecretKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading the development secret key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	key := secret.GenerateKey()
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the development secret key: %w", err)
	}
	return key, nil
}

// testDatabase is the database RunWithDatabase points TEST_DATABASE_URL at.
const testDatabase = "understudy_test"

// RunWithDatabase starts the private cluster in cfg.Dir, runs child with
// TEST_DATABASE_URL set to a database on it (added to child.Env, or to this
// process's environment when child.Env is nil), and stops the cluster (if it
// started it) when child ends. It returns child's error as is: an
// *exec.ExitError carries its exit code.
func RunWithDatabase(ctx context.Context, cfg Config, child *exec.Cmd) error {
	cluster, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = cluster.Stop(stopCtx)
	}()
	url, err := cluster.CreateDatabase(ctx, testDatabase)
	if err != nil {
		return err
	}
	if child.Env == nil {
		child.Env = os.Environ()
	}
	child.Env = append(child.Env, "TEST_DATABASE_URL="+url)
	return child.Run()
}
