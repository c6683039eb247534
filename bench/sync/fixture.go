package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/bench/internal/stack"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
)

// The fixture: environment production with role buyer, whose retired
// accounts fill the exclusion list, and one PostHog destination.
const (
	benchEnvironment = "production"
	benchRole        = "buyer"
	benchDestination = "posthog"
)

// fixtureSQL puts $1 retired accounts (3 identifiers each) in role buyer
// of production at once: the trigger that keeps the list is off while it
// inserts, and the list is then written in one statement, as the trigger
// would have left it (the approach of cmd/understudy's
// BenchmarkExclusionListCSV).
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
	`ANALYZE accounts`,
	`ANALYZE exclusions`,
}

// createFixture creates the environment and role through the API, then
// the accounts and the list in SQL, and returns the list's size.
func createFixture(ctx context.Context, admin stack.API, dbURL string, accounts int) (int, error) {
	env := map[string]any{"name": benchEnvironment, "email_domains": []string{"qa.example.test"}}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments", env, http.StatusCreated, nil); err != nil {
		return 0, err
	}
	role := map[string]any{"name": benchRole, "pool_size": 1}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments/"+benchEnvironment+"/roles", role, http.StatusCreated, nil); err != nil {
		return 0, err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, fmt.Errorf("connecting to the scratch database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for i, stmt := range fixtureSQL {
		var args []any
		if i == 1 {
			args = []any{accounts}
		}
		if _, err := conn.Exec(ctx, stmt, args...); err != nil {
			return 0, fmt.Errorf("fixture statement %d: %w", i+1, err)
		}
	}
	var size int
	err = conn.QueryRow(ctx, `SELECT l.size FROM exclusion_lists l JOIN environments e ON e.id = l.environment_id WHERE e.name = $1`,
		benchEnvironment).Scan(&size)
	return size, err
}

// attachDestination attaches a PostHog destination pointed at the fake
// (through the counter at host), without a personal API key (mark only,
// through /batch/) unless cohort, synced every 24h so that the scheduler
// leaves it to the driver.
func attachDestination(ctx context.Context, admin stack.API, fake *posthogtest.Fake, host string, cohort bool) error {
	secrets := map[string]string{"project_api_key": fake.ProjectToken()}
	if cohort {
		secrets["personal_api_key"] = fake.PersonalKey()
	}
	d := map[string]any{
		"name": benchDestination, "kind": "posthog", "sync_interval": "24h",
		"settings": map[string]any{"ingest_host": host, "app_host": host, "project_id": fake.ProjectID(), "person_wait": "1s"},
		"secrets":  secrets,
	}
	return admin.Call(ctx, http.MethodPost, "/v1/environments/"+benchEnvironment+"/destinations", d, http.StatusCreated, nil)
}
