package console

import (
	"context"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/accounts"
)

// Walking the accounts page by page, by keyset, meets every active
// account exactly once, in order, 50 a page; a filter keeps to its role.
func TestAccountPagesWalkEveryAccountOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 230)
	ctx := context.Background()
	seen := map[string]bool{}
	var after accounts.PageCursor
	pages := 0
	for {
		cur := after
		if pages == 0 {
			cur, _ = accounts.ParsePageCursor("")
		}
		rows, next, err := f.console.rows(ctx, rowFilter{After: cur})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for i, r := range rows {
			if seen[r.ID] {
				t.Fatalf("page %d shows %s again", pages, r.Email)
			}
			seen[r.ID] = true
			if i > 0 && rows[i-1].Role == r.Role && rows[i-1].Slot >= r.Slot {
				t.Fatalf("page %d is out of order at %s", pages, r.Email)
			}
			if r.Status == "leased" && (r.Holder == "" || r.Expires == nil) || !r.Reset.OK || r.Reset.Verified["chirp"] == "" {
				t.Fatalf("row %+v lacks its lease or its last reset", r)
			}
		}
		if next == "" {
			break
		}
		if len(rows) != 50 {
			t.Fatalf("page %d has %d rows", pages, len(rows))
		}
		if after, err = accounts.ParsePageCursor(next); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 230 || pages != 5 {
		t.Fatalf("%d accounts in %d pages, want 230 in 5", len(seen), pages)
	}
	rows, _, _ := f.console.rows(ctx, rowFilter{Role: "r001", After: accounts.PageCursor{Slot: -1, Generation: -1}})
	if len(rows) != 50 || rows[0].Role != "r001" || rows[49].Role != "r001" {
		t.Fatalf("filtered by role: %d rows", len(rows))
	}
	if _, err := accounts.ParsePageCursor("not-a-cursor"); err == nil {
		t.Fatal("a bad cursor was accepted")
	}
	body := f.get(t, "/ui/accounts?role=r002").Body.String()
	if strings.Count(body, `data-label="Account"`) != 30 || !strings.Contains(body, "production/r002 #1") {
		t.Fatalf("the accounts page of r002 does not list its 30 accounts")
	}
}
