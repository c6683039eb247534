package accounts_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/fake"
	"github.com/understudy-dev/understudy/secret"
)

// appFixture is a Service whose registry builds one shared fake app, so the
// test can act as the app (change state, go down).
type appFixture struct {
	fixture
	app *fake.App
}

func newAppFixture(t *testing.T, db pgdb.DB, pool int) appFixture {
	t.Helper()
	shared := fake.New(fake.Config{})
	reg := providers.NewRegistry()
	reg.Register("fake", func(context.Context, providers.Config) (providers.App, error) { return shared, nil })
	kr, _ := secret.NewKeyring(make([]byte, secret.KeySize))
	svc, err := accounts.New(accounts.Config{DB: db, Keyring: kr, EmailDomains: []string{"qa.example.test"},
		Registry: reg, AppTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := access.WithCaller(context.Background(), access.Caller{Actor: "runner-1", RequestID: "req-lease"})
	f := appFixture{fixture: fixture{svc: svc, db: db, ctx: ctx}, app: shared}
	f.env(t, "production")
	if _, err := svc.AttachApp(ctx, "production", "chirp", accounts.AppChange{Provider: new("fake"), Secrets: map[string]string{"token": "hunter2-hunter2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateRole(ctx, "production", "buyer", accounts.RoleChange{PoolSize: new(pool)}); err != nil {
		t.Fatal(err)
	}
	f.provisionAll(t)
	return f
}

// provisionAll runs what the provisioning jobs would.
func (f appFixture) provisionAll(t *testing.T) []accounts.Account {
	t.Helper()
	list, err := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.Status != accounts.StatusPending {
			t.Fatalf("account %d is %s before provisioning, want pending", a.Slot, a.Status)
		}
		if err := f.svc.Provision(f.ctx, a.ID); err != nil {
			t.Fatalf("provisioning: %v", err)
		}
	}
	list, _ = f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production"})
	for _, a := range list {
		if a.Status != accounts.StatusReady {
			t.Fatalf("account %d is %s after provisioning (%s)", a.Slot, a.Status, a.StatusReason)
		}
	}
	return list
}

func (f appFixture) lease(t *testing.T, holder string) accounts.Grant {
	t.Helper()
	g, err := f.svc.AcquireLease(f.ctx, accounts.LeaseRequest{Environment: "production", Role: "buyer", Holder: holder, TTL: time.Minute})
	if err != nil {
		t.Fatalf("leasing: %v", err)
	}
	return g
}

func TestAttachingAnAppProvisionsAndCapturesTheBaseline(t *testing.T) {
	t.Parallel()
	f := newAppFixture(t, dbtest.Tx(t), 2)
	list, _ := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production"})
	for _, a := range list {
		ref, ok := f.app.Ref(a.ID)
		if !ok {
			t.Fatalf("account %s has no user in the app", a.ID)
		}
		snaps, err := f.svc.Snapshots(f.ctx, a.ID, "initial")
		if err != nil || len(snaps) != 1 || snaps[0].App != "chirp" || snaps[0].Version != 1 {
			t.Fatalf("baseline of %s: %+v %v", ref, snaps, err)
		}
	}
	apps, _ := f.svc.ListApps(f.ctx, "production")
	if len(apps) != 1 || strings.Join(apps[0].SecretNames, ",") != "token" {
		t.Fatalf("apps = %+v", apps)
	}
	raw, _ := json.Marshal(apps[0])
	if strings.Contains(string(raw), "hunter2") {
		t.Fatal("an app's secret is returned")
	}
	// Provisioning again changes nothing: the same ref, no second baseline.
	if err := f.svc.Provision(f.ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if snaps, _ := f.svc.Snapshots(f.ctx, list[0].ID, "initial"); len(snaps) != 1 {
		t.Fatalf("a second provisioning captured another baseline: %d", len(snaps))
	}
}

func TestAttachRefusesABadProviderByField(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	_, err := f.svc.AttachApp(f.ctx, "production", "chirp", accounts.AppChange{Provider: new("carrier-pigeon")})
	e := wantCode(t, err, understudy.EINVALID)
	if len(e.Fields) != 1 || e.Fields[0].Field != "provider" {
		t.Fatalf("fields = %+v", e.Fields)
	}
}

func TestResetRestoresTheBaselineAndCapturedStates(t *testing.T) {
	t.Parallel()
	f := newAppFixture(t, dbtest.Tx(t), 1)
	list, _ := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{})
	a := list[0]
	ref, _ := f.app.Ref(a.ID)
	baseline, _ := f.app.State(ref)
	if err := f.app.SetState(ref, providers.State(`{"items":["cart:sku-1"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CaptureState(f.ctx, a.ID, "with-cart"); err != nil {
		t.Fatal(err)
	}
	_ = f.app.SetState(ref, providers.State(`{"items":["cart:sku-1","post:hello"]}`))
	if _, err := f.svc.Reset(f.ctx, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.app.State(ref); string(got) != string(baseline) {
		t.Fatalf("after reset: %s, want the baseline %s", got, baseline)
	}
	if _, err := f.svc.Reset(f.ctx, a.ID, "with-cart"); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.app.State(ref); !strings.Contains(string(got), "cart:sku-1") || strings.Contains(string(got), "post:hello") {
		t.Fatalf("after reset to with-cart: %s", got)
	}
	_, err := f.svc.Reset(f.ctx, a.ID, "verified")
	wantCode(t, err, understudy.ECONFLICT)
}

func TestAFailedResetMarksTheAccountFailedAndItIsNotLeased(t *testing.T) {
	t.Parallel()
	f := newAppFixture(t, dbtest.Tx(t), 1)
	f.app.SetDown(true)
	_, err := f.svc.AcquireLease(f.ctx, accounts.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute})
	e := wantCode(t, err, understudy.EUNAVAILABLE)
	if !strings.Contains(e.Message, "app chirp") {
		t.Fatalf("message %q does not name the app", e.Message)
	}
	list, _ := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{})
	if list[0].Status != accounts.StatusFailed || !strings.Contains(list[0].StatusReason, "chirp") {
		t.Fatalf("account = %s %q", list[0].Status, list[0].StatusReason)
	}
	f.app.SetDown(false)
	_, err = f.svc.AcquireLease(f.ctx, accounts.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute})
	wantCode(t, err, understudy.ECONFLICT) // failed accounts are not leased
	if _, err := f.svc.Reset(f.ctx, list[0].ID, ""); err != nil {
		t.Fatal(err)
	}
	if g := f.lease(t, "ci"); g.Account.ID != list[0].ID || g.Lease.Status != accounts.LeaseActive {
		t.Fatalf("after a successful reset: %+v", g.Lease)
	}
}

func TestLeaseLifecycle(t *testing.T) {
	t.Parallel()
	f := newAppFixture(t, dbtest.Tx(t), 2)
	g1 := f.lease(t, "job-1")
	g2 := f.lease(t, "job-2")
	if g1.Account.ID == g2.Account.ID {
		t.Fatal("two leases share an account")
	}
	if g1.Credentials.Password == "" || g1.Refs["chirp"] == "" || g1.Account.Status != accounts.StatusLeased {
		t.Fatalf("grant = %+v", g1)
	}
	_, err := f.svc.AcquireLease(f.ctx, accounts.LeaseRequest{Environment: "production", Role: "buyer", Holder: "job-3", TTL: time.Minute})
	e := wantCode(t, err, understudy.ECONFLICT)
	if e.RetryAfter <= 0 || !strings.Contains(e.Message, "next lease expires") {
		t.Fatalf("busy error = %q, retry after %v", e.Message, e.RetryAfter)
	}
	_, err = f.svc.AcquireLease(f.ctx, accounts.LeaseRequest{Environment: "production", Role: "ghost", Holder: "job-3", TTL: time.Minute})
	wantCode(t, err, understudy.ENOTFOUND)
	renewed, err := f.svc.RenewLease(f.ctx, g1.Lease.ID, time.Hour)
	if err != nil || !renewed.ExpiresAt.After(g1.Lease.ExpiresAt.Add(50*time.Minute)) {
		t.Fatalf("renew: %v %v", renewed.ExpiresAt, err)
	}
	rel, err := f.svc.ReleaseLease(f.ctx, g2.Lease.ID, true)
	if err != nil || rel.Status != accounts.LeaseReleased {
		t.Fatalf("release: %+v %v", rel, err)
	}
	if again, err := f.svc.ReleaseLease(f.ctx, g2.Lease.ID, false); err != nil || again.Status != accounts.LeaseReleased {
		t.Fatalf("releasing twice: %v", err)
	}
	if g3 := f.lease(t, "job-3"); g3.Account.ID != g2.Account.ID {
		t.Fatal("the released account was not leased again")
	}
	for action, want := range map[string]int{"lease.acquire": 3, "lease.released": 1} {
		events, err := access.NewAudit(f.db).List(f.ctx, access.AuditFilter{Action: action, RequestID: "req-lease"})
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
	f := newAppFixture(t, dbtest.Tx(t), 2)
	req := accounts.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute, IdempotencyKey: "run-42"}
	a, err := f.svc.AcquireLease(f.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.svc.AcquireLease(f.ctx, req)
	if err != nil || b.Lease.ID != a.Lease.ID || b.Account.ID != a.Account.ID {
		t.Fatalf("retry = %+v %v, want lease %s", b.Lease, err, a.Lease.ID)
	}
	open, _ := f.svc.ListLeases(f.ctx, "production", "buyer", false)
	if len(open) != 1 {
		t.Fatalf("%d open leases, want 1", len(open))
	}
}

func TestExpiredLeasesFreeTheirAccounts(t *testing.T) {
	t.Parallel()
	f := newAppFixture(t, dbtest.Tx(t), 1)
	g := f.lease(t, "ci")
	if _, err := f.db.Exec(f.ctx, `UPDATE leases SET expires_at = now() - interval '1 second' WHERE id = $1`, g.Lease.ID); err != nil {
		t.Fatal(err)
	}
	n, err := f.svc.ExpireLeases(f.ctx)
	if err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	l, _ := f.svc.GetLease(f.ctx, g.Lease.ID)
	if l.Status != accounts.LeaseExpired {
		t.Fatalf("lease = %s", l.Status)
	}
	_, err = f.svc.RenewLease(f.ctx, g.Lease.ID, time.Minute)
	wantCode(t, err, understudy.ECONFLICT)
	if g2 := f.lease(t, "ci-2"); g2.Account.ID != g.Account.ID {
		t.Fatal("the expired lease's account was not freed")
	}
}

// 200 concurrent requests on a pool of 5: exactly 5 hold a lease at once,
// none shares an account, the rest are told the pool is busy.
func TestConcurrentLeasesNeverShareAnAccount(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	f := newAppFixture(t, pool, 5)
	var mu sync.Mutex
	held := map[string]string{}
	var granted, busy int
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			g, err := f.svc.AcquireLease(f.ctx, accounts.LeaseRequest{Environment: "production", Role: "buyer",
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
	if err := pool.QueryRow(f.ctx, `SELECT count(*) FROM leases WHERE status IN ('acquiring','active')`).Scan(&open); err != nil || open != 5 {
		t.Fatalf("open leases in the database: %d %v", open, err)
	}
}

func TestWaitingForAFreeAccount(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	f := newAppFixture(t, pool, 1)
	g := f.lease(t, "first")
	go func() {
		time.Sleep(200 * time.Millisecond)
		_, _ = f.svc.ReleaseLease(f.ctx, g.Lease.ID, false)
	}()
	start := time.Now()
	g2, err := f.svc.AcquireLease(f.ctx, accounts.LeaseRequest{Environment: "production", Role: "buyer", Holder: "second", TTL: time.Minute, Wait: 5 * time.Second})
	if err != nil || g2.Account.ID != g.Account.ID {
		t.Fatalf("waiting lease: %v", err)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > 4*time.Second {
		t.Fatalf("waited %v", took)
	}
}

func TestIdenticalStatesAreStoredOnce(t *testing.T) {
	t.Parallel()
	f := newAppFixture(t, dbtest.Tx(t), 3)
	var snapshots, blobs int
	if err := f.db.QueryRow(f.ctx, `SELECT count(*), count(DISTINCT hash) FROM snapshots`).Scan(&snapshots, &blobs); err != nil {
		t.Fatal(err)
	}
	var stored int
	_ = f.db.QueryRow(f.ctx, `SELECT count(*) FROM snapshot_blobs`).Scan(&stored)
	if snapshots != 3 || blobs != 1 || stored != 1 {
		t.Fatalf("%d snapshots, %d distinct, %d blobs stored; want 3, 1, 1", snapshots, blobs, stored)
	}
}

func TestASlowAppFailsTheResetWithinItsTimeout(t *testing.T) {
	t.Parallel()
	f := newAppFixture(t, dbtest.Tx(t), 1)
	list, _ := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{})
	f.app.SetDelay(5 * time.Second) // the fixture's app timeout is 2s
	start := time.Now()
	_, err := f.svc.Reset(f.ctx, list[0].ID, "")
	e := wantCode(t, err, understudy.EUNAVAILABLE)
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("the reset took %v; the app timeout is 2s", took)
	}
	if !strings.Contains(e.Message, "app chirp") || !strings.Contains(e.Message, "timed out after 2s") {
		t.Fatalf("message %q does not name the app and the timeout", e.Message)
	}
	a, _ := f.svc.GetAccount(f.ctx, list[0].ID)
	if a.Status != accounts.StatusFailed {
		t.Fatalf("account is %s after a failed reset", a.Status)
	}
}

// An app attached while an account's provisioning job was running (the
// job had already read the apps) leaves the account ready but missing from
// the new app; the next reset provisions it there first, so no lease hands
// out an account that is missing from an app.
func TestALeaseProvisionsTheAccountInAppsItIsMissingFrom(t *testing.T) {
	t.Parallel()
	f := newAppFixture(t, dbtest.Tx(t), 1)
	if _, err := f.svc.AttachApp(f.ctx, "production", "second", accounts.AppChange{Provider: new("fake")}); err != nil {
		t.Fatal(err)
	}
	// The racing job finished: the account is ready, with no ref in "second".
	if _, err := f.db.Exec(f.ctx, `UPDATE accounts SET status = 'ready'`); err != nil {
		t.Fatal(err)
	}
	g := f.lease(t, "ci")
	if g.Refs["chirp"] == "" || g.Refs["second"] == "" {
		t.Fatalf("refs = %v, want one in each app", g.Refs)
	}
	snaps, _ := f.svc.Snapshots(f.ctx, g.Account.ID, "initial")
	if len(snaps) != 2 {
		t.Fatalf("%d baselines, want one per app", len(snaps))
	}
}
