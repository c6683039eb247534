package snapshot_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/providers"
)

func TestAttachingAnAppProvisionsAndCapturesTheBaseline(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	list, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{Environment: "production"})
	for _, a := range list {
		ref, ok := f.App.Ref(a.ID)
		if !ok {
			t.Fatalf("account %s has no user in the app", a.ID)
		}
		snaps, err := f.Snapshots.List(f.Ctx, a.ID, "initial")
		if err != nil || len(snaps) != 1 || snaps[0].App != "chirp" || snaps[0].Version != 1 {
			t.Fatalf("baseline of %s: %+v %v", ref, snaps, err)
		}
	}
	apps, _ := f.Apps.List(f.Ctx, "production")
	if len(apps) != 1 || strings.Join(apps[0].SecretNames, ",") != "token" {
		t.Fatalf("apps = %+v", apps)
	}
	raw, _ := json.Marshal(apps[0])
	if strings.Contains(string(raw), "hunter2") {
		t.Fatal("an app's secret is returned")
	}
	// Provisioning again changes nothing: the same ref, no second baseline.
	if err := f.Snapshots.Provision(f.Ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if snaps, _ := f.Snapshots.List(f.Ctx, list[0].ID, "initial"); len(snaps) != 1 {
		t.Fatalf("a second provisioning captured another baseline: %d", len(snaps))
	}
}

func TestResetRestoresTheBaselineAndCapturedStates(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	list, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{})
	a := list[0]
	ref, _ := f.App.Ref(a.ID)
	baseline, _ := f.App.State(ref)
	if err := f.App.SetState(ref, providers.State(`{"items":["cart:sku-1"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Snapshots.CaptureState(f.Ctx, a.ID, "with-cart"); err != nil {
		t.Fatal(err)
	}
	_ = f.App.SetState(ref, providers.State(`{"items":["cart:sku-1","post:hello"]}`))
	if _, err := f.Snapshots.Reset(f.Ctx, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.App.State(ref); string(got) != string(baseline) {
		t.Fatalf("after reset: %s, want the baseline %s", got, baseline)
	}
	if _, err := f.Snapshots.Reset(f.Ctx, a.ID, "with-cart"); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.App.State(ref); !strings.Contains(string(got), "cart:sku-1") || strings.Contains(string(got), "post:hello") {
		t.Fatalf("after reset to with-cart: %s", got)
	}
	_, err := f.Snapshots.Reset(f.Ctx, a.ID, "verified")
	domaintest.WantCode(t, err, understudy.ECONFLICT)
	// Each reset is audited with its state and request id, in the statement
	// that marks the account ready.
	events, err := access.NewAudit(f.DB).List(f.Ctx, access.AuditFilter{Action: "account.reset", TargetID: a.ID})
	if err != nil || len(events) != 2 || events[0].Details["state"] != "with-cart" || events[1].Details["state"] != "initial" ||
		events[0].RequestID != domaintest.RequestID || events[0].Actor != domaintest.Actor {
		t.Fatalf("reset audit: %+v %v", events, err)
	}
}

func TestIdenticalStatesAreStoredOnce(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 3)
	var snapshots, blobs int
	if err := f.DB.QueryRow(f.Ctx, `SELECT count(*), count(DISTINCT hash) FROM snapshots`).Scan(&snapshots, &blobs); err != nil {
		t.Fatal(err)
	}
	var stored int
	_ = f.DB.QueryRow(f.Ctx, `SELECT count(*) FROM snapshot_blobs`).Scan(&stored)
	if snapshots != 3 || blobs != 1 || stored != 1 {
		t.Fatalf("%d snapshots, %d distinct, %d blobs stored; want 3, 1, 1", snapshots, blobs, stored)
	}
}

func TestASlowAppFailsTheResetWithinItsTimeout(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	list, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{})
	f.App.SetDelay(5 * time.Second) // the fixture's app timeout is 2s
	start := time.Now()
	_, err := f.Snapshots.Reset(f.Ctx, list[0].ID, "")
	e := domaintest.WantCode(t, err, understudy.EUNAVAILABLE)
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("the reset took %v; the app timeout is 2s", took)
	}
	if !strings.Contains(e.Message, "app chirp") || !strings.Contains(e.Message, "timed out after 2s") {
		t.Fatalf("message %q does not name the app and the timeout", e.Message)
	}
	a, _ := f.Accounts.GetAccount(f.Ctx, list[0].ID)
	if a.Status != accounts.StatusFailed {
		t.Fatalf("account is %s after a failed reset", a.Status)
	}
}

// A reset that an app refuses because its user is not synthetic, or not
// this account's, used to answer 500. It is a conflict whose type says
// which, and the account is failed with that reason.
func TestARefusedResetIsAConflictNamingTheRefusal(t *testing.T) {
	t.Parallel()
	for refusal, kind := range map[error]string{
		providers.ErrNotSynthetic: "not-synthetic",
		providers.ErrNotOwned:     "not-owned",
		providers.ErrRefused:      "app-refused",
		providers.ErrProtocol:     "app-contract",
	} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f := domaintest.New(t, dbtest.Tx(t), 1)
			list, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{})
			f.App.SetFailRestore(refusal)
			_, err := f.Snapshots.Reset(f.Ctx, list[0].ID, "")
			want := understudy.ECONFLICT
			if refusal == providers.ErrProtocol {
				want = understudy.EBADGATEWAY
			}
			e := domaintest.WantCode(t, err, want)
			if e.Type != kind || !strings.Contains(e.Message, "app chirp") {
				t.Fatalf("type %q, message %q; want type %s naming the app", e.Type, e.Message, kind)
			}
			a, _ := f.Accounts.GetAccount(f.Ctx, list[0].ID)
			if a.Status != accounts.StatusFailed || !strings.Contains(a.StatusReason, refusal.Error()) {
				t.Fatalf("account %s %q; want failed with the refusal", a.Status, a.StatusReason)
			}
			// The reason and the error say what failed once, not "reset to
			// initial failed: reset to initial failed: …".
			if n := strings.Count(a.StatusReason, "reset to initial failed"); n != 1 || !strings.HasPrefix(a.StatusReason, "reset to initial failed: app chirp: ") {
				t.Fatalf("reason %q says what failed %d times, want once, first", a.StatusReason, n)
			}
			if n := strings.Count(e.Message, "reset to initial failed"); n != 1 {
				t.Fatalf("message %q says what failed %d times, want once", e.Message, n)
			}
		})
	}
}

// An account leased while its reset was running is not marked ready: the
// reset answers ECONFLICT, the reset is recorded as the account's last,
// and no account.reset event is audited (its transaction rolled back).
func TestAResetOfAnAccountLeasedMeanwhileIsAConflict(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	f := domaintest.New(t, pool, 1)
	list, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{})
	a := list[0]
	restores := f.App.Calls().Restore
	f.App.SetDelay(400 * time.Millisecond) // twice (restore, snapshot) within the stack's 2s app timeout
	done := make(chan error, 1)
	go func() {
		_, err := f.Snapshots.Reset(f.Ctx, a.ID, "")
		done <- err
	}()
	for f.App.Calls().Restore == restores { // the reset has read the account and reached the app
		time.Sleep(time.Millisecond)
	}
	if _, err := pool.Exec(f.Ctx, `UPDATE accounts SET status = 'leased' WHERE id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	e := domaintest.WantCode(t, <-done, understudy.ECONFLICT)
	if !strings.Contains(e.Message, "changed during its reset") {
		t.Errorf("error %q does not say the account changed", e.Message)
	}
	got, _ := f.Accounts.GetAccount(f.Ctx, a.ID)
	if got.Status != accounts.StatusLeased {
		t.Errorf("account is %s, want it left leased", got.Status)
	}
	if events, err := access.NewAudit(pool).List(f.Ctx, access.AuditFilter{Action: "account.reset", TargetID: a.ID}); err != nil || len(events) != 0 {
		t.Errorf("account.reset events: %+v %v; want none", events, err)
	}
	if last, ok, err := f.Snapshots.LastReset(f.Ctx, a.ID); err != nil || !ok || !last.OK {
		t.Errorf("last reset = %+v %v %v; want the successful reset recorded", last, ok, err)
	}
}
