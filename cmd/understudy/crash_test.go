package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/openapi"
)

// asBinary, set in a child's environment, makes the test binary run as the
// understudy binary itself (see TestMain): a test that needs the real
// program as a process (to SIGKILL it) re-executes itself instead of
// building the binary.
const asBinary = "UNDERSTUDY_TEST_RUN_AS_BINARY"

// binary returns the path of the program to start as the real binary.
func binary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// process is the real server running as a child process.
type process struct {
	cmd *exec.Cmd
	url string
}

func startProcess(t *testing.T, dbURL, addr string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--database-url", dbURL, "--addr", addr)
	cmd.Env = append(os.Environ(), asBinary+"=1", "UNDERSTUDY_SECRET_KEY="+testKey, "UNDERSTUDY_EMAIL_DOMAINS=qa.example.test",
		"UNDERSTUDY_APP_TIMEOUT=2s", "UNDERSTUDY_LEASE_EXPIRY_INTERVAL=500ms", "UNDERSTUDY_LOG_LEVEL=error", "UNDERSTUDY_DATA_DIR="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, url: "http://" + addr}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(p.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The server killed with SIGKILL in the middle of a reset: after a restart
// the account is not leased twice, and once the interrupted lease expires a
// new lease resets the account and gets it.
func TestKilledDuringResetTheAccountIsNotLeasedTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app, appURL := startChirp(t)
	dbURL := dbtest.NewDatabase(t)
	s := &testServer{DatabaseURL: dbURL}
	s.Admin, s.Runner, s.Reader = bootstrapTokens(t, dbURL)
	addr := freeAddr(t)
	p := startProcess(t, dbURL, addr)
	s.URL = p.url
	admin := s.client(t, s.Admin)
	if r, err := admin.CreateEnvironmentWithResponse(ctx, openapi.EnvironmentCreate{Name: "production", EmailDomains: []string{"qa.example.test"}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("environment: %v", err)
	}
	if r, err := admin.CreateRoleWithResponse(ctx, "production", openapi.RoleCreate{Name: "buyer"}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("role: %v", err)
	}
	settings := map[string]any{"base_url": appURL + "/understudy", "timeout": "5s", "max_attempts": 1}
	if r, err := admin.AttachAppWithResponse(ctx, "production", openapi.AppAttach{Name: "chirp", Provider: "webhook",
		Settings: &settings, Secrets: &map[string]string{"signing_secret": chirpSecret}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("attach: %v %s", err, r.Body)
	}
	waitReady(t, s, "production")

	app.SetDelay(10 * time.Second) // the restore will be in flight when the server dies
	// The lease lives long enough to outlive a restart on a loaded machine.
	req := openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "doomed", TtlSeconds: new(6)}
	go func() { _, _ = s.client(t, s.Runner).AcquireLeaseWithResponse(ctx, nil, req) }()
	// Kill the server once the lease is acquiring (its restore is held by
	// the app's delay), however slow the machine is today.
	for deadline := time.Now().Add(8 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		open, _ := s.client(t, s.Runner).ListLeasesWithResponse(ctx, &openapi.ListLeasesParams{})
		if open != nil && open.JSON200 != nil && len(open.JSON200.Items) == 1 && open.JSON200.Items[0].Status == openapi.LeaseStatusAcquiring {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lease never started acquiring")
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	app.SetDelay(0)

	startProcess(t, dbURL, addr)
	runner := s.client(t, s.Runner)
	open, _ := runner.ListLeasesWithResponse(ctx, &openapi.ListLeasesParams{})
	if open.JSON200 == nil || len(open.JSON200.Items) != 1 || open.JSON200.Items[0].Status != openapi.LeaseStatusAcquiring {
		t.Fatalf("after the restart, open leases = %s", open.Body)
	}
	busy, _ := runner.AcquireLeaseWithResponse(ctx, nil, openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "second"})
	problemOf(t, busy.StatusCode(), busy.Body, http.StatusConflict, "conflict")

	g, err := runner.AcquireLeaseWithResponse(ctx, nil, openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "third", WaitSeconds: new(30)})
	if err != nil || g.JSON201 == nil || g.JSON201.Lease.Status != openapi.LeaseStatusActive {
		t.Fatalf("after the interrupted lease expired: %v %s", err, g.Body)
	}
}

const chirpSecret = "chirp-webhook-secret-for-tests"

// chirpPasswordCost is the bcrypt cost of the chirps the tests start: the
// cheapest, since the default takes a second a hash under the race detector.
const chirpPasswordCost = bcrypt.MinCost

// startChirp serves chirp, on a database of its own, over HTTP.
func startChirp(t *testing.T) (*chirp.App, string) {
	t.Helper()
	pool := dbtest.NewPool(t)
	if err := chirp.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	app, err := chirp.New(chirp.Config{DB: pool, WebhookSecret: []byte(chirpSecret), PasswordCost: chirpPasswordCost})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	return app, srv.URL
}

// bootstrapTokens creates one token of each scope on the database directly.
func bootstrapTokens(t *testing.T, dbURL string) (admin, runner, reader string) {
	t.Helper()
	ctx := access.WithCaller(context.Background(), access.Caller{Actor: "test"})
	pool := dbtest.PoolFor(t, dbURL)
	tokens := access.NewTokens(pool)
	out := make([]string, 3)
	for i, sc := range []access.Scope{access.ScopeAdmin, access.ScopeRunner, access.ScopeReader} {
		_, secret, err := tokens.Create(ctx, "test-"+string(sc), sc)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = secret
	}
	return out[0], out[1], out[2]
}
