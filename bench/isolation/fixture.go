package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// The fixture: environment production with role buyer, whose policy keeps
// its accounts to testers on the leaderboards, and retired accounts of it
// on the exclusion list.
const (
	benchEnvironment = "production"
	benchRole        = "buyer"
	benchSurface     = "leaderboards"
	benchViewer      = "someone@example.com"
)

// fixtureSQL puts $1 retired accounts (3 identifiers each: id, email,
// username) in role buyer of production at once: the trigger that keeps
// the list is off while it inserts, and the list is then written in one
// statement, as the trigger would have left it (bench/sync's fixture, and
// cmd/understudy's BenchmarkIsolationCheck1000).
var fixtureSQL = []string{
	`ALTER TABLE accounts DISABLE TRIGGER accounts_exclusions`,
	`INSERT INTO accounts (environment_id, role_id, slot, generation, status, email, username, identity, password_key_id, password_sealed, password_rotated_at)
SELECT r.environment_id, r.id, 1000 + g, 0, 'retired', 'bench-' || g || '@qa.example.test', 'bench_' || g, '{}', 'k', '\x00', now()
FROM roles r, generate_series(1, $1::int) g WHERE r.name = 'buyer'`,
	`ALTER TABLE accounts ENABLE TRIGGER accounts_exclusions`,
	`INSERT INTO exclusions (environment_id, identifier, kind, account_id, version)
SELECT a.environment_id, x.ident, x.kind, a.id, 1 FROM accounts a,
  LATERAL (VALUES (a.id::text, 'account_id'), (a.email, 'email'), (a.username, 'username')) AS x (ident, kind)
WHERE a.slot >= 1000 ON CONFLICT DO NOTHING`,
	`UPDATE exclusion_lists l SET version = l.version + 1,
  size = (SELECT count(*) FROM exclusions x WHERE x.environment_id = l.environment_id AND NOT x.forgotten),
  hash = (SELECT bit_xor(exclusion_digest(identifier)) FROM exclusions x WHERE x.environment_id = l.environment_id AND NOT x.forgotten)`,
	`ANALYZE exclusions, accounts, roles`,
}

// createFixture creates the environment and role through the API, then
// the accounts and their identifiers in SQL, and returns the
// environment's id (what the bare join is given, as the check's first
// statement gives it to its second).
func createFixture(ctx context.Context, admin stack.API, dbURL string, accounts int) (string, error) {
	env := map[string]any{"name": benchEnvironment, "email_domains": []string{"qa.example.test"}}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments", env, http.StatusCreated, nil); err != nil {
		return "", err
	}
	role := map[string]any{"name": benchRole, "pool_size": 1, "isolation_policy": map[string]string{benchSurface: "testers_only"}}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments/"+benchEnvironment+"/roles", role, http.StatusCreated, nil); err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", fmt.Errorf("connecting to the scratch database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for i, stmt := range fixtureSQL {
		var args []any
		if i == 1 {
			args = []any{accounts}
		}
		if _, err := conn.Exec(ctx, stmt, args...); err != nil {
			return "", fmt.Errorf("fixture statement %d: %w", i+1, err)
		}
	}
	var envID string
	err = conn.QueryRow(ctx, `SELECT id::text FROM environments WHERE name = $1`, benchEnvironment).Scan(&envID)
	return envID, err
}

// subjects returns n subjects: the even ones listed accounts' emails, the
// odd ones real users' (not on the list).
func subjects(n int) []string {
	out := make([]string, n)
	for i := range out {
		if i%2 == 0 {
			out[i] = fmt.Sprintf("bench-%d@qa.example.test", i/2+1)
		} else {
			out[i] = fmt.Sprintf("real-%d@example.com", i)
		}
	}
	return out
}
