package localpg

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// testDir returns a fresh, not yet existing folder for a cluster. As root the
// server runs as another user, which must be able to enter the folders that
// t.TempDir creates with mode 0700, so they are opened up to 0755.
func testDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for p := dir; p != filepath.Clean(os.TempDir()) && p != filepath.Dir(p); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatalf("opening up %s: %v", p, err)
		}
	}
	return filepath.Join(dir, "pg")
}

// startCluster starts a cluster in dir and stops it when the test ends. It
// skips the test only when the machine has no PostgreSQL binaries.
func startCluster(t *testing.T, dir string) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := Start(ctx, Config{Dir: dir, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if errors.Is(err, ErrNoBinaries) {
		t.Skipf("no PostgreSQL binaries on this machine: %v", err)
	}
	if err != nil {
		t.Fatalf("Start(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("Stop in cleanup: %v", err)
		}
	})
	return c
}

// queryValue runs sql on the database at url and returns the one value it selects.
func queryValue[T any](t *testing.T, url, sql string) T {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	defer conn.Close(context.Background())
	var v T
	if err := conn.QueryRow(t.Context(), sql).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// execSQL runs sqls in order on the database at url.
func execSQL(t *testing.T, url string, sqls ...string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	defer conn.Close(context.Background())
	for _, sql := range sqls {
		if _, err := conn.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

func TestClusterLifecycle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := testDir(t)

	first := startCluster(t, dir)
	if got := queryValue[int](t, first.URL(), "SELECT 1"); got != 1 {
		t.Fatalf("SELECT 1 = %d", got)
	}
	if got := queryValue[string](t, first.URL(), "SHOW listen_addresses"); got != "" {
		t.Errorf("listen_addresses = %q, want empty (socket only)", got)
	}

	// A name with a space exercises the quoting of the connection string.
	appURL, err := first.CreateDatabase(ctx, "app data")
	if err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}
	execSQL(t, appURL, "CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('survives')")
	if got := queryValue[string](t, appURL, "SELECT current_database()"); got != "app data" {
		t.Fatalf("current_database() = %q, want %q", got, "app data")
	}
	again, err := first.CreateDatabase(ctx, "app data")
	if err != nil || again != appURL {
		t.Fatalf("CreateDatabase again = %q, %v; want %q, nil", again, err, appURL)
	}

	for i := range 2 {
		if err := first.Stop(ctx); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
	}
	if conn, err := pgx.Connect(ctx, first.URL()); err == nil {
		conn.Close(ctx)
		t.Fatal("the server still accepts connections after Stop")
	}

	second := startCluster(t, dir)
	if got := queryValue[string](t, appURL, "SELECT v FROM kept"); got != "survives" {
		t.Fatalf("after restart, kept.v = %q, want %q", got, "survives")
	}

	// A Start on a running server reuses it, and its Stop leaves it running.
	reused := startCluster(t, dir)
	if reused.URL() != second.URL() {
		t.Errorf("reused URL = %q, want %q", reused.URL(), second.URL())
	}
	if err := reused.Stop(ctx); err != nil {
		t.Fatalf("Stop of the reused cluster: %v", err)
	}
	if got := queryValue[int](t, second.URL(), "SELECT 1"); got != 1 {
		t.Fatalf("after the reused cluster's Stop, SELECT 1 = %d", got)
	}
}

func TestStartReplacesStalePIDFile(t *testing.T) {
	t.Parallel()
	dir := testDir(t)
	c := startCluster(t, dir)
	pidFile := c.pidFile()
	live, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("reading postmaster.pid: %v", err)
	}
	if err := c.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	// Leave behind the pid file of a crashed server: same content, dead pid.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatalf("running true: %v", err)
	}
	deadPID := strconv.Itoa(gone.ProcessState.Pid())
	_, rest, _ := strings.Cut(string(live), "\n")
	if err := os.WriteFile(pidFile, []byte(deadPID+"\n"+rest), 0o600); err != nil {
		t.Fatalf("writing a stale postmaster.pid: %v", err)
	}

	restarted := startCluster(t, dir)
	if got := queryValue[int](t, restarted.URL(), "SELECT 1"); got != 1 {
		t.Fatalf("SELECT 1 = %d", got)
	}
	now, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("reading postmaster.pid: %v", err)
	}
	if strings.HasPrefix(string(now), deadPID+"\n") {
		t.Errorf("postmaster.pid still names the dead process %s", deadPID)
	}
}

func TestStopWithoutStart(t *testing.T) {
	t.Parallel()
	var nilCluster *Cluster
	for name, c := range map[string]*Cluster{"nil": nilCluster, "zero": {}} {
		for i := range 2 {
			if err := c.Stop(t.Context()); err != nil {
				t.Errorf("%s Cluster: Stop #%d = %v, want nil", name, i+1, err)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	bin := Config{}.WithDefaults().BinDir
	if bin == "" {
		bin = "/nonexistent" // the cases that need real binaries are skipped below
	}
	tests := []struct {
		name     string
		cfg      Config
		want     string // substring of the error; "" for nil
		rootOnly bool
	}{
		{"no Dir", Config{BinDir: bin, User: "postgres"}, "Config.Dir is required", false},
		{"quote in Dir", Config{Dir: "it's", BinDir: bin}, "Config.Dir", false},
		{"comma in Dir", Config{Dir: "a,b", BinDir: bin}, "Config.Dir", false},
		{"Dir too deep", Config{Dir: "/" + strings.Repeat("d", 100), BinDir: bin}, "too deep", false},
		{"no BinDir", Config{Dir: "pg"}, "install the postgresql package", false},
		{"BinDir without initdb", Config{Dir: "pg", BinDir: t.TempDir()}, "Config.BinDir", false},
		{"unknown User", Config{Dir: "pg", BinDir: bin, User: "no-such-user-localpg"}, "Config.User", true},
		{"root User", Config{Dir: "pg", BinDir: bin, User: "root"}, "refuses to run as root", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rootOnly && os.Geteuid() != 0 {
				t.Skip("User is only checked when running as root")
			}
			if tt.cfg.BinDir == "/nonexistent" {
				t.Skip("no PostgreSQL binaries on this machine")
			}
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if err := (Config{}).Validate(); !strings.Contains(err.Error(), "Config.Dir") {
		t.Errorf("empty Config: Validate() = %v, want it to name Config.Dir", err)
	}
	if err := (Config{Dir: "pg"}).Validate(); !errors.Is(err, ErrNoBinaries) {
		t.Errorf("no BinDir: Validate() = %v, want ErrNoBinaries", err)
	}
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	cfg := Config{Dir: "pg"}.WithDefaults()
	if cfg.Logger == nil {
		t.Error("Logger is nil")
	}
	if cfg.User != "postgres" && cfg.User != "nobody" {
		t.Errorf("User = %q, want postgres or nobody", cfg.User)
	}
	if cfg.BinDir == "" {
		t.Skip("no PostgreSQL binaries on this machine")
	}
	if !isExecutable(filepath.Join(cfg.BinDir, "initdb")) {
		t.Errorf("BinDir %s holds no initdb", cfg.BinDir)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() of the defaults = %v", err)
	}

	logger := slog.New(slog.DiscardHandler)
	set := Config{Dir: "pg", BinDir: "/opt/pg/bin", User: "me", Logger: logger}.WithDefaults()
	if set.BinDir != "/opt/pg/bin" || set.User != "me" || set.Logger != logger {
		t.Errorf("WithDefaults overwrote set fields: %+v", set)
	}
}

func TestNewestBinDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, v := range []string{"9.6", "15", "16", "10"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if v == "16" {
			continue // a version without initdb (client only) does not count
		}
		if err := os.WriteFile(filepath.Join(bin, "initdb"), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := newestBinDir(root), filepath.Join(root, "15", "bin"); got != want {
		t.Errorf("newestBinDir = %q, want %q", got, want)
	}
	if got := newestBinDir(filepath.Join(root, "none")); got != "" {
		t.Errorf("newestBinDir of an empty root = %q, want empty", got)
	}
}

func TestURLParses(t *testing.T) {
	t.Parallel()
	c := &Cluster{dir: "/tmp/my pg"}
	for _, db := range []string{"postgres", "app data", `it's`, `back\slash`} {
		cfg, err := pgconn.ParseConfig(c.databaseURL(db))
		if err != nil {
			t.Fatalf("ParseConfig(%q): %v", c.databaseURL(db), err)
		}
		if cfg.Host != "/tmp/my pg/run" || cfg.Port != port || cfg.User != superuser || cfg.Database != db {
			t.Errorf("%q parses to host=%q port=%d user=%q dbname=%q", c.databaseURL(db), cfg.Host, cfg.Port, cfg.User, cfg.Database)
		}
	}
	if got, want := (&Cluster{dir: "/x"}).URL(), "host=/x/run port=5432 user=understudy dbname=postgres sslmode=disable"; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
}

func TestStartNamesUnsearchableParent(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to another user")
	}
	if (Config{}).WithDefaults().BinDir == "" {
		t.Skip("no PostgreSQL binaries on this machine")
	}
	private := t.TempDir() // t.TempDir's parent is 0700: the server's user cannot enter it
	locked := filepath.Dir(private)
	if fi, err := os.Stat(locked); err != nil || fi.Mode().Perm()&0o001 != 0 {
		t.Skipf("%s is searchable by others (%v); nothing to test", locked, err)
	}
	c, err := Start(t.Context(), Config{Dir: filepath.Join(private, "pg")})
	if err == nil {
		_ = c.Stop(t.Context())
		t.Fatal("Start succeeded below a folder the server's user cannot enter")
	}
	if !strings.Contains(err.Error(), "cannot enter "+locked+" ") {
		t.Errorf("Start() = %v, want it to name %s", err, locked)
	}
}
