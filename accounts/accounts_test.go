package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/identity"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/secret"
)

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// fixture is a Service on a rolled-back transaction, with a fixed clock.
type fixture struct {
	svc *accounts.Service
	db  pgdb.DB
	ctx context.Context
}

type fixtureOptions struct {
	Domains []string
	Key     []byte
}

func newFixture(t *testing.T, o fixtureOptions) fixture {
	t.Helper()
	if o.Domains == nil {
		o.Domains = []string{"qa.example.test", "qa2.example.test"}
	}
	if o.Key == nil {
		o.Key = make([]byte, secret.KeySize)
	}
	kr, err := secret.NewKeyring(o.Key)
	if err != nil {
		t.Fatal(err)
	}
	tx := dbtest.Tx(t)
	svc, err := accounts.New(accounts.Config{DB: tx, OpenLeases: lease.OpenLeases, Keyring: kr, EmailDomains: o.Domains, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := access.WithRequestID(access.WithCaller(context.Background(), access.Caller{Actor: "test"}), "req-1")
	return fixture{svc: svc, db: tx, ctx: ctx}
}

func (f fixture) env(t *testing.T, name string) accounts.Environment {
	t.Helper()
	e, err := f.svc.CreateEnvironment(f.ctx, accounts.Environment{Name: name, EmailDomains: []string{"qa.example.test"}})
	if err != nil {
		t.Fatalf("creating environment %s: %v", name, err)
	}
	return e
}

func wantCode(t *testing.T, err error, code string) *understudy.Error {
	t.Helper()
	e, ok := errors.AsType[*understudy.Error](err)
	if !ok || e.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	return e
}

func TestCreateRoleFillsPoolWithCoherentAccounts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	r, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{PoolSize: new(3)})
	if err != nil {
		t.Fatal(err)
	}
	if r.PoolSize != 3 || r.Environment != "production" {
		t.Fatalf("role = %+v", r)
	}
	list, err := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production", Role: "buyer"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("got %d accounts, want 3", len(list))
	}
	seen := map[string]bool{}
	for i, a := range list {
		if a.Slot != i+1 || a.Status != accounts.StatusReady || a.Generation != 0 {
			t.Errorf("account %d = slot %d status %s gen %d", i, a.Slot, a.Status, a.Generation)
		}
		if !strings.HasSuffix(a.Identity.Email, "@qa.example.test") || seen[a.Identity.Email] {
			t.Errorf("email %q not unique at the controlled domain", a.Identity.Email)
		}
		seen[a.Identity.Email] = true
		c, err := f.svc.Credentials(f.ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Password) != identity.PasswordLength || c.Email != a.Identity.Email {
			t.Errorf("credentials = %q/%d chars", c.Email, len(c.Password))
		}
	}
}

func TestPoolShrinksByRetiringAndGrowsWithNewGeneration(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "staging")
	if _, err := f.svc.CreateRole(f.ctx, "staging", "seller", accounts.RoleChange{PoolSize: new(3)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdateRole(f.ctx, "staging", "seller", accounts.RoleChange{PoolSize: new(1)}); err != nil {
		t.Fatal(err)
	}
	active, _ := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "staging"})
	retired, _ := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "staging", Status: accounts.StatusRetired})
	if len(active) != 1 || active[0].Slot != 1 || len(retired) != 2 {
		t.Fatalf("after shrink: %d active (slot %d), %d retired", len(active), active[0].Slot, len(retired))
	}
	if _, err := f.svc.UpdateRole(f.ctx, "staging", "seller", accounts.RoleChange{PoolSize: new(2)}); err != nil {
		t.Fatal(err)
	}
	active, _ = f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "staging"})
	if len(active) != 2 || active[1].Slot != 2 || active[1].Generation != 1 {
		t.Fatalf("after grow: %+v", active)
	}
	if active[1].Identity.Email == retired[0].Identity.Email || active[1].Identity.Email == retired[1].Identity.Email {
		t.Fatal("a new generation reused a retired identity")
	}
}

func TestEnvironmentDomainOutsideAllowlistIsRefusedByField(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	_, err := f.svc.CreateEnvironment(f.ctx, accounts.Environment{Name: "Prod!", EmailDomains: []string{"qa.example.test", "gmail.com"}})
	e := wantCode(t, err, understudy.EINVALID)
	fields := map[string]bool{}
	for _, fe := range e.Fields {
		fields[fe.Field] = true
	}
	if !fields["name"] || !fields["email_domains[1]"] || len(e.Fields) != 2 {
		t.Fatalf("fields = %+v, want name and email_domains[1]", e.Fields)
	}
}

func TestRoleValidationReportsEveryField(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	for _, pool := range []int{0, 101} {
		_, err := f.svc.CreateRole(f.ctx, "production", "Bad Name", accounts.RoleChange{PoolSize: new(pool),
			IsolationPolicy: map[string]accounts.Visibility{"leaderboards": "invisible"}})
		e := wantCode(t, err, understudy.EINVALID)
		got := []string{}
		for _, fe := range e.Fields {
			got = append(got, fe.Field)
		}
		if strings.Join(got, ",") != "isolation_policy[leaderboards],name,pool_size" {
			t.Fatalf("pool %d: fields = %v", pool, got)
		}
	}
}

func TestDuplicatesConflictAndUnknownsAreNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	_, err := f.svc.CreateEnvironment(f.ctx, accounts.Environment{Name: "production", EmailDomains: []string{"qa.example.test"}})
	wantCode(t, err, understudy.ECONFLICT)
	if _, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{})
	wantCode(t, err, understudy.ECONFLICT)
	_, err = f.svc.CreateRole(f.ctx, "nowhere", "buyer", accounts.RoleChange{})
	if e := wantCode(t, err, understudy.ENOTFOUND); !strings.Contains(e.Message, "nowhere") {
		t.Fatalf("message %q does not name the environment", e.Message)
	}
	_, err = f.svc.GetRole(f.ctx, "production", "ghost")
	wantCode(t, err, understudy.ENOTFOUND)
	_, err = f.svc.GetAccount(f.ctx, "not-a-uuid")
	wantCode(t, err, understudy.ENOTFOUND)
	_, err = f.svc.GetAccount(f.ctx, "7c9e6679-7425-40de-944b-e07fc1f90ae7")
	wantCode(t, err, understudy.ENOTFOUND)
}

func TestRetireFillsTheSlotWithANewGeneration(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	if _, err := f.svc.CreateRole(f.ctx, "production", "admin", accounts.RoleChange{}); err != nil {
		t.Fatal(err)
	}
	list, _ := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production"})
	old, err := f.svc.RetireAccount(f.ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Status != accounts.StatusRetired || old.RetiredAt == nil {
		t.Fatalf("retired account = %+v", old)
	}
	list, _ = f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production"})
	if len(list) != 1 || list[0].ID == old.ID || list[0].Generation != 1 || list[0].Slot != 1 {
		t.Fatalf("replacement = %+v", list)
	}
	_, err = f.svc.RotatePassword(f.ctx, old.ID)
	wantCode(t, err, understudy.ECONFLICT)
}

func TestRotatePasswordChangesTheStoredPassword(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	if _, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{}); err != nil {
		t.Fatal(err)
	}
	list, _ := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{})
	before, _ := f.svc.Credentials(f.ctx, list[0].ID)
	rotated, err := f.svc.RotatePassword(f.ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := f.svc.Credentials(f.ctx, list[0].ID)
	if rotated.Password == before.Password || after.Password != rotated.Password {
		t.Fatal("the password did not change, or the stored one is not the returned one")
	}
}

func TestWrongSecretKeyFailsClearlyAndChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	if _, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{}); err != nil {
		t.Fatal(err)
	}
	list, _ := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{})
	other := make([]byte, secret.KeySize)
	other[0] = 1
	kr, _ := secret.NewKeyring(other)
	wrong, _ := accounts.New(accounts.Config{DB: f.db, OpenLeases: lease.OpenLeases, Keyring: kr, EmailDomains: []string{"qa.example.test"}})
	_, err := wrong.Credentials(f.ctx, list[0].ID)
	e := wantCode(t, err, understudy.EINTERNAL)
	if !strings.Contains(e.Message, secret.KeyID(make([]byte, secret.KeySize))) || !strings.Contains(e.Message, "nothing was changed") {
		t.Fatalf("message %q does not name the sealing key id", e.Message)
	}
	if c, err := f.svc.Credentials(f.ctx, list[0].ID); err != nil || c.Password == "" {
		t.Fatalf("the right key no longer opens the password: %v", err)
	}
}

func TestRemovingADomainInUseConflicts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	if _, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.UpdateEnvironment(f.ctx, "production", accounts.EnvironmentChange{EmailDomains: []string{"qa2.example.test"}})
	wantCode(t, err, understudy.ECONFLICT)
	e, err := f.svc.UpdateEnvironment(f.ctx, "production", accounts.EnvironmentChange{EmailDomains: []string{"qa.example.test", "qa2.example.test"}})
	if err != nil || len(e.EmailDomains) != 2 {
		t.Fatalf("adding a domain: %v %v", e, err)
	}
	wantCode(t, f.svc.DeleteEnvironment(f.ctx, "production"), understudy.ECONFLICT)
}

func TestWritesAreAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	if _, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{PoolSize: new(2)}); err != nil {
		t.Fatal(err)
	}
	events, err := access.NewAudit(f.db).List(f.ctx, access.AuditFilter{RequestID: "req-1"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		if e.Actor != "test" {
			t.Errorf("actor = %q", e.Actor)
		}
		actions = append(actions, e.Action)
	}
	want := "account.create,account.create,role.create,environment.create"
	if strings.Join(actions, ",") != want {
		t.Fatalf("actions = %v, want %s", actions, want)
	}
}

// Every account carries its tags, and apps are told them when the account
// is provisioned.
func TestAccountsCarryTheirTags(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	if _, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{}); err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production"})
	if err != nil || len(list) != 1 {
		t.Fatalf("accounts: %v %v", list, err)
	}
	a := list[0]
	want := map[string]string{"is_synthetic": "true", "synthetic_role": "buyer", "synthetic_environment": "production", "understudy_account_id": a.ID}
	if !maps.Equal(a.Tags, want) {
		t.Fatalf("tags = %v, want %v", a.Tags, want)
	}
	got, _ := f.svc.GetAccount(f.ctx, a.ID)
	if !maps.Equal(got.Tags, want) {
		t.Fatalf("GetAccount tags = %v", got.Tags)
	}
}

// A caller asking for a full page and one more row gets them, so a page of
// MaxPage accounts can say whether another follows.
func TestListAccountsReturnsOneRowPastAFullPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	for i := range accounts.MaxPage/100 + 1 {
		if _, err := f.svc.CreateRole(f.ctx, "production", fmt.Sprintf("role-%02d", i), accounts.RoleChange{PoolSize: new(100)}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production", Limit: accounts.MaxPage + 1})
	if err != nil || len(list) != accounts.MaxPage+1 {
		t.Fatalf("got %d accounts (%v), want %d", len(list), err, accounts.MaxPage+1)
	}
}
