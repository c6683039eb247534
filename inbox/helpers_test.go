package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
)

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// The code and the words that the test messages carry, which must never
// be stored readable.
const (
	testCode   = "482913"
	bodySecret = "tangerine-lighthouse"
)

// fixture is an inbox on db with environment production, whose role
// buyer has two ready accounts.
type fixture struct {
	svc      *inbox.Service
	accounts *accounts.Service
	db       pgdb.DB
	buyers   []accounts.Account
	// admin, runner and reader are contexts of callers of each scope.
	admin, runner, reader context.Context
}

type fixtureOptions struct {
	// Now is the inbox's clock; nil leaves the database's.
	Now func() time.Time
}

func newKeyring(t testing.TB) *secret.Keyring {
	t.Helper()
	key := make([]byte, secret.KeySize)
	for i := range key {
		key[i] = byte(i + 1)
	}
	kr, err := secret.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func caller(scope access.Scope) context.Context {
	ctx := access.WithCaller(context.Background(), access.Caller{Actor: string(scope) + "-1", Scope: scope, TokenID: ""})
	return access.WithRequestID(ctx, "req-"+string(scope))
}

// noLeases is accounts' OpenLeases for a database where nothing is leased.
func noLeases(context.Context, pgdb.DB, []string) (map[string]accounts.OpenLease, error) {
	return nil, nil
}

func newFixture(t testing.TB, db pgdb.DB, o fixtureOptions) fixture {
	t.Helper()
	kr := newKeyring(t)
	acc, err := accounts.New(accounts.Config{DB: db, Keyring: kr, OpenLeases: noLeases,
		EmailDomains: []string{"qa.example.test", "qa2.example.test"}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{accounts: acc, db: db, admin: caller(access.ScopeAdmin), runner: caller(access.ScopeRunner), reader: caller(access.ScopeReader)}
	f.svc = f.newService(t, o)
	if _, err := acc.CreateEnvironment(f.admin, accounts.Environment{Name: "production", EmailDomains: []string{"qa.example.test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.CreateRole(f.admin, "production", "buyer", accounts.RoleChange{PoolSize: new(2)}); err != nil {
		t.Fatal(err)
	}
	if f.buyers, err = acc.ListAccounts(f.admin, accounts.AccountFilter{Environment: "production", Role: "buyer"}); err != nil || len(f.buyers) != 2 {
		t.Fatalf("listing the buyers: %d, %v", len(f.buyers), err)
	}
	return f
}

// newService returns another inbox on the fixture's database: another
// replica of the server.
func (f fixture) newService(t testing.TB, o fixtureOptions) *inbox.Service {
	t.Helper()
	svc, err := inbox.New(inbox.Config{DB: f.db, Keyring: newKeyring(t), Accounts: f.accounts, Now: o.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// email returns the address of buyer i.
func (f fixture) email(i int) string { return f.buyers[i].Identity.Email }

// mail returns a message to to, whose text says the code on its own line.
func mail(to, subject string) []byte {
	return fmt.Appendf(nil, "From: Chirp <no-reply@chirp.example>\r\nTo: %s\r\nSubject: %s\r\n"+
		"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <m1@chirp.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Hello,\r\n\r\nYour code is\r\n%s\r\n\r\nThe %s team\r\n", to, subject, testCode, bodySecret)
}

// deliver stores a message for the buyers named, or fails the test.
func (f fixture) deliver(t testing.TB, svc *inbox.Service, subject string, buyers ...int) []string {
	t.Helper()
	d := inbox.Delivery{Via: "smtp", EnvelopeFrom: "bounces@chirp.example", Raw: mail(f.email(buyers[0]), subject)}
	for _, i := range buyers {
		d.Recipients = append(d.Recipients, inbox.Recipient{Address: f.email(i), AccountID: f.buyers[i].ID})
	}
	ids, err := svc.Receive(caller(access.ScopeInbound), d)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return ids
}

func wantCode(t testing.TB, err error, code string) *understudy.Error {
	t.Helper()
	e, ok := errors.AsType[*understudy.Error](err)
	if !ok || e.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	return e
}

func count(t testing.TB, db pgdb.DB, sql string, args ...any) int {
	t.Helper()
	n, err := pgdb.QueryOne(context.Background(), db, pgdb.Scalar[int], "", sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
