package openapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/snapshot"
	"github.com/understudy-dev/understudy/spec"
	"github.com/understudy-dev/understudy/tagging"
)

// benchServer is a Server on a fresh database holding one role of four
// accounts, with a runner token: what bench/load measures, in process and
// without the network, so a CPU profile shows the server's own work.
type benchServer struct {
	srv    *Server
	ids    []string
	bearer string
	pool   *pgxpool.Pool
}

func newBenchServer(b *testing.B, level slog.Level) benchServer {
	b.Helper()
	pool := dbtest.NewPool(b)
	kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	svc, err := accounts.New(accounts.Config{DB: pool, OpenLeases: lease.OpenLeases, Keyring: kr, EmailDomains: []string{"qa.example.test"}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := access.WithCaller(context.Background(), access.Caller{Actor: "bench"})
	if _, err := svc.CreateEnvironment(ctx, accounts.Environment{Name: "bench", EmailDomains: []string{"qa.example.test"}}); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.CreateRole(ctx, "bench", "buyer", accounts.RoleChange{PoolSize: new(4)}); err != nil {
		b.Fatal(err)
	}
	list, err := svc.ListAccounts(ctx, accounts.AccountFilter{Environment: "bench"})
	if err != nil || len(list) == 0 {
		b.Fatalf("listing the accounts: %v (%d)", err, len(list))
	}
	tokens := access.NewCachedTokens(pool, 5*time.Second)
	_, runner, err := tokens.Create(ctx, "bench-runner", access.ScopeRunner)
	if err != nil {
		b.Fatal(err)
	}
	// The server's own logger, as `serve` builds it, writing nowhere.
	logger := slog.New(access.LogHandler(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: level})))
	cfg := benchServices(b, pool, kr, svc)
	cfg.Tokens, cfg.Audit, cfg.DB, cfg.Logger = tokens, access.NewAudit(pool), pool, logger
	srv, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	bs := benchServer{srv: srv, bearer: "Bearer " + runner, pool: pool}
	for _, a := range list {
		bs.ids = append(bs.ids, a.ID)
	}
	return bs
}

// get serves GET /v1/accounts/{ids[i]} and fails on anything but 200.
func (bs benchServer) get(b *testing.B, i int) {
	req := httptest.NewRequest(http.MethodGet, "/v1/accounts/"+bs.ids[i%len(bs.ids)], nil)
	req.Header.Set("Authorization", bs.bearer)
	rec := httptest.NewRecorder()
	bs.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET /v1/accounts/{id}: HTTP %d: %s", rec.Code, rec.Body)
	}
}

// reportCPU starts counting the process's CPU time (user and system, the
// garbage collector's included); the function it returns reports it per
// operation as cpu-µs/op. Unlike ns/op, which mostly waits for PostgreSQL,
// it is the server's own cost, and moves less when the machine is shared.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGetAccount measures GET /v1/accounts/{id} through the whole
// server (middleware, gate, handler, query, encoding) against a real
// database, with the request log off (as under bench/load) and on. Profile
// it with -cpuprofile to split the time by component; cpu-µs/op is the
// whole test process's CPU (the test's own requests and recorders, and
// pgx's side of the round trip, included), PostgreSQL's not.
func BenchmarkGetAccount(b *testing.B) {
	for _, lv := range []struct {
		name  string
		level slog.Level
	}{{"log=error", slog.LevelError}, {"log=info", slog.LevelInfo}} {
		b.Run(lv.name, func(b *testing.B) {
			bs := newBenchServer(b, lv.level)
			b.ReportAllocs()
			defer reportCPU(b)()
			i := 0
			for b.Loop() {
				bs.get(b, i)
				i++
			}
		})
	}
}

// benchServices returns a Config holding every domain service the server
// requires, built on pool around acc as serve builds them (no providers,
// no destinations: GET /v1/accounts/{id} uses none of them).
func benchServices(b *testing.B, pool *pgxpool.Pool, kr *secret.Keyring, acc *accounts.Service) Config {
	b.Helper()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	sched, err := snapshot.NewScheduler(nil)
	must(err)
	ap, err := apps.New(apps.Config{DB: pool, Keyring: kr, Accounts: acc, Provisioning: sched, Registry: providers.NewRegistry()})
	must(err)
	b.Cleanup(ap.Close)
	totp, err := inbox.NewTOTP(inbox.TOTPConfig{DB: pool, Keyring: kr, Accounts: acc, Apps: ap})
	must(err)
	snaps, err := snapshot.New(snapshot.Config{DB: pool, Accounts: acc, Apps: ap, TOTP: totp})
	must(err)
	runs, err := run.New(run.Config{DB: pool})
	must(err)
	leases, err := lease.New(lease.Config{DB: pool, Accounts: acc, Snapshots: snaps, Apps: ap, Runs: runs})
	must(err)
	dests, err := tagging.New(tagging.ServiceConfig{DB: pool, Keyring: kr, Registry: tagging.NewRegistry()})
	must(err)
	iso, err := isolation.New(isolation.Config{DB: pool, Keyring: kr, Apps: ap, Accounts: acc})
	must(err)
	sp, err := spec.New(spec.Config{DB: pool, Keyring: kr, Accounts: acc, Apps: ap, Destinations: dests})
	must(err)
	mail, err := inbox.New(inbox.Config{DB: pool, Keyring: kr, Accounts: acc})
	must(err)
	deployments, err := run.NewDeployments(run.DeploymentsConfig{DB: pool})
	must(err)
	flows, err := run.NewFlows(run.FlowsConfig{DB: pool})
	must(err)
	return Config{Accounts: acc, Apps: ap, Snapshots: snaps, Leases: leases, Runs: runs, Exclusions: tagging.NewExclusions(pool, nil),
		Destinations: dests, Isolation: iso, Spec: sp, TOTP: totp, Inbox: mail, Deployments: deployments, Flows: flows}
}

// post serves POST path with body and fails on anything but want; it
// returns the answer's body.
func (bs benchServer) post(b *testing.B, path, body string, want int) []byte {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Authorization", bs.bearer)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	bs.srv.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("POST %s: HTTP %d: %s", path, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// BenchmarkLeaseCycle measures a lease's acquire and release through the
// whole server, plain and as a CI job makes them (its run named at
// acquire; at release the outcome passed, or failed with a message, a test
// and a link): what recording outcomes costs the server's process
// (cpu-µs/op) and PostgreSQL (pg-cpu-µs/op), with the same number of round
// trips (bench/lease measures the whole, on the network).
func BenchmarkLeaseCycle(b *testing.B) {
	acquire := `{"environment":"bench","role":"buyer","holder":"bench","ttl_seconds":60}`
	named := `{"environment":"bench","role":"buyer","holder":"bench","ttl_seconds":60,` +
		`"run":{"run_id":"9876543210","flow":"checkout","ci_url":"https://ci.example.test/acme/shop/actions/runs/9876543210","version":"v1.42.0"}}`
	failed := `{"outcome":"failed","message":"expected 3 items in the cart, got 2","test":"cart › adds three items",` +
		`"links":[{"name":"trace","url":"https://ci.example.test/acme/shop/actions/runs/9876543210/trace.zip"}]}`
	for _, c := range []struct {
		name   string
		bodies [2]string
	}{{"plain", [2]string{acquire, `{}`}}, {"passed", [2]string{named, `{"outcome":"passed"}`}}, {"failed", [2]string{named, failed}}} {
		b.Run(c.name, func(b *testing.B) {
			bs := newBenchServer(b, slog.LevelError)
			ctx := access.WithCaller(context.Background(), access.Caller{Actor: "bench"})
			for _, id := range bs.ids {
				if err := bs.srv.snapshots.Provision(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			defer reportCPU(b)()
			defer reportBackendCPU(b, bs.pool)()
			for b.Loop() {
				var g struct {
					Lease struct{ ID string } `json:"lease"`
				}
				if err := json.Unmarshal(bs.post(b, "/v1/leases", c.bodies[0], http.StatusCreated), &g); err != nil {
					b.Fatal(err)
				}
				bs.post(b, "/v1/leases/"+g.Lease.ID+"/release", c.bodies[1], http.StatusOK)
			}
		})
	}
}

// reportBackendCPU starts counting the CPU time of the PostgreSQL backends
// serving the database of pool (from /proc, so PostgreSQL must run on this
// machine; Linux only); the function it returns reports it per operation
// as pg-cpu-µs/op, or nothing when it could not be read. With it and
// cpu-µs/op, a change's cost splits into the server's and PostgreSQL's.
func reportBackendCPU(b *testing.B, pool *pgxpool.Pool) func() {
	start, ok := backendCPU(pool)
	return func() {
		end, ok2 := backendCPU(pool)
		if !ok || !ok2 || b.N == 0 {
			return
		}
		var spent time.Duration
		for pid, t := range end {
			spent += t - start[pid] // a backend started meanwhile counts whole
		}
		b.ReportMetric(float64(spent)/float64(time.Microsecond)/float64(b.N), "pg-cpu-µs/op")
	}
}

// backendCPU reads the CPU time of each backend of pool's database, by pid.
func backendCPU(pool *pgxpool.Pool) (map[int]time.Duration, bool) {
	rows, err := pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`)
	if err != nil {
		return nil, false
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, false
	}
	out := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
		if err != nil {
			return nil, false
		}
		// The fields after the command name, which is in parentheses:
		// utime and stime are the 14th and 15th of the whole line.
		_, rest, ok := strings.Cut(string(raw), ") ")
		f := strings.Fields(rest)
		if !ok || len(f) < 13 {
			return nil, false
		}
		utime, err1 := strconv.ParseInt(f[11], 10, 64)
		stime, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, false
		}
		out[int(pid)] = time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100
	}
	return out, true
}
