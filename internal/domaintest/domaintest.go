// Package domaintest builds the domain services (accounts, snapshot,
// lease, run) on a test database, wired as the server wires them, with one
// shared fake app that the test can act as (change a user's state, go down,
// go slow). Tests of several packages share it, so the wiring is written
// once.
package domaintest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/fake"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/snapshot"
)

// Actor and RequestID are who the Stack's context says is calling.
const (
	Actor     = "runner-1"
	RequestID = "req-lease"
)

// Stack is the domain services on one database, with environment
// production, app chirp (the shared fake) and role buyer, provisioned.
type Stack struct {
	Accounts  *accounts.Service
	Apps      *apps.Service
	Snapshots *snapshot.Service
	Leases    *lease.Service
	// Runs reads the runs and counts the outcomes the leases record.
	Runs *run.Service
	// TOTP keeps the accounts' authenticator secrets; provisioning stores
	// the ones the app hands back (App.SetTOTPURI).
	TOTP *inbox.TOTP
	// Keyring seals the stack's secrets.
	Keyring *secret.Keyring
	// App is the fake app behind every app the stack attaches.
	App *fake.App
	DB  pgdb.DB
	// Ctx carries the caller Actor and the request id RequestID.
	Ctx context.Context
}

// New returns a Stack on db whose role buyer has pool accounts, all
// provisioned (as the provisioning jobs would) and ready. Apps time out
// after 2s.
func New(t testing.TB, db pgdb.DB, pool int) Stack {
	t.Helper()
	return NewAt(t, db, pool, nil)
}

// NewAt is New with now as every service's clock, as the server wires one
// clock into all of them (nil: each service's default, and the database's
// in SQL).
func NewAt(t testing.TB, db pgdb.DB, pool int, now func() time.Time) Stack {
	t.Helper()
	shared := fake.New(fake.Config{})
	reg := providers.NewRegistry()
	reg.Register("fake", func(context.Context, providers.Config) (providers.App, error) { return shared, nil })
	kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s := Stack{App: shared, DB: db, Keyring: kr,
		Ctx: access.WithRequestID(access.WithCaller(context.Background(), access.Caller{Actor: Actor, Scope: access.ScopeRunner}), RequestID)}
	sched, err := snapshot.NewScheduler(now)
	if err != nil {
		t.Fatal(err)
	}
	s.Accounts, err = accounts.New(accounts.Config{DB: db, OpenLeases: lease.OpenLeases, Keyring: kr, EmailDomains: []string{"qa.example.test"}, Provisioning: sched, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	s.Apps, err = apps.New(apps.Config{DB: db, Keyring: kr, Accounts: s.Accounts, Provisioning: sched, Registry: reg, AppTimeout: 2 * time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Apps.Close)
	if s.TOTP, err = inbox.NewTOTP(inbox.TOTPConfig{DB: db, Keyring: kr, Accounts: s.Accounts, Apps: s.Apps, Now: now}); err != nil {
		t.Fatal(err)
	}
	if s.Snapshots, err = snapshot.New(snapshot.Config{DB: db, Accounts: s.Accounts, Apps: s.Apps, AppTimeout: 2 * time.Second, TOTP: s.TOTP, Now: now}); err != nil {
		t.Fatal(err)
	}
	if s.Runs, err = run.New(run.Config{DB: db}); err != nil {
		t.Fatal(err)
	}
	if s.Leases, err = lease.New(lease.Config{DB: db, Accounts: s.Accounts, Snapshots: s.Snapshots, Apps: s.Apps, AppTimeout: 2 * time.Second, Now: now, Runs: s.Runs}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Accounts.CreateEnvironment(s.Ctx, accounts.Environment{Name: "production", EmailDomains: []string{"qa.example.test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apps.Attach(s.Ctx, "production", "chirp", apps.Change{Provider: new("fake"), Secrets: map[string]string{"token": "hunter2-hunter2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Accounts.CreateRole(s.Ctx, "production", "buyer", accounts.RoleChange{PoolSize: new(pool)}); err != nil {
		t.Fatal(err)
	}
	s.ProvisionAll(t)
	return s
}

// ProvisionAll runs what the provisioning jobs would, and checks that
// every account of production is ready afterwards.
func (s Stack) ProvisionAll(t testing.TB) []accounts.Account {
	t.Helper()
	list, err := s.Accounts.ListAccounts(s.Ctx, accounts.AccountFilter{Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.Status != accounts.StatusPending {
			t.Fatalf("account %d is %s before provisioning, want pending", a.Slot, a.Status)
		}
		if err := s.Snapshots.Provision(s.Ctx, a.ID); err != nil {
			t.Fatalf("provisioning: %v", err)
		}
	}
	list, _ = s.Accounts.ListAccounts(s.Ctx, accounts.AccountFilter{Environment: "production"})
	for _, a := range list {
		if a.Status != accounts.StatusReady {
			t.Fatalf("account %d is %s after provisioning (%s)", a.Slot, a.Status, a.StatusReason)
		}
	}
	return list
}

// Lease leases a buyer for a minute, or fails the test.
func (s Stack) Lease(t testing.TB, holder string) lease.Grant {
	t.Helper()
	g, err := s.Leases.Acquire(s.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: holder, TTL: time.Minute})
	if err != nil {
		t.Fatalf("leasing: %v", err)
	}
	return g
}

// WantCode fails the test unless err is an *understudy.Error with code.
func WantCode(t testing.TB, err error, code string) *understudy.Error {
	t.Helper()
	e, ok := errors.AsType[*understudy.Error](err)
	if !ok || e.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	return e
}
