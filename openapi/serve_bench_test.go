package openapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/secret"
)

// benchServer is a Server on a fresh database holding one role of four
// accounts, with a runner token: what bench/load measures, in process and
// without the network, so a CPU profile shows the server's own work.
type benchServer struct {
	srv    *Server
	ids    []string
	bearer string
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
	srv, err := New(Config{Accounts: svc, Tokens: tokens, Audit: access.NewAudit(pool), DB: pool, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	bs := benchServer{srv: srv, bearer: "Bearer " + runner}
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
