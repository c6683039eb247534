package console

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/accounts"
)

// baselineSQL is the bare read of one page of accounts that the accounts
// page's time is compared with: the same 50 rows, without joins.
const baselineSQL = `SELECT id, email, status, slot FROM accounts ORDER BY role_id, slot, generation OFFSET 5000 LIMIT 51`

// BenchmarkConsolePages measures the server time of the console's pages
// with 10,000 accounts, against a bare SELECT of a page of accounts in the
// same run (bench/README.md, "Console (issue 10)"):
//
//	go test ./console -run '^$' -bench ConsolePages -benchtime 200x
func BenchmarkConsolePages(b *testing.B) {
	f := newFixture(b, 10_000)
	ctx := context.Background()
	middle := accounts.PageCursor{Environment: "production", Role: "r050", Slot: 50, Generation: 0}.Encode()
	b.Run("Baseline_SelectPage", func(b *testing.B) {
		for b.Loop() {
			rows, err := f.db.Query(ctx, baselineSQL)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([4]any, error) {
				var x [4]any
				return x, r.Scan(&x[0], &x[1], &x[2], &x[3])
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, p := range []struct{ name, path string }{
		{"AccountsPage_First", "/ui/accounts"},
		{"AccountsPage_Middle", "/ui/accounts?after=" + middle},
		{"AccountsPage_Leased", "/ui/accounts?status=leased&after=" + middle},
		{"Overview", "/ui/"},
		{"Environment", "/ui/environments/production"},
		{"Leases", "/ui/leases"},
	} {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				f.get(b, p.path)
			}
		})
	}
}
