package inbox_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/dbtest"
)

// patterned is a message whose default reading finds the code 482913 and
// ranks the verification link first; the order reference and the magic
// link are what a role's patterns may prefer.
func patterned(to string) []byte {
	return fmt.Appendf(nil, "From: Chirp <no-reply@chirp.example>\r\nTo: %s\r\nSubject: Sign in to Chirp\r\n"+
		"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Your verification code is\r\n%s\r\n\r\nOrder reference: QX-7731-KB\r\n\r\n"+
		"Verify your email: https://chirp.example/verify?token=v1\r\n"+
		"Or sign in at once: https://chirp.example/s/Zk81\r\n", to, testCode)
}

// One message to two accounts is read with each account's role's
// patterns: the buyer (no patterns) gets the default ranking, the seller
// (a code and a link pattern) gets its pattern's matches first.
func TestReceiveRanksByTheRecipientsRolePatterns(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.Tx(t), fixtureOptions{})
	if _, err := f.accounts.CreateRole(f.admin, "production", "seller", accounts.RoleChange{
		CodePattern: new(`reference: ([A-Z]{2}-\d{4}-[A-Z]{2})`), LinkPattern: new(`/s/[A-Za-z0-9]+$`)}); err != nil {
		t.Fatal(err)
	}
	sellers, err := f.accounts.ListAccounts(f.admin, accounts.AccountFilter{Environment: "production", Role: "seller"})
	if err != nil || len(sellers) != 1 {
		t.Fatalf("listing the sellers: %d, %v", len(sellers), err)
	}
	seller := sellers[0]
	ids, err := f.svc.Receive(caller(access.ScopeInbound), inbox.Delivery{Via: "smtp", Raw: patterned(f.email(0)),
		Recipients: []inbox.Recipient{{Address: f.email(0), AccountID: f.buyers[0].ID}, {Address: seller.Identity.Email, AccountID: seller.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ code, link string }{
		{testCode, "https://chirp.example/verify?token=v1"},
		{"QX-7731-KB", "https://chirp.example/s/Zk81"},
	} {
		m, err := f.svc.Get(f.admin, ids[i], true)
		if err != nil {
			t.Fatal(err)
		}
		b := m.Body
		if len(b.Codes) == 0 || b.Codes[0].Value != want.code {
			t.Errorf("recipient %d: codes %+v; want %s first", i, b.Codes, want.code)
		}
		if len(b.Links) == 0 || b.Links[0].URL != want.link {
			t.Errorf("recipient %d: links %+v; want %s first", i, b.Links, want.link)
		}
	}
	// Removing the seller's patterns brings the default ranking back.
	if _, err := f.accounts.UpdateRole(f.admin, "production", "seller", accounts.RoleChange{CodePattern: new(""), LinkPattern: new("")}); err != nil {
		t.Fatal(err)
	}
	ids, err = f.svc.Receive(caller(access.ScopeInbound), inbox.Delivery{Via: "https", Raw: patterned(seller.Identity.Email),
		Recipients: []inbox.Recipient{{Address: seller.Identity.Email, AccountID: seller.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := f.svc.Get(f.admin, ids[0], true); err != nil || m.Body.Codes[0].Value != testCode {
		t.Errorf("without patterns: %+v, %v; want %s first", m.Body, err, testCode)
	}
}

// The prune job honours an environment's retention as it is when the job
// runs: a message kept under the default week goes once the retention is
// cut to two hours.
func TestPruneHonoursAChangedRetention(t *testing.T) {
	t.Parallel()
	db := dbtest.Tx(t)
	f := newFixture(t, db, fixtureOptions{})
	old := f.newService(t, fixtureOptions{Now: func() time.Time { return testNow.Add(-3 * time.Hour) }})
	young := f.newService(t, fixtureOptions{Now: func() time.Time { return testNow.Add(-time.Hour) }})
	gone := f.deliver(t, old, "Old", 0)
	kept := f.deliver(t, young, "Young", 0)
	svc := f.newService(t, fixtureOptions{Now: func() time.Time { return testNow }})
	ctx := access.ForJob(context.Background(), "prune", 9)
	if n, err := svc.Prune(ctx, 0); err != nil || n != 0 {
		t.Fatalf("Prune under the default week: %d, %v; want none", n, err)
	}
	e, err := f.accounts.UpdateEnvironment(f.admin, "production", accounts.EnvironmentChange{InboxRetentionSeconds: new(2 * 3600)})
	if err != nil || e.InboxRetentionSeconds != 7200 {
		t.Fatalf("UpdateEnvironment: %+v, %v", e, err)
	}
	if n, err := svc.Prune(ctx, 0); err != nil || n != 1 {
		t.Fatalf("Prune under two hours: %d, %v; want 1", n, err)
	}
	list, err := svc.List(f.admin, inbox.Filter{})
	if err != nil || len(list) != 1 || list[0].ID != kept[0] || strings.Contains(list[0].ID, gone[0]) {
		t.Errorf("left %+v, %v; want only %s", list, err, kept[0])
	}
	events, err := access.NewAudit(db).List(context.Background(), access.AuditFilter{Action: "message.prune", RequestID: "job-9"})
	if err != nil || len(events) != 1 || events[0].Details["inbox_retention_seconds"] != float64(7200) {
		t.Errorf("audit events %+v, %v; want one prune under 7200 seconds", events, err)
	}
}
