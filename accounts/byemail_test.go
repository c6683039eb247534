package accounts_test

import (
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
)

// ByEmail finds the active account of an address in any case, and not a
// retired one; an environment reads its inbox limits, defaults included.
func TestByEmailFindsActiveAccountsOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	e := f.env(t, "production")
	if e.InboxRetentionSeconds != 7*24*3600 || e.InboxMaxMessages != 200 {
		t.Errorf("inbox limits %d s, %d messages; want the defaults", e.InboxRetentionSeconds, e.InboxMaxMessages)
	}
	if _, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{}); err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("accounts: %v, %v", list, err)
	}
	a := list[0]
	for _, addr := range []string{a.Identity.Email, strings.ToUpper(a.Identity.Email)} {
		got, err := f.svc.ByEmail(f.ctx, addr)
		if err != nil || got.ID != a.ID || got.Environment != "production" {
			t.Errorf("ByEmail(%s) = %+v, %v", addr, got, err)
		}
	}
	if _, err := f.svc.RetireAccount(f.ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{a.Identity.Email, "nobody@qa.example.test", strings.Repeat("a", 300)} {
		_, err := f.svc.ByEmail(f.ctx, addr)
		wantCode(t, err, understudy.ENOTFOUND)
	}
	boxes, err := accounts.Mailboxes(f.ctx, f.db, []string{a.ID})
	if b := boxes[a.ID]; err != nil || b.EnvironmentID != e.ID || b.Status != accounts.StatusRetired || b.MaxMessages != 200 {
		t.Errorf("Mailboxes: %+v, %v", boxes, err)
	}
}
