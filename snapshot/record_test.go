package snapshot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/providers"
)

// Every reset that reaches the apps is kept as the account's last reset:
// timed, with the hash each app was verified against; a failed one names
// the app it failed in and why.
func TestResetsAreRecordedWithTheirVerifiedHashOrTheirFailedApp(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	list, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{})
	a := list[0]
	if _, found, err := f.Snapshots.LastReset(f.Ctx, a.ID); err != nil || found {
		t.Fatalf("a new account has a last reset: %v %v", found, err)
	}
	before := time.Now().UTC().Add(-time.Second)
	if _, err := f.Snapshots.Reset(f.Ctx, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	baseline, _ := f.Snapshots.List(f.Ctx, a.ID, "initial")
	r, found, err := f.Snapshots.LastReset(f.Ctx, a.ID)
	if err != nil || !found || !r.OK || r.State != "initial" || r.Verified["chirp"] != baseline[0].Hash ||
		r.StartedAt.Before(before) || r.Duration < 0 || r.FailedApp != "" {
		t.Fatalf("last reset = %+v %v %v; want ok, initial, chirp verified against %s", r, found, err, baseline[0].Hash)
	}
	f.App.SetDelay(5 * time.Second) // the fixture's app timeout is 2s
	if _, err := f.Snapshots.Reset(f.Ctx, a.ID, ""); err == nil {
		t.Fatal("a reset of a slow app succeeded")
	}
	r, _, _ = f.Snapshots.LastReset(f.Ctx, a.ID)
	if r.OK || r.FailedApp != "chirp" || !strings.Contains(r.Reason, "timed out") || len(r.Verified) != 0 ||
		r.Duration < 2*time.Second {
		t.Fatalf("failed reset recorded as %+v", r)
	}
}

// Compare reads each app's state now and diffs it with the baseline,
// recording nothing; an app that does not answer has its error instead.
func TestCompareDiffsTheStateNowWithTheBaselineAndRecordsNothing(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	list, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{})
	a := list[0]
	same, err := f.Snapshots.Compare(f.Ctx, a.ID, "")
	if err != nil || len(same) != 1 || same[0].App != "chirp" || len(same[0].Changes) != 0 || same[0].Error != "" {
		t.Fatalf("compare right after provisioning: %+v %v", same, err)
	}
	ref, _ := f.App.Ref(a.ID)
	if err := f.App.SetState(ref, providers.State(`{"items":["cart:sku-1"]}`)); err != nil {
		t.Fatal(err)
	}
	changed, err := f.Snapshots.Compare(f.Ctx, a.ID, "")
	if err != nil || len(changed) != 1 || len(changed[0].Changes) == 0 || changed[0].Hash == same[0].Hash {
		t.Fatalf("compare after a change: %+v %v", changed, err)
	}
	if snaps, _ := f.Snapshots.List(f.Ctx, a.ID, ""); len(snaps) != 1 {
		t.Fatalf("compare recorded %d snapshots, want only the baseline", len(snaps))
	}
	f.App.SetDelay(5 * time.Second)
	down, err := f.Snapshots.Compare(f.Ctx, a.ID, "")
	if err != nil || len(down) != 1 || !strings.Contains(down[0].Error, "timed out") {
		t.Fatalf("compare with the app down: %+v %v", down, err)
	}
}
