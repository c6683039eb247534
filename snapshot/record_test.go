package snapshot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
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
