package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
)

// isolationBenchServer is a real server with environment production, role
// buyer (leaderboards testers_only) and n retired accounts of it on the
// list, three identifiers each.
func isolationBenchServer(b *testing.B, n int) *testServer {
	b.Helper()
	s := startServer(b, serverOptions{})
	for _, call := range []struct{ path, body string }{
		{"/v1/environments", `{"name":"production","email_domains":["qa.example.test"]}`},
		{"/v1/environments/production/roles", `{"name":"buyer","pool_size":1,"isolation_policy":{"leaderboards":"testers_only"}}`},
	} {
		resp := benchDo(b, "POST", s.URL+call.path, s.Admin, call.body, nil)
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("%s: %s", call.path, resp.Status)
		}
	}
	ctx := context.Background()
	db, err := pgx.Connect(ctx, s.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(ctx)
	for i, stmt := range exclusionFixtureSQL {
		var args []any
		if i == 1 {
			args = []any{n}
		}
		if _, err := db.Exec(ctx, stmt, args...); err != nil {
			b.Fatalf("fixture: %v", err)
		}
	}
	// Statistics, as autovacuum would gather them on a live database.
	if _, err := db.Exec(ctx, "ANALYZE exclusions, accounts, roles"); err != nil {
		b.Fatal(err)
	}
	return s
}

// benchDo sends one request and returns the response with its body read.
func benchDo(b *testing.B, method, url, token, body string, header map[string]string) *http.Response {
	b.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// BenchmarkIsolationCheck1000 sends POST /v1/isolation/check with 1,000
// subjects (500 on the list, 500 not) from one client, one request at a
// time, to the real server (Main on loopback, real PostgreSQL), and reports
// the latency percentiles; issue 8's target is a p50 under 2 ms.
// Run: go test ./cmd/understudy -run '^$' -bench IsolationCheck1000 -benchtime 2000x
func BenchmarkIsolationCheck1000(b *testing.B) {
	s := isolationBenchServer(b, 1000)
	subjects := make([]string, 1000)
	for i := range subjects {
		if i%2 == 0 {
			subjects[i] = fmt.Sprintf("bench-%d@qa.example.test", i+1)
		} else {
			subjects[i] = fmt.Sprintf("real-%d@example.com", i)
		}
	}
	body, _ := json.Marshal(map[string]any{"environment": "production", "surface": "leaderboards",
		"viewer": "someone@example.com", "subjects": subjects})
	check := func() time.Duration {
		req, _ := http.NewRequest("POST", s.URL+"/v1/isolation/check", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.Reader)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("check: %v %v", resp.Status, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start)
	}
	for range 50 { // warm the connection, the pools and the caches
		check()
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		lat = append(lat, check())
	}
	b.StopTimer()
	slices.Sort(lat)
	at := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkIsolationList304 sends GET /v1/environments/production/isolation/list
// with the current ETag, answered 304, from one client to the in-process
// server, and reports the process CPU time (getrusage, user + system) per
// request. That CPU includes the benchmark's own HTTP client; the same loop
// against a bare in-process handler answering 304 measures that part, and
// the difference is the server's. PostgreSQL's CPU, in its own process, is
// not counted. Issue 8's target is under 200 µs of server CPU per 304.
// Run: go test ./cmd/understudy -run '^$' -bench IsolationList304 -benchtime 5000x
func BenchmarkIsolationList304(b *testing.B) {
	s := isolationBenchServer(b, 1000)
	_, token, err := access.NewTokens(s.main.pool).Create(access.WithCaller(context.Background(), access.Caller{Actor: "bench"}), "bench-app", access.ScopeApp)
	if err != nil {
		b.Fatal(err)
	}
	url := s.URL + "/v1/environments/production/isolation/list"
	first := benchDo(b, "GET", url, token, "", nil)
	etag := first.Header.Get("ETag")
	if first.StatusCode != http.StatusOK || etag == "" {
		b.Fatalf("list: %s, ETag %q", first.Status, etag)
	}
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
	}))
	defer bare.Close()
	perRequest := func(url string) time.Duration {
		header := map[string]string{"If-None-Match": etag}
		for range 50 {
			benchDo(b, "GET", url, token, "", header)
		}
		start := cpuTime(b)
		for range b.N {
			if r := benchDo(b, "GET", url, token, "", header); r.StatusCode != http.StatusNotModified {
				b.Fatalf("GET %s: %s, want 304", url, r.Status)
			}
		}
		return (cpuTime(b) - start) / time.Duration(b.N)
	}
	b.ResetTimer()
	total := perRequest(url)
	client := perRequest(bare.URL)
	b.ReportMetric(float64(total.Microseconds()), "cpu-µs/304")
	b.ReportMetric(float64(client.Microseconds()), "client-cpu-µs/304")
	b.ReportMetric(float64((total - client).Microseconds()), "server-cpu-µs/304")
}

// cpuTime is the CPU time, user and system, the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
