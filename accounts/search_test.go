package accounts_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
)

// Search finds an account by its id, or by the start of its email or
// username in any case; it finds retired accounts too (after the active
// ones), refuses an empty or overlong text, and finds nothing for a text
// that matches nothing.
func TestSearchFindsAccountsByIDEmailOrUsername(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	if _, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{PoolSize: new(3)}); err != nil {
		t.Fatal(err)
	}
	list, _ := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production"})
	a := list[1]
	for _, text := range []string{a.ID, a.Identity.Email, strings.ToUpper(a.Identity.Email), a.Identity.Username,
		strings.ToUpper(a.Identity.Username[:len(a.Identity.Username)-1])} {
		got, err := f.svc.Search(f.ctx, text)
		if err != nil {
			t.Fatalf("searching %q: %v", text, err)
		}
		found := false
		for _, g := range got {
			found = found || g.ID == a.ID
		}
		if !found || len(got) > 3 {
			t.Fatalf("searching %q found %d accounts without %s", text, len(got), a.Identity.Email)
		}
	}
	got, err := f.svc.Search(f.ctx, "%")
	if err != nil || len(got) != 0 {
		t.Fatalf("a LIKE wildcard matched %d accounts (%v): it is text, not a pattern", len(got), err)
	}
	old, err := f.svc.RetireAccount(f.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err = f.svc.Search(f.ctx, a.Identity.Email)
	if err != nil || len(got) != 1 || got[0].ID != old.ID || got[0].Status != accounts.StatusRetired {
		t.Fatalf("searching a retired account's email: %+v %v", got, err)
	}
	if got, err := f.svc.Search(f.ctx, "7c9e6679-7425-40de-944b-e07fc1f90ae7"); err != nil || len(got) != 0 {
		t.Fatalf("an unknown id found %d (%v)", len(got), err)
	}
	if got, err := f.svc.Search(f.ctx, "nobody-at-all"); err != nil || len(got) != 0 {
		t.Fatalf("an unknown text found %d (%v)", len(got), err)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("x", 201)} {
		_, err := f.svc.Search(f.ctx, bad)
		e := wantCode(t, err, understudy.EINVALID)
		if !strings.Contains(fmt.Sprint(e.Fields), "q") {
			t.Fatalf("searching %q: %v does not name q", bad, e)
		}
	}
}

// The search reads the email and username indexes, never the whole table,
// and returns at most MaxSearch accounts.
func TestSearchUsesTheIndexes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	if _, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{PoolSize: new(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(f.ctx, `INSERT INTO accounts (environment_id, role_id, slot, generation, status, email, username, identity,
		password_key_id, password_sealed, password_rotated_at)
		SELECT environment_id, role_id, 100 + g, 0, 'ready', 'bulk-' || g || '@qa.example.test', 'bulk_' || g, identity, 'k', '\x00', now()
		FROM accounts, generate_series(1, 5000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(f.ctx, "ANALYZE accounts"); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Search(f.ctx, "BULK-1")
	if err != nil || len(got) != accounts.MaxSearch {
		t.Fatalf("searching bulk-1: %d accounts (%v), want %d", len(got), err, accounts.MaxSearch)
	}
	rows, err := f.db.Query(f.ctx, "EXPLAIN "+accounts.SearchSQL, "bulk-1", accounts.MaxSearch)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if strings.Contains(text, "Seq Scan on accounts") || !strings.Contains(text, "accounts_email_lower") || !strings.Contains(text, "accounts_username_lower") {
		t.Fatalf("the search does not read through its indexes:\n%s", text)
	}
}

// Replacement finds the active account of a retired account's slot, and
// nothing for the active account itself.
func TestReplacementIsTheSlotsActiveAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	if _, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{PoolSize: new(2)}); err != nil {
		t.Fatal(err)
	}
	list, _ := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production"})
	old, err := f.svc.RetireAccount(f.ctx, list[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	now, _ := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production"})
	r, ok, err := f.svc.Replacement(f.ctx, old.ID)
	if err != nil || !ok || r.Slot != old.Slot || r.Generation != old.Generation+1 || r.ID != now[1].ID {
		t.Fatalf("replacement of %s #%d: %+v %v %v", old.ID, old.Slot, r, ok, err)
	}
	if _, ok, err := f.svc.Replacement(f.ctx, r.ID); ok || err != nil {
		t.Fatalf("the active account has a replacement: %v %v", ok, err)
	}
}
