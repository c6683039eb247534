package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/openapi"
)

// withApp starts a server with role buyer (a pool of pool accounts) and
// the fake app mem attached to production, and waits until every account
// is provisioned into it.
func withApp(t *testing.T, pool string) (*testServer, []openapi.Account) {
	t.Helper()
	s := withRole(t, pool)
	mustOK(t, s.cli(t, s.Admin, "apps", "attach", "production", "mem", "--provider", "fake"))
	return s, accountsReady(t, s)
}

// accountsReady polls accounts list until every account is ready, for 10s.
func accountsReady(t *testing.T, s *testServer) []openapi.Account {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list := decode[openapi.AccountList](t, s, "accounts", "list").Items
		ready := len(list) > 0
		for _, x := range list {
			ready = ready && x.Status == openapi.AccountStatusReady
		}
		if ready {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("accounts not ready after 10s: %+v", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCLIApps(t *testing.T) {
	t.Parallel()
	s := withRole(t, "2")
	secretFile := filepath.Join(t.TempDir(), "signing")
	if err := os.WriteFile(secretFile, []byte("from-a-file-s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	out := mustOK(t, s.cli(t, s.Admin, "apps", "attach", "production", "mem", "--provider", "fake",
		"--settings", `{"delay":"1ms"}`, "--secret", "api_key=hunter2-value", "--secret-file", "signing="+secretFile)).Stdout
	if rs := rows(t, out); len(rs) != 1 || rs[0][1] != "mem" || rs[0][2] != "fake" || rs[0][3] != "api_key,signing" {
		t.Errorf("apps attach printed %q", out)
	}
	if rs := rows(t, mustOK(t, s.cli(t, s.Reader, "apps", "list", "production")).Stdout); len(rs) != 1 || rs[0][1] != "mem" {
		t.Errorf("apps list shows %v, want mem", rs)
	}
	get := mustOK(t, s.cli(t, s.Reader, "apps", "get", "production", "mem")).Stdout
	getJSON := mustOK(t, s.cli(t, s.Admin, "apps", "get", "production", "mem", "-o", "json")).Stdout
	for _, o := range []string{out, get, getJSON} {
		if strings.Contains(o, "hunter2-value") || strings.Contains(o, "from-a-file-s3cr3t") {
			t.Errorf("a secret value was printed:\n%s", o)
		}
	}
	if f := grantOf(get); f["Provider"] != "fake" || f["Secrets"] != "api_key,signing" || !strings.Contains(get, `"delay": "1ms"`) {
		t.Errorf("apps get does not show the provider, secret names and settings:\n%s", get)
	}

	// An update without secrets keeps them.
	mustOK(t, s.cli(t, s.Admin, "apps", "update", "production", "mem", "--settings", `{"delay":"2ms"}`))
	if a := decode[openapi.App](t, s, "apps", "get", "production", "mem"); a.Settings["delay"] != "2ms" || len(a.SecretNames) != 2 {
		t.Errorf("after update: settings %v, secrets %v", a.Settings, a.SecretNames)
	}
	accountsReady(t, s)
	if res := mustOK(t, s.cli(t, s.Admin, "apps", "test", "production", "mem")); !strings.HasPrefix(res.Stdout, "OK mem in ") {
		t.Errorf("apps test printed %q", res.Stdout)
	}
	if c := decode[openapi.AppCheck](t, s, "apps", "test", "production", "mem"); !c.Ok || c.App != "mem" || c.Elapsed == "" {
		t.Errorf("apps test -o json = %+v", c)
	}

	mustOK(t, s.cli(t, s.Admin, "apps", "update", "production", "mem", "--secret="))
	if a := decode[openapi.App](t, s, "apps", "get", "production", "mem"); len(a.SecretNames) != 0 || a.Settings["delay"] != "2ms" {
		t.Errorf("after --secret=: secrets %v, settings %v; want no secrets, settings kept", a.SecretNames, a.Settings)
	}

	if out := mustOK(t, s.cli(t, s.Admin, "apps", "detach", "production", "mem")).Stdout; out != "detached app mem from environment production\n" {
		t.Errorf("apps detach printed %q", out)
	}
	if rs := rows(t, mustOK(t, s.cli(t, s.Reader, "apps", "list", "production")).Stdout); len(rs) != 0 {
		t.Errorf("apps list after detach shows %v", rs)
	}
	mustFail(t, s.cli(t, s.Reader, "apps", "get", "production", "mem"), exitNotFound)
}

func TestCLIAppsRefused(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	attach := []string{"apps", "attach", "production", "mem"}
	for _, tc := range []struct {
		name string
		argv []string
		code int
		want []string
	}{
		{"unknown provider", append(attach, "--provider", "carrier-pigeon"), exitInvalid, []string{"provider"}},
		{"bad settings", append(attach, "--provider", "fake", "--settings", `{"delay":"soon"}`), exitInvalid, []string{"settings.delay"}},
		{"no provider", attach, exitUsage, []string{"--provider"}},
		{"settings not JSON", append(attach, "--provider", "fake", "--settings", `{delay}`), exitUsage, []string{"JSON"}},
		{"settings not an object", append(attach, "--provider", "fake", "--settings", `[1]`), exitUsage, []string{"JSON"}},
		{"settings twice", append(attach, "--provider", "fake", "--settings", `{}`, "--settings-file", "x.json"), exitUsage, []string{"--settings-file"}},
		{"missing secret file", append(attach, "--provider", "fake", "--secret-file", "k=/nonexistent/secret"), exitUsage, []string{"--secret-file k"}},
		{"unknown app", []string{"apps", "test", "production", "ghost"}, exitNotFound, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mustFail(t, s.cli(t, s.Admin, tc.argv...), tc.code, tc.want...)
		})
	}
	// A malformed --secret is refused without repeating what may be the secret.
	res := s.cli(t, s.Admin, append(attach, "--provider", "fake", "--secret", "hunter2-value")...)
	mustFail(t, res, exitUsage, "KEY=VALUE")
	if strings.Contains(res.Stderr, "hunter2") {
		t.Errorf("the refusal repeats the value: %s", res.Stderr)
	}
	if rs := rows(t, mustOK(t, s.cli(t, s.Reader, "apps", "list", "production")).Stdout); len(rs) != 0 {
		t.Errorf("refused attaches left apps %v", rs)
	}
}

func TestCLISnapshotsAndReset(t *testing.T) {
	t.Parallel()
	s, accts := withApp(t, "2")
	for _, a := range accts {
		rs := rows(t, mustOK(t, s.cli(t, s.Reader, "snapshots", "list", a.Id)).Stdout)
		if len(rs) != 1 || rs[0][0] != "initial" || rs[0][1] != "v1" || rs[0][2] != "mem" || len(rs[0][3]) != 12 {
			t.Errorf("snapshots of %s: %v, want one initial v1 of mem", a.Id, rs)
		}
	}
	id := accts[0].Id
	if rs := rows(t, mustOK(t, s.cli(t, s.Admin, "snapshots", "capture", id, "with-cart")).Stdout); len(rs) != 1 || rs[0][0] != "with-cart" {
		t.Errorf("snapshots capture printed %v", rs)
	}
	if rs := rows(t, mustOK(t, s.cli(t, s.Reader, "snapshots", "list", id, "--state", "with-cart")).Stdout); len(rs) != 1 || rs[0][1] != "v1" {
		t.Errorf("snapshots list --state with-cart shows %v, want with-cart v1", rs)
	}
	if rs := rows(t, mustOK(t, s.cli(t, s.Reader, "snapshots", "list", id)).Stdout); len(rs) != 2 {
		t.Errorf("snapshots list shows %v, want initial and with-cart", rs)
	}

	first := decode[openapi.SnapshotList](t, s, "snapshots", "list", id, "--state", "initial").Items[0]
	other := decode[openapi.SnapshotList](t, s, "snapshots", "list", accts[1].Id).Items[0]
	shown := mustOK(t, s.cli(t, s.Admin, "snapshots", "show", first.Hash)).Stdout
	var doc map[string]any
	if err := json.Unmarshal([]byte(shown), &doc); err != nil || len(doc) == 0 || !strings.Contains(shown, "\n  ") {
		t.Errorf("snapshots show printed %q (%v), want an indented JSON object", shown, err)
	}
	mustFail(t, s.cli(t, s.Admin, "snapshots", "show", strings.Repeat("0", 64)), exitNotFound)

	// The fake app gives every user the same state: a diff of two accounts' baselines is empty.
	if same := rows(t, mustOK(t, s.cli(t, s.Admin, "snapshots", "diff", first.Hash, other.Hash)).Stdout); len(same) != 0 {
		t.Errorf("two baselines of the fake app differ: %v", same)
	}

	if out := mustOK(t, s.cli(t, s.Admin, "accounts", "reset", id)).Stdout; out != "reset account "+id+" to initial: ready\n" {
		t.Errorf("accounts reset printed %q", out)
	}
	if x := decode[openapi.Account](t, s, "accounts", "reset", id, "--state", "with-cart"); x.Status != openapi.AccountStatusReady || x.Id != id {
		t.Errorf("accounts reset --state with-cart: %+v", x)
	}
}

// shopSchema is a small app in PostgreSQL: users and their cart items.
const shopSchema = `
CREATE SCHEMA shop;
CREATE TABLE shop.users (id bigserial PRIMARY KEY, email text, username text,
	is_synthetic boolean NOT NULL DEFAULT false, understudy_account_id text UNIQUE);
CREATE TABLE shop.cart_items (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES shop.users, sku text NOT NULL);`

// TestCLISnapshotDiffAndResetOfARealApp attaches a postgres app (its DSN
// from a --secret-file), puts an item in a cart behind Understudy's back,
// and checks that diff shows it and reset takes it away.
func TestCLISnapshotDiffAndResetOfARealApp(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	ctx := context.Background()
	dsn := dbtest.NewDatabase(t)
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	if _, err := db.Exec(ctx, shopSchema); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	settings := `{"schema":"shop","users_table":"users","key_column":"id","synthetic_column":"is_synthetic",
		"owner_column":"understudy_account_id","columns":{"email":"email","username":"username"},
		"tables":[{"table":"cart_items","user_column":"user_id"}]}`
	for name, content := range map[string]string{"settings.json": settings, "dsn": dsn + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mustOK(t, s.cli(t, s.Admin, "apps", "attach", "production", "shop", "--provider", "postgres",
		"--settings-file", filepath.Join(dir, "settings.json"), "--secret-file", "dsn="+filepath.Join(dir, "dsn")))
	id := accountsReady(t, s)[0].Id

	if _, err := db.Exec(ctx, `INSERT INTO shop.cart_items (user_id, sku)
		SELECT id, 'sku-42' FROM shop.users WHERE understudy_account_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	mustOK(t, s.cli(t, s.Admin, "snapshots", "capture", id, "with-cart"))
	initial := decode[openapi.SnapshotList](t, s, "snapshots", "list", id, "--state", "initial").Items[0]
	cart := decode[openapi.SnapshotList](t, s, "snapshots", "list", id, "--state", "with-cart").Items[0]
	out := mustOK(t, s.cli(t, s.Admin, "snapshots", "diff", initial.Hash, cart.Hash)).Stdout
	if rs := rows(t, out); len(rs) != 1 || rs[0][1] != "added" || rs[0][2] != "-" || !strings.Contains(rs[0][3], `"sku":"sku-42"`) {
		t.Errorf("snapshots diff printed:\n%s\nwant the cart item added", out)
	}

	mustOK(t, s.cli(t, s.Admin, "accounts", "reset", id))
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM shop.cart_items`).Scan(&n); err != nil || n != 0 {
		t.Errorf("after reset the cart holds %d items (%v), want 0", n, err)
	}
	mustOK(t, s.cli(t, s.Admin, "accounts", "reset", id, "--state", "with-cart"))
	if err := db.QueryRow(ctx, `SELECT count(*) FROM shop.cart_items`).Scan(&n); err != nil || n != 1 {
		t.Errorf("after reset --state with-cart the cart holds %d items (%v), want 1", n, err)
	}
}

func TestDiffValue(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"":                                  "-",
		"null":                              "null",
		`{ "a" : [1, 2] }`:                  `{"a":[1,2]}`,
		`"` + strings.Repeat("é", 70) + `"`: `"` + strings.Repeat("é", 58) + "…",
	} {
		if got := diffValue(json.RawMessage(raw)); got != want {
			t.Errorf("diffValue(%q) = %q, want %q", raw, got, want)
		}
	}
}

// grantOf reads label/value lines such as leases acquire prints, the
// value being the last word.
func grantOf(out string) map[string]string {
	m := map[string]string{}
	for l := range strings.Lines(out) {
		if f := strings.Fields(l); len(f) >= 2 {
			m[strings.Join(f[:len(f)-1], " ")] = f[len(f)-1]
		}
	}
	return m
}

func TestCLILeases(t *testing.T) {
	t.Parallel()
	s, accts := withApp(t, "1")
	acquire := []string{"leases", "acquire", "--environment", "production", "--role", "buyer"}

	g := grantOf(mustOK(t, s.cli(t, s.Runner, append(acquire, "--holder", "ci-1")...)).Stdout)
	id := g["Lease"]
	if id == "" || g["Account"] != accts[0].Id || !strings.HasSuffix(g["Email"], "@qa.example.test") ||
		g["Username"] == "" || len(g["Password"]) < 20 || g["Ref mem"] == "" || g["Expires"] == "" {
		t.Fatalf("leases acquire printed %v", g)
	}
	busy := s.cli(t, s.Runner, append(acquire, "--wait", "0s")...)
	mustFail(t, busy, exitConflict, "the next lease expires at")

	rs := rows(t, mustOK(t, s.cli(t, s.Reader, "leases", "list", "--environment", "production")).Stdout)
	if len(rs) != 1 || rs[0][0] != id || rs[0][4] != "ci-1" || rs[0][6] != "active" {
		t.Errorf("leases list shows %v, want lease %s of ci-1, active", rs, id)
	}
	if out := mustOK(t, s.cli(t, s.Reader, "leases", "get", id)).Stdout; grantOf(out)["Status"] != "active" {
		t.Errorf("leases get printed %q", out)
	}
	mustOK(t, s.cli(t, s.Runner, "leases", "renew", id, "--ttl", "20m"))
	if l := decode[openapi.Lease](t, s, "leases", "get", id); time.Until(l.ExpiresAt) < 19*time.Minute {
		t.Errorf("after renew --ttl 20m the lease expires at %v", l.ExpiresAt)
	}
	rs = rows(t, mustOK(t, s.cli(t, s.Runner, "leases", "release", id)).Stdout)
	if len(rs) != 1 || rs[0][6] != "released" {
		t.Errorf("leases release printed %v", rs)
	}
	if rs := rows(t, mustOK(t, s.cli(t, s.Reader, "leases", "list")).Stdout); len(rs) != 0 {
		t.Errorf("open leases after release: %v", rs)
	}
	if rs := rows(t, mustOK(t, s.cli(t, s.Reader, "leases", "list", "--all")).Stdout); len(rs) != 1 {
		t.Errorf("leases list --all shows %v, want the released lease", rs)
	}

	// The same idempotency key gives the same lease, not a refusal.
	keyed := append(acquire, "--idempotency-key", "job-42", "--wait", "0s")
	one := decode[openapi.LeaseGrant](t, s, keyed...)
	two := decode[openapi.LeaseGrant](t, s, keyed...)
	if one.Lease.Id != two.Lease.Id || one.Credentials.Password == "" {
		t.Errorf("idempotent acquire gave leases %s and %s", one.Lease.Id, two.Lease.Id)
	}
	// decode acquires with the admin token: the runner may not release
	// another token's lease; the admin may.
	mustFail(t, s.cli(t, s.Runner, "leases", "release", one.Lease.Id, "--reset"), exitAuth, "only that token or an admin")
	mustOK(t, s.cli(t, s.Admin, "leases", "release", one.Lease.Id, "--reset"))
	mustFail(t, s.cli(t, s.Runner, "leases", "acquire", "--environment", "production"), exitUsage, "--role")
}

// openLeases is how many leases are open.
func openLeases(t *testing.T, s *testServer) int {
	t.Helper()
	return len(decode[openapi.LeaseList](t, s, "leases", "list").Items)
}

func TestCLILeaseRun(t *testing.T) {
	t.Parallel()
	s, _ := withApp(t, "1")
	lease := []string{"lease", "--environment", "production", "--role", "buyer", "--holder", "ci-run", "--"}

	res := mustOK(t, s.cli(t, s.Runner, append(lease, "sh", "-c", `echo $UNDERSTUDY_ACCOUNT_EMAIL; echo $UNDERSTUDY_REF_MEM; `+
		`echo $UNDERSTUDY_LEASE_ID; echo $UNDERSTUDY_ACCOUNT_ID; echo $UNDERSTUDY_ACCOUNT_PASSWORD; echo $UNDERSTUDY_LEASE_EXPIRES_AT`)...))
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) != 6 || !strings.HasSuffix(lines[0], "@qa.example.test") || lines[1] == "" || lines[2] == "" {
		t.Fatalf("the command saw %q", res.Stdout)
	}
	if cr := decode[openapi.Credentials](t, s, "accounts", "credentials", lines[3]); cr.Email != lines[0] || cr.Password != lines[4] {
		t.Errorf("the command saw %s / %s, the account's credentials are %s / %s", lines[0], lines[4], cr.Email, cr.Password)
	}
	if _, err := time.Parse(time.RFC3339, lines[5]); err != nil {
		t.Errorf("UNDERSTUDY_LEASE_EXPIRES_AT: %v", err)
	}
	if n := openLeases(t, s); n != 0 {
		t.Errorf("%d open leases after the command, want 0", n)
	}
	if l := decode[openapi.Lease](t, s, "leases", "get", lines[2]); l.Status != openapi.LeaseStatusReleased || l.Holder != "ci-run" {
		t.Errorf("the lease after the command: %+v", l)
	}

	mustFail(t, s.cli(t, s.Runner, append(lease, "sh", "-c", "exit 7")...), 7, "exited with status 7")
	mustFail(t, s.cli(t, s.Runner, append(lease, "sh", "-c", "kill -TERM $$")...), 128+int(syscall.SIGTERM))
	mustFail(t, s.cli(t, s.Runner, append(lease, "/nonexistent/command")...), exitError, "/nonexistent/command")
	if n := openLeases(t, s); n != 0 {
		t.Errorf("%d open leases after failed commands, want 0", n)
	}

	mustFail(t, s.cli(t, s.Runner, "lease", "--environment", "production", "--role", "buyer", "true"), exitUsage, "--")
	mustFail(t, s.cli(t, s.Runner, "lease", "--environment", "production", "--role", "buyer", "--"), exitUsage, "--")

	// Busy: the command does not run and the exit code says why.
	held := decode[openapi.LeaseGrant](t, s, "leases", "acquire", "--environment", "production", "--role", "buyer")
	busy := s.cli(t, s.Runner, "lease", "--environment", "production", "--role", "buyer", "--wait", "0s", "--", "echo", "ran")
	mustFail(t, busy, exitConflict, "next lease expires")
	if busy.Stdout != "" {
		t.Errorf("the command ran without a lease: %q", busy.Stdout)
	}
	mustOK(t, s.cli(t, s.Admin, "leases", "release", held.Lease.Id))
}

func TestCLILeaseRunRenews(t *testing.T) {
	t.Parallel()
	s, _ := withApp(t, "1")
	mustOK(t, s.cli(t, s.Runner, "lease", "--environment", "production", "--role", "buyer", "--ttl", "2s", "--", "sleep", "1.6"))
	l := decode[openapi.LeaseList](t, s, "leases", "list", "--all").Items[0]
	// Unrenewed it would end 2s after it began; renewed every 2s/3 it ends
	// at least 2s after the last renewal, at 1.33s.
	if l.Status != openapi.LeaseStatusReleased || l.ExpiresAt.Sub(l.AcquiredAt) < 2500*time.Millisecond {
		t.Errorf("lease %s %s, acquired %v, expires %v: not renewed", l.Id, l.Status, l.AcquiredAt, l.ExpiresAt)
	}
}

// notifyWriter is a buffer that closes seen when it first holds want.
type notifyWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if w.seen != nil && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
		w.seen = nil
	}
	return n, err
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestCLILeaseRunPassesOnTheSignal cancels the context as
// signal.NotifyContext does on SIGINT: the command gets SIGINT, and the
// lease is released after it exits.
func TestCLILeaseRunPassesOnTheSignal(t *testing.T) {
	t.Parallel()
	s, _ := withApp(t, "1")
	started := make(chan struct{})
	out := &notifyWriter{want: "started", seen: started}
	var errb bytes.Buffer
	env := map[string]string{"UNDERSTUDY_URL": s.URL, "UNDERSTUDY_TOKEN": s.Runner}
	a := &cli{stdin: strings.NewReader(""), stdout: out, stderr: &errb, now: time.Now,
		getenv: func(k string) string { return env[k] }, httpClient: http.DefaultClient}
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		select {
		case <-started:
			cancel(errors.New("interrupt signal received"))
		case <-time.After(10 * time.Second):
			cancel(errors.New("the command did not start"))
		}
	}()
	code := a.run(ctx, []string{"lease", "--environment", "production", "--role", "buyer", "--",
		"sh", "-c", `trap 'echo got INT; exit 3' INT; echo started; while :; do sleep 0.05; done`})
	if code != 3 || !strings.Contains(out.String(), "got INT") {
		t.Fatalf("exit code %d, stdout %q, stderr %q: want 3 after the command caught SIGINT", code, out.String(), errb.String())
	}
	if n := openLeases(t, s); n != 0 {
		t.Errorf("%d open leases after the interrupted command, want 0", n)
	}
	// The run was stopped, not failed by its test: errored, saying why.
	r := decode[openapi.Run](t, s, "runs", "show", leaseIDOf(t, cliResult{Stderr: errb.String()}))
	if r.Outcome == nil || *r.Outcome != openapi.RunOutcomeErrored || r.Message != "interrupted by SIGINT: sh exited with status 3" {
		t.Errorf("the interrupted run: %v %q", r.Outcome, r.Message)
	}
}

func TestSignalOf(t *testing.T) {
	t.Parallel()
	for cause, want := range map[string]os.Signal{"interrupt signal received": os.Interrupt, "terminated signal received": syscall.SIGTERM, "shutting down": syscall.SIGTERM} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(errors.New(cause))
		if got := signalOf(ctx); got != want {
			t.Errorf("signalOf(%q) = %v, want %v", cause, got, want)
		}
	}
}
