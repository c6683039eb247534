// Package localpg starts and stops a private PostgreSQL cluster for
// development and tests, from the PostgreSQL binaries installed on the
// machine.
//
// A cluster lives in one folder (Config.Dir): data/ is its data directory,
// postgres.log its server log and run/ holds its unix socket. The server
// listens on that socket only (listen_addresses is empty), so it never clashes
// with another PostgreSQL on TCP port 5432. Its superuser is "understudy",
// trusted without a password; run/ has mode 0700, so only the user running
// the server (and root) can reach the socket.
//
// Start creates the cluster with initdb the first time and starts it with
// pg_ctl. If a server is already running on the folder, Start reuses it and
// Stop leaves it running. PostgreSQL refuses to run as root, so when the
// process is root the folder is given to Config.User and initdb and pg_ctl
// run as that user.
package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// port only names the socket file (run/.s.PGSQL.5432): the server opens
	// no TCP port.
	port      = 5432
	superuser = "understudy"
	logLines  = 20 // lines of log or output quoted in errors
)

// Cluster is a PostgreSQL server running on a folder. The zero Cluster and a
// nil *Cluster are stopped clusters.
type Cluster struct {
	bin    string   // Config.BinDir
	dir    string   // absolute Config.Dir
	runAs  *account // nil unless this process is root
	logger *slog.Logger

	mu      sync.Mutex
	owned   bool // this Cluster started the server, so Stop stops it
	stopped bool
}

// Start starts the cluster in cfg.Dir, creating it first if needed, and
// returns when it accepts connections. If a server is already running on
// cfg.Dir it is reused, and Stop will leave it running.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := newCluster(cfg)
	if err != nil {
		return nil, err
	}
	if c.running(ctx) {
		c.logger.InfoContext(ctx, "localpg: reusing running PostgreSQL", slog.String("dir", c.dir))
		return c, nil
	}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if err := c.initdb(ctx); err != nil {
		return nil, err
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	c.owned = true
	c.logger.InfoContext(ctx, "localpg: started PostgreSQL", slog.String("dir", c.dir), slog.String("bin", c.bin))
	return c, nil
}

func newCluster(cfg Config) (*Cluster, error) {
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("localpg: Config.Dir %q: %w", cfg.Dir, err)
	}
	c := &Cluster{bin: cfg.BinDir, dir: dir, logger: cfg.Logger}
	if os.Geteuid() == 0 {
		if c.runAs, err = lookupAccount(cfg.User); err != nil {
			return nil, fmt.Errorf("localpg: Config.User: %w", err)
		}
	}
	return c, nil
}

// URL returns a pgx connection string for the database "postgres" as the
// superuser "understudy", over the cluster's unix socket.
func (c *Cluster) URL() string { return c.databaseURL("postgres") }

func (c *Cluster) databaseURL(dbname string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		connValue(c.socketDir()), port, superuser, connValue(dbname))
}

// connValue quotes v for a keyword/value connection string when it needs it.
func connValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n'\\") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}

const (
	databaseExistsQuery = `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`
	// duplicateDatabase is SQLSTATE 42P04, raised when another connection
	// created the database between our check and our CREATE.
	duplicateDatabase = "42P04"
	maxIdentifier     = 63 // NAMEDATALEN-1: longer names are truncated by the server
)

// CreateDatabase creates the database name unless it exists, and returns a
// connection string for it like URL's.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) (string, error) {
	if name == "" || len(name) > maxIdentifier || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("localpg: database name %q must be 1 to %d bytes, without NUL", name, maxIdentifier)
	}
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		return "", fmt.Errorf("localpg: connecting to the cluster in %s: %w", c.dir, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, databaseExistsQuery, name).Scan(&exists); err != nil {
		return "", fmt.Errorf("localpg: looking for database %q: %w", name, err)
	}
	if !exists {
		// CREATE DATABASE takes no parameters; the name is quoted as an identifier.
		_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		if err != nil && !isDuplicateDatabase(err) {
			return "", fmt.Errorf("localpg: creating database %q: %w", name, err)
		}
	}
	return c.databaseURL(name), nil
}

func isDuplicateDatabase(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && pgErr.Code == duplicateDatabase
}

// Stop stops the server if this Cluster started it (`pg_ctl stop -m fast`);
// a reused server is left running. Stop is safe to call twice, and on a nil
// or zero Cluster.
func (c *Cluster) Stop(ctx context.Context) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.owned || c.stopped {
		return nil
	}
	_, err := c.run(ctx, "pg_ctl", "stop", "-D", c.dataDir(), "-m", "fast", "-w", "-t", "60", "-s")
	if err != nil && fileExists(c.pidFile()) {
		return fmt.Errorf("localpg: stopping PostgreSQL in %s: %w%s", c.dir, err, c.logTail())
	}
	c.stopped = true
	c.logger.InfoContext(ctx, "localpg: stopped PostgreSQL", slog.String("dir", c.dir))
	return nil
}

func (c *Cluster) dataDir() string   { return filepath.Join(c.dir, "data") }
func (c *Cluster) socketDir() string { return filepath.Join(c.dir, "run") }
func (c *Cluster) logFile() string   { return filepath.Join(c.dir, "postgres.log") }
func (c *Cluster) pidFile() string   { return filepath.Join(c.dataDir(), "postmaster.pid") }

func socketFile(dir string) string {
	return filepath.Join(dir, "run", ".s.PGSQL."+strconv.Itoa(port))
}

// running reports whether a server runs on the data directory: its
// postmaster.pid names a live process and the socket accepts connections. A
// stale postmaster.pid (process gone) is not a running server; the server
// started next replaces it.
func (c *Cluster) running(ctx context.Context) bool {
	b, err := os.ReadFile(c.pidFile())
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		return false
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx) == nil
}

// prepareDir creates the folders and, as root, hands them to the server's user.
func (c *Cluster) prepareDir() error {
	// Parents stay searchable by the server's user; the cluster's own
	// folders are private to it.
	if err := os.MkdirAll(filepath.Dir(c.dir), 0o755); err != nil {
		return fmt.Errorf("localpg: creating %s: %w", filepath.Dir(c.dir), err)
	}
	for _, d := range []string{c.dir, c.socketDir()} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("localpg: creating %s: %w", d, err)
		}
	}
	if c.runAs == nil {
		return nil
	}
	if err := c.runAs.checkTraversable(c.dir); err != nil {
		return err
	}
	return c.runAs.chownAll(c.dir)
}

// initdb creates the cluster unless data/PG_VERSION exists.
func (c *Cluster) initdb(ctx context.Context) error {
	if fileExists(filepath.Join(c.dataDir(), "PG_VERSION")) {
		return nil
	}
	args := []string{"-D", c.dataDir(), "-U", superuser, "--auth=trust", "-E", "UTF8"}
	_, err := c.run(ctx, "initdb", append(args, "--locale=C.UTF-8")...)
	if err != nil {
		c.logger.DebugContext(ctx, "localpg: initdb with C.UTF-8 failed; retrying with --no-locale", slog.Any("error", err))
		_, err = c.run(ctx, "initdb", append(args, "--no-locale")...)
	}
	if err != nil {
		return fmt.Errorf("localpg: creating the cluster in %s: %w", c.dataDir(), err)
	}
	return nil
}

// start starts the server and waits until it accepts connections.
func (c *Cluster) start(ctx context.Context) error {
	// fsync=off trades crash safety for speed: acceptable for a throwaway
	// development and test cluster, never for data that matters.
	// listen_addresses='' opens no TCP port; pg_ctl runs the options through
	// /bin/sh, hence the single quotes (Validate rejects quotes in Dir).
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories='%s' -c port=%d -c fsync=off -c max_connections=200",
		c.socketDir(), port)
	_, err := c.run(ctx, "pg_ctl", "start", "-D", c.dataDir(), "-l", c.logFile(), "-w", "-t", "60", "-s", "-o", opts)
	if err != nil {
		return fmt.Errorf("localpg: starting PostgreSQL in %s: %w%s", c.dataDir(), err, c.logTail())
	}
	return nil
}

// run runs a PostgreSQL tool from BinDir, as the server's user when this
// process is root. Its error quotes the end of the tool's output.
func (c *Cluster) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, tool), args...)
	cmd.Dir = c.dir // the tools may not be able to enter the caller's working directory
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second // in case the server inherits the output pipe
	if c.runAs != nil {
		cmd.SysProcAttr = c.runAs.sysProcAttr()
	}
	err := cmd.Run()
	c.logger.DebugContext(ctx, "localpg: ran "+tool, slog.Any("args", args), slog.String("output", out.String()))
	if err != nil {
		name := tool
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			name += " " + args[0] // pg_ctl's mode: start, stop
		}
		return out.Bytes(), fmt.Errorf("%s: %w%s", name, err, quoteTail(tool+" output", out.Bytes()))
	}
	return out.Bytes(), nil
}

// logTail quotes the last lines of the server log for an error message.
func (c *Cluster) logTail() string {
	f, err := os.Open(c.logFile())
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 16 << 10 // enough for logLines lines
	if fi, err := f.Stat(); err == nil && fi.Size() > window {
		_, _ = f.Seek(-window, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return quoteTail(c.logFile(), b)
}

// quoteTail returns "\n--- last lines of what:\n" and the last logLines
// lines of b, or "" if b is blank.
func quoteTail(what string, b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) == 1 && strings.TrimSpace(lines[0]) == "" {
		return ""
	}
	lines = lines[max(0, len(lines)-logLines):]
	return "\n--- last lines of " + what + ":\n" + strings.Join(lines, "\n")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
