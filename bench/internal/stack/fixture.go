package stack

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// listedSQL puts $1 retired accounts (3 identifiers each: id, email,
// username) in role buyer at once: the trigger that keeps the exclusion
// list is off while it inserts, and the list is then written in one
// statement, as the trigger would have left it (the approach of
// cmd/understudy's BenchmarkExclusionListCSV).
var listedSQL = []string{
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
	`ANALYZE exclusions, accounts, roles`,
}

// FillListed puts n retired accounts of role buyer (created beforehand
// through the API, in its environment) on the exclusion list, with their
// 3 identifiers each, through conn to the scratch database: a fixture of a
// million identifiers in seconds, where the API would take minutes.
func FillListed(ctx context.Context, conn *pgx.Conn, n int) error {
	for i, stmt := range listedSQL {
		var args []any
		if i == 1 {
			args = []any{n}
		}
		if _, err := conn.Exec(ctx, stmt, args...); err != nil {
			return fmt.Errorf("fixture statement %d: %w", i+1, err)
		}
	}
	return nil
}
