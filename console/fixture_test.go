package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/snapshot"
	"github.com/understudy-dev/understudy/tagging"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fixture is a console on a database of its own holding n accounts, and
// the cookie of an admin's session.
type fixture struct {
	console *Console
	db      pgdb.DB
	cookie  *http.Cookie
}

// seedSQL makes environment production with n accounts in roles of 100
// (r000, r001…), every tenth leased and every account reset once, in a few
// statements: the domain services would take minutes for 10,000.
const seedSQL = `
WITH e AS (INSERT INTO environments (name, email_domains) VALUES ('production', '{qa.example.test}') RETURNING id),
r AS (INSERT INTO roles (environment_id, name, pool_size) SELECT e.id, 'r' || lpad(g::text, 3, '0'), 100
      FROM e, generate_series(0, ($1::int - 1) / 100) g RETURNING id, name)
INSERT INTO accounts (environment_id, role_id, slot, generation, status, email, username, identity, password_key_id, password_sealed, password_rotated_at)
SELECT (SELECT id FROM e), r.id, s, 0, CASE WHEN s % 10 = 0 THEN 'leased' ELSE 'ready' END,
       r.name || '-' || s || '@qa.example.test', r.name || '_' || s,
       jsonb_build_object('display_name', 'Person ' || r.name || ' ' || s, 'email', r.name || '-' || s || '@qa.example.test'),
       'k', '\x00', now()
FROM r, generate_series(1, 100) s
WHERE (substr(r.name, 2)::int * 100 + s) <= $1`

const seedLeasesSQL = `
INSERT INTO leases (account_id, role_id, holder, state, status, acquired_at, expires_at, ttl_seconds, token_name)
SELECT a.id, a.role_id, 'ci-' || a.slot, 'initial', 'active', now(), now() + interval '1 hour', 3600, 'ci'
FROM accounts a WHERE a.status = 'leased'`

const seedResetsSQL = `
INSERT INTO account_resets (account_id, state, started_at, duration_ms, ok, verified)
SELECT id, 'initial', now(), 40, true, jsonb_build_object('chirp', encode(sha256(id::text::bytea), 'hex')) FROM accounts`

func newFixture(tb testing.TB, n int) fixture {
	tb.Helper()
	pool := dbtest.NewPool(tb)
	ctx := context.Background()
	for _, q := range []string{seedSQL, seedLeasesSQL, seedResetsSQL, "ANALYZE"} {
		args := []any{}
		if q == seedSQL {
			args = append(args, n)
		}
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			tb.Fatalf("seeding: %v", err)
		}
	}
	c := newConsole(tb, pool)
	tok, _, err := access.NewTokens(pool).Create(access.WithCaller(ctx, access.Caller{Actor: "test"}), "bench-admin", access.ScopeAdmin)
	if err != nil {
		tb.Fatal(err)
	}
	id, _, err := c.sessions.create(ctx, tok)
	if err != nil {
		tb.Fatal(err)
	}
	return fixture{console: c, db: pool, cookie: &http.Cookie{Name: sessionCookie, Value: id}}
}

// newConsole builds a console on db with the domain services wired as the
// server wires them.
func newConsole(tb testing.TB, db pgdb.DB) *Console {
	tb.Helper()
	kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	sched, err := snapshot.NewScheduler(nil)
	if err != nil {
		tb.Fatal(err)
	}
	acc, err := accounts.New(accounts.Config{DB: db, OpenLeases: lease.OpenLeases, Keyring: kr, EmailDomains: []string{"qa.example.test"}, Provisioning: sched})
	if err != nil {
		tb.Fatal(err)
	}
	ap, err := apps.New(apps.Config{DB: db, Keyring: kr, Accounts: acc, Provisioning: sched, Registry: providers.NewRegistry()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(ap.Close)
	snaps, err := snapshot.New(snapshot.Config{DB: db, Accounts: acc, Apps: ap})
	if err != nil {
		tb.Fatal(err)
	}
	leases, err := lease.New(lease.Config{DB: db, Accounts: acc, Snapshots: snaps, Apps: ap})
	if err != nil {
		tb.Fatal(err)
	}
	return newConsoleOn(tb, db, acc, ap, snaps, leases)
}

// newConsoleOn builds a console on db over the given accounts, snapshots
// and leases (a domaintest.Stack's, whose fake app a test acts as).
func newConsoleOn(tb testing.TB, db pgdb.DB, acc *accounts.Service, ap *apps.Service, snaps *snapshot.Service, leases *lease.Service) *Console {
	tb.Helper()
	kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	dests, err := tagging.New(tagging.ServiceConfig{DB: db, Keyring: kr, Registry: tagging.NewRegistry()})
	if err != nil {
		tb.Fatal(err)
	}
	iso, err := isolation.New(isolation.Config{DB: db, Keyring: kr, Apps: ap, Accounts: acc})
	if err != nil {
		tb.Fatal(err)
	}
	mail, err := inbox.New(inbox.Config{DB: db, Keyring: kr, Accounts: acc})
	if err != nil {
		tb.Fatal(err)
	}
	runs, arts, deps := runServices(tb, db)
	caps, err := run.NewCaptures(run.CaptureConfig{DB: db, Snapshots: snaps, Jobs: insertOnly(tb, db)})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := New(Config{Accounts: acc, Apps: ap, Snapshots: snaps, Leases: leases, Runs: runs, Artifacts: arts, Captures: caps, Deployments: deps,
		Exclusions: tagging.NewExclusions(db, nil), Destinations: dests, Isolation: iso, Inbox: mail, Tokens: access.NewTokens(db),
		Audit: access.NewAudit(db), DB: db, TraceURL: testTraceURL})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// insertOnly is a River client that only inserts jobs: on db when it is
// a pool, else only within a transaction it is given.
func insertOnly(tb testing.TB, db pgdb.DB) *river.Client[pgx.Tx] {
	tb.Helper()
	pool, _ := db.(*pgxpool.Pool)
	c, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// testTraceURL is the consoles' link to a trace in the tests.
const testTraceURL = "https://traces.example.test/trace/{trace_id}?from=console"

// runServices are the runs, the artifacts (in a folder of the test's own)
// and the deployments on db.
func runServices(tb testing.TB, db pgdb.DB) (*run.Service, *run.Artifacts, *run.Deployments) {
	tb.Helper()
	runs, err := run.New(run.Config{DB: db})
	if err != nil {
		tb.Fatal(err)
	}
	bucket, err := run.OpenBucket(context.Background(), (&url.URL{Scheme: "file", Path: tb.TempDir(), RawQuery: "no_tmp_dir=1"}).String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = bucket.Close() })
	arts, err := run.NewArtifacts(run.ArtifactConfig{DB: db, Bucket: bucket})
	if err != nil {
		tb.Fatal(err)
	}
	deps, err := run.NewDeployments(run.DeploymentsConfig{DB: db})
	if err != nil {
		tb.Fatal(err)
	}
	return runs, arts, deps
}

// get serves path to the fixture's admin session and returns the recorder.
func (f fixture) get(tb testing.TB, path string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(f.cookie)
	rec := httptest.NewRecorder()
	f.console.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("GET %s: %d\n%s", path, rec.Code, rec.Body)
	}
	return rec
}
