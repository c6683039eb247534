package accounts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
)

// pageSeedSQL makes environment production with 2,000 accounts in roles
// of 100 (r000, r001…), in one statement.
const pageSeedSQL = `
WITH e AS (INSERT INTO environments (name, email_domains) VALUES ('production', '{qa.example.test}') RETURNING id),
r AS (INSERT INTO roles (environment_id, name, pool_size) SELECT e.id, 'r' || lpad(g::text, 3, '0'), 100
      FROM e, generate_series(0, 19) g RETURNING id, name)
INSERT INTO accounts (environment_id, role_id, slot, generation, status, email, username, identity, password_key_id, password_sealed, password_rotated_at)
SELECT (SELECT id FROM e), r.id, s, 0, 'ready', r.name || '-' || s || '@qa.example.test', r.name || '_' || s,
       jsonb_build_object('display_name', 'Person ' || r.name || ' ' || s), 'k', '\x00', now()
FROM r, generate_series(1, 100) s`

// The accounts page's query starts at the cursor, through an index, and
// never sorts the whole table (EXPLAIN).
func TestAccountPageQueryUsesTheCursor(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	ctx := context.Background()
	for _, q := range []string{pageSeedSQL, "ANALYZE"} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("seeding: %v", err)
		}
	}
	f := accounts.PageFilter{After: accounts.PageCursor{Environment: "production", Role: "r010", Slot: 50}}
	rows, err := pool.Query(ctx, "EXPLAIN "+accounts.PageSQL, accounts.PageArgs(f, 51))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "Incremental Sort") || strings.Contains(text, "Seq Scan on accounts") {
		t.Fatalf("the page query reads the whole table:\n%s", text)
	}
}

// Walking the accounts page by page meets every account once, in order;
// a bad cursor is refused naming after.
func TestAccountPagesWalkInOrder(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, pageSeedSQL); err != nil {
		t.Fatalf("seeding: %v", err)
	}
	pages := accounts.NewPages(pool)
	seen := 0
	after, _ := accounts.ParsePageCursor("")
	for n := 1; ; n++ {
		list, next, err := pages.Page(ctx, accounts.PageFilter{After: after, Limit: 300})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range list {
			if i > 0 && list[i-1].Role == r.Role && list[i-1].Slot >= r.Slot || r.Name == "" {
				t.Fatalf("page %d is out of order at %+v", n, r)
			}
		}
		seen += len(list)
		if next == "" {
			break
		}
		if after, err = accounts.ParsePageCursor(next); err != nil {
			t.Fatal(err)
		}
	}
	if seen != 2000 {
		t.Fatalf("%d accounts seen, want 2000", seen)
	}
	counts, err := pages.StatusCounts(ctx)
	if err != nil || counts["production"][accounts.StatusReady] != 2000 {
		t.Fatalf("counts %v, %v", counts, err)
	}
	if _, err := accounts.ParsePageCursor("not-a-cursor"); err == nil || !strings.Contains(err.Error(), "invalid page") {
		t.Fatalf("a bad cursor: %v", err)
	}
}
