package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/openapi"
)

// chirpSite is a real server with chirp attached to its environment
// production through the webhook provider, over HTTP, and roles whose
// accounts are all ready.
type chirpSite struct {
	s     *testServer
	admin *openapi.ClientWithResponses
	app   *chirp.App
	pool  *pgxpool.Pool // chirp's database
	url   string        // chirp's base URL
	logs  *lockedBuffer // chirp's log, JSON lines
}

// newChirpSite starts the server and chirp, attaches chirp and creates the
// roles, each with its pool size, then waits until every account is ready.
func newChirpSite(t *testing.T, roles map[string]int) chirpSite {
	return newChirpSiteWith(t, roles, false)
}

// newChirpSiteWith is newChirpSite; with walls, the server receives mail
// over SMTP on a loopback port and chirp signs in through its walls: a code
// it mails there after the password, and an authenticator code for the
// users it enrolled (its admins).
func newChirpSiteWith(t *testing.T, roles map[string]int, walls bool) chirpSite {
	t.Helper()
	ctx := context.Background()
	logs := &lockedBuffer{}
	opts := serverOptions{Logs: logs}
	if walls {
		opts.Mutate = func(c *Config) { c.SMTPAddr, c.SMTPCheckSenders = "127.0.0.1:0", new(false) }
	}
	site := chirpSite{s: startServer(t, opts), pool: dbtest.NewPool(t), logs: &lockedBuffer{}}
	site.admin = site.s.client(t, site.s.Admin)
	if err := chirp.Migrate(ctx, site.pool); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	site.url = "http://" + ln.Addr().String()
	cfg := chirp.Config{DB: site.pool, WebhookSecret: []byte(chirpSecret), PasswordCost: chirpPasswordCost,
		Logger: slog.New(slog.NewJSONHandler(site.logs, nil))}
	if walls {
		cfg.SMTPAddr, cfg.BaseURL = site.s.main.SMTPAddr(), site.url
	}
	if site.app, err = chirp.New(cfg); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(site.app.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	if r, err := site.admin.CreateEnvironmentWithResponse(ctx, openapi.EnvironmentCreate{Name: "production", EmailDomains: []string{"qa.example.test"}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("environment: %v", err)
	}
	if r, err := site.admin.AttachAppWithResponse(ctx, "production", openapi.AppAttach{Name: "chirp", Provider: "webhook",
		// Two attempts: a test that takes chirp down learns it in a second.
		Settings: &map[string]any{"base_url": srv.URL + "/understudy", "max_attempts": 2}, Secrets: &map[string]string{"signing_secret": chirpSecret}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("attach: %v %s", err, r.Body)
	}
	total := 0
	for role, size := range roles {
		if r, err := site.admin.CreateRoleWithResponse(ctx, "production", openapi.RoleCreate{Name: role, PoolSize: new(size)}); err != nil || r.StatusCode() != 201 {
			t.Fatalf("role %s: %v %s\nthe server's log:\n%s", role, err, r.Body, logs.String())
		}
		total += size
	}
	waitAccountsReady(t, site.admin, total)
	return site
}

// waitAccountsReady waits until n accounts are ready (their baselines
// captured).
func waitAccountsReady(t *testing.T, admin *openapi.ClientWithResponses, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, err := admin.ListAccountsWithResponse(context.Background(), &openapi.ListAccountsParams{Status: new(openapi.AccountStatusReady)})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("listing accounts: %v", err)
		}
		if len(r.JSON200.Items) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d accounts ready after 30s, want %d", len(r.JSON200.Items), n)
		}
	}
}

// signInStatus posts chirp's sign-in form and returns the status: 303 when
// chirp let the user in, 401 when it did not.
func (c chirpSite) signInStatus(t *testing.T, email, password string) int {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(c.url+"/login", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// lease leases the role's account with the runner token.
func (c chirpSite) lease(t *testing.T, role string) *openapi.LeaseGrant {
	t.Helper()
	g, err := c.s.client(t, c.s.Runner).AcquireLeaseWithResponse(context.Background(), &openapi.AcquireLeaseParams{},
		openapi.LeaseRequest{Environment: "production", Role: role, Holder: t.Name()})
	if err != nil || g.JSON201 == nil {
		t.Fatalf("leasing a %s: %v %s", role, err, g.Body)
	}
	return g.JSON201
}

func TestLeasedCredentialsSignInToChirpAcrossRotations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	site := newChirpSite(t, map[string]int{"buyer": 1})
	g := site.lease(t, "buyer")
	email, first := g.Credentials.Email, g.Credentials.Password
	if got := site.signInStatus(t, email, first); got != http.StatusSeeOther {
		t.Fatalf("signing in with the leased credentials = %d, want 303", got)
	}

	rot, err := site.admin.RotatePasswordWithResponse(ctx, g.Lease.AccountId)
	if err != nil || rot.JSON200 == nil {
		t.Fatalf("rotating: %v %s", err, rot.Body)
	}
	second := rot.JSON200.Password
	if got := site.signInStatus(t, email, first); got != http.StatusUnauthorized {
		t.Fatalf("the old password still signs in after a rotation: %d", got)
	}
	if got := site.signInStatus(t, email, second); got != http.StatusSeeOther {
		t.Fatalf("the rotated password does not sign in: %d", got)
	}

	// With chirp down, the rotation says which app did not get the password;
	// once chirp is back, a rotation again reaches it.
	site.app.SetDown(true)
	down, err := site.admin.RotatePasswordWithResponse(ctx, g.Lease.AccountId)
	if err != nil {
		t.Fatal(err)
	}
	p := problemOf(t, down.StatusCode(), down.Body, http.StatusServiceUnavailable, "unavailable")
	if !strings.Contains(p.Detail, "app chirp could not be given it") || p.Type != "urn:understudy:problem:app-unavailable" {
		t.Fatalf("rotation with chirp down = %+v", p)
	}
	site.app.SetDown(false)
	rot, err = site.admin.RotatePasswordWithResponse(ctx, g.Lease.AccountId)
	if err != nil || rot.JSON200 == nil {
		t.Fatalf("rotating: %v %s", err, rot.Body)
	}
	third := rot.JSON200.Password

	// The next lease (after a reset) returns the current password, which
	// chirp accepts.
	if r, err := site.s.client(t, site.s.Runner).ReleaseLeaseWithResponse(ctx, g.Lease.Id, openapi.LeaseRelease{}); err != nil || r.JSON200 == nil {
		t.Fatalf("releasing: %v", err)
	}
	again := site.lease(t, "buyer")
	if again.Credentials.Password != third {
		t.Fatal("the next lease does not return the rotated password")
	}
	if got := site.signInStatus(t, email, third); got != http.StatusSeeOther {
		t.Fatalf("signing in after the rotations and a reset = %d, want 303", got)
	}
}
