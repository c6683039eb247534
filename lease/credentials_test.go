package lease_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/lease"
)

// tokenCtx returns the Stack's context as the caller of a new token of
// scope, with its own request id.
func tokenCtx(t *testing.T, f domaintest.Stack, name string, scope access.Scope) context.Context {
	t.Helper()
	tok, _, err := access.NewTokens(f.DB).Create(f.Ctx, name, scope)
	if err != nil {
		t.Fatal(err)
	}
	ctx := access.WithCaller(context.Background(), access.Caller{Actor: tok.Name, Scope: tok.Scope, TokenID: tok.ID})
	return access.WithRequestID(ctx, "req-"+name)
}

// wantRefused checks that reading acct's credentials as ctx's caller is a
// 403 of type lease-required, audited with the token, the account and the
// request id, and returns nothing secret.
func wantRefused(t *testing.T, f domaintest.Stack, ctx context.Context, acct string) {
	t.Helper()
	cr, err := f.Leases.Credentials(ctx, acct)
	e := domaintest.WantCode(t, err, understudy.EFORBIDDEN)
	if e.Type != lease.LeaseRequiredType || !strings.Contains(e.Message, "only under an open lease held by this token") {
		t.Fatalf("refusal = type %q, %q", e.Type, e.Message)
	}
	if cr.Password != "" {
		t.Fatal("a refusal carried a password")
	}
	caller, rid := access.CallerFrom(ctx), access.RequestID(ctx)
	events, err := access.NewAudit(f.DB).List(f.Ctx, access.AuditFilter{Action: "account.read_credentials_denied", RequestID: rid, TargetID: acct})
	if err != nil || len(events) == 0 {
		t.Fatalf("no denied event for %s under %s (%v)", acct, rid, err)
	}
	ev := events[0]
	if ev.Actor != caller.Actor || ev.TargetType != "account" || ev.Details["token_id"] != caller.TokenID {
		t.Fatalf("denied event = %+v", ev)
	}
}

func TestCredentialsOnlyUnderAnOpenLeaseOfTheToken(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	ci1 := tokenCtx(t, f, "ci-1", access.ScopeRunner)
	ci2 := tokenCtx(t, f, "ci-2", access.ScopeRunner)
	admin := tokenCtx(t, f, "root", access.ScopeAdmin)
	list, err := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{Environment: "production"})
	if err != nil || len(list) != 2 {
		t.Fatalf("accounts: %d %v", len(list), err)
	}

	// No lease at all: refused, audited.
	wantRefused(t, f, ci1, list[0].ID)

	g, err := f.Leases.Acquire(ci1, lease.Request{Environment: "production", Role: "buyer", Holder: "job", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	other := list[0].ID
	if other == g.Account.ID {
		other = list[1].ID
	}
	// Its own open lease: the credentials the lease handed out.
	cr, err := f.Leases.Credentials(ci1, g.Account.ID)
	if err != nil || cr.Password != g.Credentials.Password || cr.AccountID != g.Account.ID {
		t.Fatalf("own lease: account %s, same password %v, %v", cr.AccountID, cr.Password == g.Credentials.Password, err)
	}
	// Another account than the one it holds, and another runner's lease.
	wantRefused(t, f, ci1, other)
	wantRefused(t, f, ci2, g.Account.ID)
	// An admin reads any account's, leased or not.
	for _, id := range []string{g.Account.ID, other} {
		if cr, err := f.Leases.Credentials(admin, id); err != nil || cr.Password == "" || cr.AccountID != id {
			t.Fatalf("admin on %s: %v", id, err)
		}
	}
	// A reader, never.
	reader := tokenCtx(t, f, "viewer", access.ScopeReader)
	_, err = f.Leases.Credentials(reader, g.Account.ID)
	domaintest.WantCode(t, err, understudy.EFORBIDDEN)
	// An unknown account is 404 for a runner, as for an admin.
	_, err = f.Leases.Credentials(ci1, "6f1a6a6e-0000-4000-8000-000000000000")
	domaintest.WantCode(t, err, understudy.ENOTFOUND)

	// Past its expiry, though the expiry job has not ended it yet.
	if _, err := f.DB.Exec(f.Ctx, `UPDATE leases SET expires_at = now() - interval '1 second' WHERE id = $1`, g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, f, ci1, g.Account.ID)
	if _, err := f.DB.Exec(f.Ctx, `UPDATE leases SET expires_at = now() + interval '1 minute' WHERE id = $1`, g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Leases.Credentials(ci1, g.Account.ID); err != nil {
		t.Fatalf("renewed lease: %v", err)
	}
	// Released.
	if _, err := f.Leases.Release(ci1, g.Lease.ID, false); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, f, ci1, g.Account.ID)
}

func TestCredentialsRefusedAfterTheLeaseExpired(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	ci := tokenCtx(t, f, "ci", access.ScopeRunner)
	g, err := f.Leases.Acquire(ci, lease.Request{Environment: "production", Role: "buyer", Holder: "job", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.DB.Exec(f.Ctx, `UPDATE leases SET expires_at = now() - interval '1 second' WHERE id = $1`, g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Leases.Expire(f.Ctx); err != nil || n != 1 {
		t.Fatalf("expired %d (%v)", n, err)
	}
	wantRefused(t, f, ci, g.Account.ID)
}

func TestAReplayedAcquireOfAnOverdueLeaseHandsOutNoCredentials(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	ci := tokenCtx(t, f, "ci", access.ScopeRunner)
	req := lease.Request{Environment: "production", Role: "buyer", Holder: "job", TTL: time.Minute, IdempotencyKey: "run-1"}
	g, err := f.Leases.Acquire(ci, req)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := f.Leases.Acquire(ci, req); err != nil || again.Lease.ID != g.Lease.ID {
		t.Fatalf("replay of an open lease: %v", err)
	}
	if _, err := f.DB.Exec(f.Ctx, `UPDATE leases SET expires_at = now() - interval '1 second' WHERE id = $1`, g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	again, err := f.Leases.Acquire(ci, req)
	e := domaintest.WantCode(t, err, understudy.ECONFLICT)
	if again.Credentials.Password != "" || !strings.Contains(e.Message, "expired") {
		t.Fatalf("replay of an overdue lease: %q", e.Message)
	}
}
