package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"maps"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/tracing"
)

func TestMain(m *testing.M) {
	if os.Getenv(asBinary) == "1" { // a child started by startProcess: be the real program
		if w, err := strconv.Atoi(os.Getenv(specMaxWorkEnv)); err == nil {
			specMaxWork = w
		}
		main()
	}
	dbtest.Main(m)
}

// testKey is the secret key of test servers: fixed, so a test can read
// what another server of the same database sealed.
var testKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))

// testDBMaxConns is a test server's pool size, unless a test's Mutate
// sets another.
const testDBMaxConns = 5

// testServer is the real program (Main) on port 0 against a database of
// its own, with one token of each scope.
type testServer struct {
	main                  *Main
	URL                   string
	DatabaseURL           string
	Admin, Runner, Reader string
}

type serverOptions struct {
	// DatabaseURL defaults to a new migrated database for the test.
	DatabaseURL string
	// Mutate changes the config before Run.
	Mutate func(*Config)
	// Logs receives the server's logs. Defaults to a buffer nobody reads.
	Logs io.Writer
	// TokenSuffix is appended to the token names (test-admin…), for a
	// second server on the same database.
	TokenSuffix string
	// Tracing is where the server's spans go. Defaults to nowhere.
	Tracing tracing.Config
}

func startServer(t testing.TB, o serverOptions) *testServer {
	t.Helper()
	if o.DatabaseURL == "" {
		o.DatabaseURL = dbtest.NewDatabase(t)
	}
	cfg := Config{DatabaseURL: o.DatabaseURL, Addr: "127.0.0.1:0", SecretKey: testKey,
		EmailDomains: []string{"qa.example.test", "qa2.example.test"}, DataDir: t.TempDir(),
		// Syncs and audits run when a test asks: a scheduled run would
		// change the counts the tests assert.
		SyncScheduleInterval: time.Hour, IsolationAuditInterval: time.Hour,
		// A small pool: the package's tests run many servers at once
		// (go test -parallel), against one PostgreSQL's connections.
		DBMaxConns: testDBMaxConns}.WithDefaults()
	if o.Mutate != nil {
		o.Mutate(&cfg)
	}
	if o.Logs == nil {
		o.Logs = &bytes.Buffer{}
	}
	m := &Main{Config: cfg, Logger: (&cli{stderr: &lockedWriter{w: o.Logs}}).logger("debug"), Tracing: o.Tracing}
	ctx := context.Background()
	if err := m.Run(ctx); err != nil {
		t.Fatalf("starting the server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("closing the server: %v", err)
		}
	})
	s := &testServer{main: m, URL: "http://" + m.Addr(), DatabaseURL: o.DatabaseURL}
	tokens := access.NewTokens(m.pool)
	for _, x := range []struct {
		dst   *string
		scope access.Scope
	}{{&s.Admin, access.ScopeAdmin}, {&s.Runner, access.ScopeRunner}, {&s.Reader, access.ScopeReader}} {
		_, secret, err := tokens.Create(access.WithCaller(ctx, access.Caller{Actor: "test"}), "test-"+string(x.scope)+o.TokenSuffix, x.scope)
		if err != nil {
			t.Fatal(err)
		}
		*x.dst = secret
	}
	awaitStartupSchedule(t, m)
	return s
}

// awaitStartupSchedule waits until the sync scheduler's run at start-up
// (River runs it once the server is elected leader, which a busy machine
// delays by seconds) is over. Until then a destination a test attaches
// would be found due, never having run, and synced behind the test's back.
func awaitStartupSchedule(t testing.TB, m *Main) {
	t.Helper()
	const q = `SELECT count(*) FROM river_job WHERE kind = 'schedule_syncs' AND state = 'completed'`
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int
		if err := m.pool.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatalf("reading the scheduler's jobs: %v", err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the sync scheduler did not run at start-up within 2 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cliResult is what one CLI run printed and its exit code.
type cliResult struct {
	Stdout, Stderr string
	Code           int
}

// cli runs the understudy command line in-process against s with token.
func (s *testServer) cli(t *testing.T, token string, argv ...string) cliResult {
	t.Helper()
	return s.cliEnv(t, nil, token, argv...)
}

// cliEnv is cli with the environment variables extra besides the server's
// URL and the token.
func (s *testServer) cliEnv(t *testing.T, extra map[string]string, token string, argv ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"UNDERSTUDY_URL": s.URL, "UNDERSTUDY_TOKEN": token}
	maps.Copy(env, extra)
	a := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: time.Now,
		getenv: func(k string) string { return env[k] }, httpClient: http.DefaultClient}
	code := a.run(context.Background(), argv)
	return cliResult{Stdout: out.String(), Stderr: errb.String(), Code: code}
}
