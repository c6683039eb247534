package accounts_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/identity"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/secret"
)

// A pool filled in one statement still gives a slot whose email is taken
// the next generation, audits each account in the fill's transaction with
// its slot, generation and email, and stamps it with the injected clock.
func TestFillSkipsATakenEmailAndAuditsEachAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	// Take the email that slot 2 of role buyer would have at generation 0.
	taken := identity.Generate(identity.Seed{Environment: "production", Role: "buyer", Slot: 2, Generation: 0}, "qa.example.test", testNow).Email
	if _, err := f.svc.CreateRole(f.ctx, "production", "other", accounts.RoleChange{PoolSize: new(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(f.ctx, `UPDATE accounts SET email = $1`, taken); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{PoolSize: new(4)}); err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production", Role: "buyer"})
	if err != nil || len(list) != 4 {
		t.Fatalf("accounts = %d, %v; want 4", len(list), err)
	}
	events, err := access.NewAudit(f.db).List(f.ctx, access.AuditFilter{Action: "account.create", RequestID: "req-1"})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]access.Event{}
	for _, e := range events {
		byID[e.TargetID] = e
	}
	for _, a := range list {
		wantGen := 0
		if a.Slot == 2 {
			wantGen = 1
		}
		if a.Generation != wantGen || a.Identity.Email == taken || !strings.HasSuffix(a.Identity.Email, "@qa.example.test") {
			t.Errorf("slot %d: generation %d, email %s; want generation %d and an email other than the taken %s", a.Slot, a.Generation, a.Identity.Email, wantGen, taken)
		}
		if !a.CreatedAt.Equal(testNow) || !a.PasswordRotatedAt.Equal(testNow) {
			t.Errorf("slot %d created at %s, password at %s; want the clock's %s", a.Slot, a.CreatedAt, a.PasswordRotatedAt, testNow)
		}
		e, ok := byID[a.ID]
		if !ok || e.Actor != "test" || e.Details["email"] != a.Identity.Email || e.Details["slot"] != float64(a.Slot) ||
			e.Details["generation"] != float64(a.Generation) || e.Details["role"] != "buyer" {
			t.Errorf("slot %d's account.create event = %+v (found %v)", a.Slot, e, ok)
		}
	}
}

// A fill refused before it writes names why, and leaves no role.
func TestFillOutsideTheAllowlistLeavesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{Domains: []string{"qa.example.test"}})
	f.env(t, "production")
	kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	narrower, err := accounts.New(accounts.Config{DB: f.db, Keyring: kr, EmailDomains: []string{"qa2.example.test"}, OpenLeases: lease.OpenLeases})
	if err != nil {
		t.Fatal(err)
	}
	_, err = narrower.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{PoolSize: new(5)})
	if e := wantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "qa.example.test is not a controlled domain") {
		t.Errorf("error = %q, want it to name the domain", e.Message)
	}
	if _, err := f.svc.GetRole(f.ctx, "production", "buyer"); understudy.ErrorCode(err) != understudy.ENOTFOUND {
		t.Errorf("role after the refused fill: %v, want not found", err)
	}
}

// A fill that fails in the middle of its write (here the third of five
// rows breaks a constraint) leaves data as it was: no role, no account,
// no exclusion, no audit event of it.
func TestFillFailingMidwayLeavesDataAsItWas(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t) // its own database: the constraint below is DDL
	kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := accounts.New(accounts.Config{DB: pool, Keyring: kr, EmailDomains: []string{"qa.example.test"}, OpenLeases: lease.OpenLeases})
	if err != nil {
		t.Fatal(err)
	}
	ctx := access.WithRequestID(access.WithCaller(context.Background(), access.Caller{Actor: "test"}), "req-mid")
	if _, err := svc.CreateEnvironment(ctx, accounts.Environment{Name: "production", EmailDomains: []string{"qa.example.test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE accounts ADD CONSTRAINT no_slot_3 CHECK (slot <> 3)`); err != nil {
		t.Fatal(err)
	}
	_, err = svc.CreateRole(ctx, "production", "buyer", accounts.RoleChange{PoolSize: new(5)})
	if e := wantCode(t, err, understudy.EINVALID); !strings.Contains(e.Message, "no_slot_3") {
		t.Fatalf("CreateRole = %v; want it to name the constraint", err)
	}
	var roles, accts, excluded, events int
	err = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM roles), (SELECT count(*) FROM accounts), (SELECT count(*) FROM exclusions),
		(SELECT count(*) FROM audit_events WHERE request_id = 'req-mid' AND action <> 'environment.create')`).Scan(&roles, &accts, &excluded, &events)
	if err != nil || roles+accts+excluded+events != 0 {
		t.Errorf("after the failed fill: %d roles, %d accounts, %d exclusions, %d audit events (%v); want none", roles, accts, excluded, events, err)
	}
}

// Roles filled at the same time in one environment each write their pool
// in one statement: every account is on the environment's exclusion
// list, the list's size and hash match its identifiers, and each fill
// added one version of it.
func TestConcurrentFillsKeepTheExclusionListWhole(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := accounts.New(accounts.Config{DB: pool, Keyring: kr, EmailDomains: []string{"qa.example.test"}, OpenLeases: lease.OpenLeases})
	if err != nil {
		t.Fatal(err)
	}
	ctx := access.WithCaller(context.Background(), access.Caller{Actor: "test"})
	if _, err := svc.CreateEnvironment(ctx, accounts.Environment{Name: "production", EmailDomains: []string{"qa.example.test"}}); err != nil {
		t.Fatal(err)
	}
	const roles, size = 4, 10
	errs := make(chan error, roles)
	for i := range roles {
		go func() {
			_, err := svc.CreateRole(ctx, "production", fmt.Sprintf("r%d", i), accounts.RoleChange{PoolSize: new(size)})
			errs <- err
		}()
	}
	for range roles {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var accts, listed, listSize, version, versions int
	var hashOK bool
	err = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM accounts),
		(SELECT count(*) FROM exclusions x JOIN accounts a ON a.id = x.account_id
		 WHERE NOT x.forgotten AND x.identifier IN (a.id::text, a.email, a.username)),
		l.size, l.version, (SELECT count(DISTINCT version) FROM exclusions),
		l.hash = (SELECT bit_xor(exclusion_digest(identifier)) FROM exclusions WHERE NOT forgotten)
		FROM exclusion_lists l`).Scan(&accts, &listed, &listSize, &version, &versions, &hashOK)
	if err != nil {
		t.Fatal(err)
	}
	// A username two accounts share is listed once, so listed may fall
	// short of 3 per account by those; none is shared at this seed.
	if accts != roles*size || listed != 3*accts || listSize != listed || !hashOK {
		t.Errorf("%d accounts, %d identifiers listed, list size %d, hash matches: %v; want %d, %d, %d, true",
			accts, listed, listSize, hashOK, roles*size, 3*roles*size, 3*roles*size)
	}
	if version != roles || versions != roles {
		t.Errorf("list version %d, %d versions among identifiers; want %d: one per fill", version, versions, roles)
	}
}
