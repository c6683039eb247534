package chirp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/dbtest"
)

func TestSetDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref := e.provision("acct-1")
	e.app.SetDown(true)
	status, body := e.call("GET", "/healthz", nil)
	wantProblem(t, "healthz when down", status, body, http.StatusServiceUnavailable, "unavailable")
	status, body = e.call("POST", "/users", chirp.NewUser{Username: "x", Email: "x@example.com", DisplayName: "X"})
	wantProblem(t, "POST /users when down", status, body, http.StatusServiceUnavailable, "unavailable")
	status, body = e.signed("verify", target(ref, "acct-1"))
	wantProblem(t, "verify when down", status, body, http.StatusServiceUnavailable, "internal")
	if err := e.app.VerifyUser(t.Context(), target(ref, "acct-1")); err != nil {
		t.Fatalf("the Go methods must keep working when the HTTP API is down: %v", err)
	}

	e.app.SetDown(false)
	status, body = e.call("GET", "/healthz", nil)
	wantStatus(t, "healthz when up again", status, body, http.StatusOK)
	status, body = e.signed("verify", target(ref, "acct-1"))
	wantStatus(t, "verify when up again", status, body, http.StatusOK)
}

func TestSetDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const delay = 300 * time.Millisecond
	e.app.SetDelay(delay)
	start := time.Now()
	status, body := e.call("GET", "/healthz", nil)
	wantStatus(t, "healthz when slow", status, body, http.StatusOK)
	if took := time.Since(start); took < delay {
		t.Fatalf("a slow chirp answered in %v, want at least %v", took, delay)
	}
	e.app.SetDelay(0)
	start = time.Now()
	e.call("GET", "/healthz", nil)
	if took := time.Since(start); took >= delay {
		t.Fatalf("chirp answered in %v after the delay was removed", took)
	}
}

func TestWebhookWithoutSecretRefusesEverything(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	if err := chirp.Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	if err := chirp.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("Migrate is not idempotent: %v", err)
	}
	app, err := chirp.New(chirp.Config{DB: pool})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, app: app, pool: pool, srv: srv}
	// Signed with the empty key an unconfigured chirp would otherwise use.
	status, body := e.webhook("provision", map[string]any{"account": account("acct-1")}, []byte{}, time.Now())
	wantStatus(t, "provision without a configured secret", status, body, http.StatusUnauthorized)
	if _, err := chirp.New(chirp.Config{}); err == nil {
		t.Fatal("New without a DB succeeded")
	}
}
