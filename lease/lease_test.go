package lease_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/lease"
)

func TestAFailedResetMarksTheAccountFailedAndItIsNotLeased(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	f.App.SetDown(true)
	_, err := f.Leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute})
	e := domaintest.WantCode(t, err, understudy.EUNAVAILABLE)
	if !strings.Contains(e.Message, "app chirp") {
		t.Fatalf("message %q does not name the app", e.Message)
	}
	list, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{})
	if list[0].Status != accounts.StatusFailed || !strings.Contains(list[0].StatusReason, "chirp") {
		t.Fatalf("account = %s %q", list[0].Status, list[0].StatusReason)
	}
	f.App.SetDown(false)
	_, err = f.Leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute})
	domaintest.WantCode(t, err, understudy.ECONFLICT) // failed accounts are not leased
	if _, err := f.Snapshots.Reset(f.Ctx, list[0].ID, ""); err != nil {
		t.Fatal(err)
	}
	if g := f.Lease(t, "ci"); g.Account.ID != list[0].ID || g.Lease.Status != lease.Active {
		t.Fatalf("after a successful reset: %+v", g.Lease)
	}
}

func TestLeaseLifecycle(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	g1 := f.Lease(t, "job-1")
	g2 := f.Lease(t, "job-2")
	if g1.Account.ID == g2.Account.ID {
		t.Fatal("two leases share an account")
	}
	if g1.Credentials.Password == "" || g1.Refs["chirp"] == "" || g1.Account.Status != accounts.StatusLeased {
		t.Fatalf("grant = %+v", g1)
	}
	_, err := f.Leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "job-3", TTL: time.Minute})
	e := domaintest.WantCode(t, err, understudy.ECONFLICT)
	if e.RetryAfter <= 0 || !strings.Contains(e.Message, "next lease expires") {
		t.Fatalf("busy error = %q, retry after %v", e.Message, e.RetryAfter)
	}
	_, err = f.Leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "ghost", Holder: "job-3", TTL: time.Minute})
	domaintest.WantCode(t, err, understudy.ENOTFOUND)
	renewed, err := f.Leases.Renew(f.Ctx, g1.Lease.ID, time.Hour)
	if err != nil || !renewed.ExpiresAt.After(g1.Lease.ExpiresAt.Add(50*time.Minute)) {
		t.Fatalf("renew: %v %v", renewed.ExpiresAt, err)
	}
	rel, err := f.Leases.Release(f.Ctx, g2.Lease.ID, true)
	if err != nil || rel.Status != lease.Released {
		t.Fatalf("release: %+v %v", rel, err)
	}
	if again, err := f.Leases.Release(f.Ctx, g2.Lease.ID, false); err != nil || again.Status != lease.Released {
		t.Fatalf("releasing twice: %v", err)
	}
	if g3 := f.Lease(t, "job-3"); g3.Account.ID != g2.Account.ID {
		t.Fatal("the released account was not leased again")
	}
	for action, want := range map[string]int{"lease.acquire": 3, "lease.released": 1} {
		events, err := access.NewAudit(f.DB).List(f.Ctx, access.AuditFilter{Action: action, RequestID: "req-lease"})
		if err != nil || len(events) != want {
			t.Fatalf("%s events: %d (%v), want %d", action, len(events), err, want)
		}
		if events[0].Actor != "runner-1" || events[0].TargetType != "lease" || events[0].Details["account_id"] == nil {
			t.Fatalf("%s event = %+v", action, events[0])
		}
	}
}

func TestIdempotencyKeyReturnsTheSameLease(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	req := lease.Request{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute, IdempotencyKey: "run-42"}
	a, err := f.Leases.Acquire(f.Ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Leases.Acquire(f.Ctx, req)
	if err != nil || b.Lease.ID != a.Lease.ID || b.Account.ID != a.Account.ID {
		t.Fatalf("retry = %+v %v, want lease %s", b.Lease, err, a.Lease.ID)
	}
	open, _ := f.Leases.List(f.Ctx, "production", "buyer", false)
	if len(open) != 1 {
		t.Fatalf("%d open leases, want 1", len(open))
	}
}

func TestExpiredLeasesFreeTheirAccounts(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	g := f.Lease(t, "ci")
	if _, err := f.DB.Exec(f.Ctx, `UPDATE leases SET expires_at = now() - interval '1 second' WHERE id = $1`, g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	n, err := f.Leases.Expire(f.Ctx)
	if err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	// Each expiry is audited, in the statement that ends the lease, with
	// the lease as its target and the request id of what ended it.
	events, err := access.NewAudit(f.DB).List(f.Ctx, access.AuditFilter{Action: "lease.expire", TargetID: g.Lease.ID})
	if err != nil || len(events) != 1 || events[0].RequestID != domaintest.RequestID || events[0].Details["account_id"] != g.Account.ID {
		t.Fatalf("expiry audit: %+v %v", events, err)
	}
	l, _ := f.Leases.Get(f.Ctx, g.Lease.ID)
	if l.Status != lease.Expired {
		t.Fatalf("lease = %s", l.Status)
	}
	_, err = f.Leases.Renew(f.Ctx, g.Lease.ID, time.Minute)
	domaintest.WantCode(t, err, understudy.ECONFLICT)
	if g2 := f.Lease(t, "ci-2"); g2.Account.ID != g.Account.ID {
		t.Fatal("the expired lease's account was not freed")
	}
}

// 200 concurrent requests on a pool of 5: exactly 5 hold a lease at once,
// none shares an account, the rest are told the pool is busy.
func TestConcurrentLeasesNeverShareAnAccount(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	f := domaintest.New(t, pool, 5)
	var mu sync.Mutex
	held := map[string]string{}
	var granted, busy int
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			g, err := f.Leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "buyer",
				Holder: "worker-" + string(rune('a'+i%26)), TTL: time.Minute})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if understudy.ErrorCode(err) != understudy.ECONFLICT {
					t.Errorf("lease error: %v", err)
				}
				busy++
				return
			}
			if other, dup := held[g.Account.ID]; dup {
				t.Errorf("account %s leased twice (%s and %s)", g.Account.ID, other, g.Lease.ID)
			}
			held[g.Account.ID] = g.Lease.ID
			granted++
		})
	}
	wg.Wait()
	if granted != 5 || busy != 195 {
		t.Fatalf("granted %d, busy %d; want 5 and 195", granted, busy)
	}
	var open int
	if err := pool.QueryRow(f.Ctx, `SELECT count(*) FROM leases WHERE status IN ('acquiring','active')`).Scan(&open); err != nil || open != 5 {
		t.Fatalf("open leases in the database: %d %v", open, err)
	}
}

func TestWaitingForAFreeAccount(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	f := domaintest.New(t, pool, 1)
	g := f.Lease(t, "first")
	go func() {
		time.Sleep(200 * time.Millisecond)
		_, _ = f.Leases.Release(f.Ctx, g.Lease.ID, false)
	}()
	start := time.Now()
	g2, err := f.Leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "second", TTL: time.Minute, Wait: 5 * time.Second})
	if err != nil || g2.Account.ID != g.Account.ID {
		t.Fatalf("waiting lease: %v", err)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > 4*time.Second {
		t.Fatalf("waited %v", took)
	}
}

// An app attached while an account's provisioning job was running (the
// job had already read the apps) leaves the account ready but missing from
// the new app; the next reset provisions it there first, so no lease hands
// out an account that is missing from an app.
func TestALeaseProvisionsTheAccountInAppsItIsMissingFrom(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	if _, err := f.Apps.Attach(f.Ctx, "production", "second", apps.Change{Provider: new("fake")}); err != nil {
		t.Fatal(err)
	}
	// The racing job finished: the account is ready, with no ref in "second".
	if _, err := f.DB.Exec(f.Ctx, `UPDATE accounts SET status = 'ready'`); err != nil {
		t.Fatal(err)
	}
	g := f.Lease(t, "ci")
	if g.Refs["chirp"] == "" || g.Refs["second"] == "" {
		t.Fatalf("refs = %v, want one in each app", g.Refs)
	}
	snaps, _ := f.Snapshots.List(f.Ctx, g.Account.ID, "initial")
	if len(snaps) != 2 {
		t.Fatalf("%d baselines, want one per app", len(snaps))
	}
}
