package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// exclusionFixtureSQL puts $1 retired accounts (3 identifiers each) in role
// buyer of production at once, as a bench fixture: the trigger that keeps
// the list is off while it inserts, and the list is then written in one
// statement, as the trigger would have left it.
var exclusionFixtureSQL = []string{
	`ALTER TABLE accounts DISABLE TRIGGER accounts_exclusions`,
	`INSERT INTO accounts (environment_id, role_id, slot, generation, status, email, username, identity, password_key_id, password_sealed, password_rotated_at, retired_at)
SELECT r.environment_id, r.id, 1000 + g, 0, 'retired', 'bench-' || g || '@qa.example.test', 'bench_' || g, '{}', 'k', '\x00', now(), now()
FROM roles r, generate_series(1, $1::int) g WHERE r.name = 'buyer'`,
	`ALTER TABLE accounts ENABLE TRIGGER accounts_exclusions`,
	`INSERT INTO exclusions (environment_id, identifier, kind, account_id, version)
SELECT a.environment_id, x.ident, x.kind, a.id, 1 FROM accounts a,
  LATERAL (VALUES (a.id::text, 'account_id'), (a.email, 'email'), (a.username, 'username')) AS x (ident, kind)
WHERE a.slot >= 1000 ON CONFLICT DO NOTHING`,
	`UPDATE exclusion_lists l SET version = l.version + 1,
  size = (SELECT count(*) FROM exclusions x WHERE x.environment_id = l.environment_id AND NOT x.forgotten),
  hash = (SELECT bit_xor(exclusion_digest(identifier)) FROM exclusions x WHERE x.environment_id = l.environment_id AND NOT x.forgotten)`,
}

// BenchmarkExclusionListCSV streams an exclusion list of 1,000,002
// identifiers as CSV from the real server (Main on loopback, real
// PostgreSQL) and reports identifiers/s; issue 7's target is over
// 200,000/s. Run: go test ./cmd/understudy -run '^$' -bench ExclusionListCSV -benchtime 3x
func BenchmarkExclusionListCSV(b *testing.B) {
	s := startServer(b, serverOptions{})
	ctx := context.Background()
	for _, call := range []struct{ path, body string }{
		{"/v1/environments", `{"name":"production","email_domains":["qa.example.test"]}`},
		{"/v1/environments/production/roles", `{"name":"buyer","pool_size":1}`},
	} {
		req, _ := http.NewRequest("POST", s.URL+call.path, strings.NewReader(call.body))
		req.Header.Set("Authorization", "Bearer "+s.Admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			b.Fatalf("%s: %v %v", call.path, resp.Status, err)
		}
		resp.Body.Close()
	}
	db, err := pgx.Connect(ctx, s.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(ctx)
	for i, stmt := range exclusionFixtureSQL {
		var args []any
		if i == 1 {
			args = []any{333_333}
		}
		if _, err := db.Exec(ctx, stmt, args...); err != nil {
			b.Fatalf("fixture: %v", err)
		}
	}
	b.ResetTimer()
	var lines int
	start := time.Now()
	for range b.N {
		req, _ := http.NewRequest("GET", s.URL+"/v1/environments/production/exclusions?format=csv", nil)
		req.Header.Set("Authorization", "Bearer "+s.Reader)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET: %v %v", resp.Status, err)
		}
		r := bufio.NewReaderSize(resp.Body, 64<<10)
		n := 0
		for {
			_, err := r.ReadSlice('\n')
			if err == io.EOF {
				break
			}
			if err != nil && err != bufio.ErrBufferFull {
				b.Fatal(err)
			}
			n++
		}
		resp.Body.Close()
		lines += n - 1 // the header row
	}
	b.ReportMetric(float64(lines)/time.Since(start).Seconds(), "ids/s")
	b.ReportMetric(float64(lines/b.N), "ids/list")
}
