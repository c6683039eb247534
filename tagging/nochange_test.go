package tagging_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
)

// noChange is a destination synced once, ok, over a pool of two accounts.
type noChange struct {
	f  domaintest.Stack
	ph *posthogtest.Fake
	ds *tagging.Service
}

func newNoChange(t *testing.T) noChange {
	t.Helper()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	ph := posthogtest.New(t, posthogtest.Options{})
	ds := destinations(t, f, nil)
	if _, err := ds.Attach(f.Ctx, "production", "ph", posthogChange(ph, ph.ProjectToken())); err != nil {
		t.Fatal(err)
	}
	r, err := ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{})
	wantRun(t, r, err, tagging.RunOK, 2, 0)
	return noChange{f: f, ph: ph, ds: ds}
}

// drift forgets what the destination acknowledged of one identity, as no
// run does: only a run that compares the whole list sees it, and marks
// that identity again.
func (n noChange) drift(t *testing.T) string {
	t.Helper()
	var id string
	if err := n.f.DB.QueryRow(n.f.Ctx, `DELETE FROM destination_acks WHERE action = 'mark'
AND distinct_id = (SELECT min(distinct_id) FROM destination_acks WHERE action = 'mark') RETURNING distinct_id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func (n noChange) sync(t *testing.T, opts tagging.SyncOptions) (tagging.Run, int) {
	t.Helper()
	before := n.ph.Requests()
	r, err := n.ds.Sync(n.f.Ctx, "production", "ph", opts)
	if err != nil {
		t.Fatal(err)
	}
	return r, n.ph.Requests() - before
}

// A run whose list has not moved since the last ok run sends nothing and
// compares nothing: the drift it cannot see proves it read neither side.
// A full run compares, and sends what the drift left out.
func TestASyncWithNoChangeSendsNothingAndReadsNothing(t *testing.T) {
	t.Parallel()
	n := newNoChange(t)
	gone := n.drift(t)
	for range 2 {
		r, sent := n.sync(t, tagging.SyncOptions{})
		if sent != 0 || r.Requests == nil || *r.Requests != 0 || r.Outcome != tagging.RunOK || r.Added+r.Removed != 0 ||
			r.Unchanged != 2 || !strings.Contains(r.Verification, "has not changed") {
			t.Fatalf("a run with no change: %+v, %d requests to the fake", r, sent)
		}
	}
	r, sent := n.sync(t, tagging.SyncOptions{Full: true})
	if r.Outcome != tagging.RunOK || r.Added != 1 || r.Unchanged != 1 || sent == 0 || !slices.Contains(n.ph.Marked(), gone) {
		t.Fatalf("a full run: %+v, %d requests to the fake", r, sent)
	}
	// In sync again, and known to be.
	if r, sent := n.sync(t, tagging.SyncOptions{}); sent != 0 || r.Unchanged != 2 || !strings.Contains(r.Verification, "has not changed") {
		t.Fatalf("after the full run: %+v, %d requests", r, sent)
	}
	if r, sent := n.sync(t, tagging.SyncOptions{Full: true}); sent != 0 || r.Added+r.Removed != 0 || r.Unchanged != 2 {
		t.Fatalf("a full run with nothing to send: %+v, %d requests", r, sent)
	}
	var compared []bool
	rows, err := n.f.DB.Query(n.f.Ctx, `SELECT (details->>'compared')::boolean FROM audit_events WHERE action = 'destination.sync' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c bool
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		compared = append(compared, c)
	}
	if want := []bool{true, false, false, true, false, true}; rows.Err() != nil || !slices.Equal(compared, want) {
		t.Fatalf("audited runs compared %v, want %v (%v)", compared, want, rows.Err())
	}
}

// Every change that can make the destination hold other than the list
// makes the next run compare the whole list: the drift it then sees is
// sent with the change. An account retired without a new one (its pool
// shrunk) changes nothing to send: its identifiers stay on the list until
// forgotten.
func TestEveryChangeMakesTheNextRunCompare(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		change   func(t *testing.T, n noChange)
		compares bool
		// added and removed are what the next run sends besides the drift.
		added, removed int
	}{
		{name: "nothing", change: func(*testing.T, noChange) {}},
		{name: "a pool shrunk (an account retired, no new one)", change: func(t *testing.T, n noChange) {
			if _, err := n.f.Accounts.UpdateRole(n.f.Ctx, "production", "buyer", accounts.RoleChange{PoolSize: new(1)}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "an account retired (and its slot filled)", compares: true, added: 1, change: func(t *testing.T, n noChange) { retireFirst(t, n.f) }},
		{name: "an account provisioned", compares: true, added: 1, change: func(t *testing.T, n noChange) {
			if _, err := n.f.Accounts.CreateRole(n.f.Ctx, "production", "seller", accounts.RoleChange{}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "an account retired and forgotten", compares: true, added: 1, removed: 1, change: func(t *testing.T, n noChange) {
			if _, err := tagging.NewExclusions(n.f.DB, nil).Forget(n.f.Ctx, "production", retireFirst(t, n.f)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "an app ref recorded", compares: true, change: func(t *testing.T, n noChange) {
			h, err := tagging.ReadHead(n.f.Ctx, n.f.DB, "production")
			if err != nil {
				t.Fatal(err)
			}
			apps, err := n.f.Apps.InEnvironment(n.f.Ctx, h.EnvironmentID)
			if err != nil || len(apps) == 0 {
				t.Fatalf("apps %v %v", apps, err)
			}
			list, _ := n.f.Accounts.ListAccounts(n.f.Ctx, accounts.AccountFilter{Environment: "production"})
			if err := n.f.Apps.RecordRef(n.f.Ctx, list[0].ID, apps[0], "a-new-ref"); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "the destination updated", compares: true, change: func(t *testing.T, n noChange) {
			if _, err := n.ds.Update(n.f.Ctx, "production", "ph", tagging.DestinationChange{SyncInterval: new("30m")}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "the publisher's actions changed", compares: true, change: func(t *testing.T, n noChange) {
			// As a server of an older version recorded them.
			if _, err := n.f.DB.Exec(n.f.Ctx, `UPDATE destinations SET synced_actions = '{mark}'`); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "a run failed", compares: true, change: func(t *testing.T, n noChange) {
			n.ph.SetDown(true)
			r, _ := n.sync(t, tagging.SyncOptions{Full: true})
			n.ph.SetDown(false)
			if r.Outcome != tagging.RunFailed {
				t.Fatalf("the run with PostHog down: %+v", r)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNoChange(t)
			gone := n.drift(t)
			tc.change(t, n)
			r, sent := n.sync(t, tagging.SyncOptions{})
			if r.Outcome != tagging.RunOK {
				t.Fatalf("the next run: %+v", r)
			}
			if !tc.compares {
				if sent != 0 || r.Added+r.Removed != 0 || !strings.Contains(r.Verification, "has not changed") {
					t.Fatalf("the next run compared: %+v, %d requests", r, sent)
				}
				// What a full run sends is the drift alone: the change
				// needed nothing.
				r, _ = n.sync(t, tagging.SyncOptions{Full: true})
				if r.Added != 1 || r.Removed != 0 {
					t.Fatalf("a full run after the change: %+v", r)
				}
				return
			}
			if sent == 0 || r.Added != 1+tc.added || r.Removed != tc.removed || !slices.Contains(n.ph.Marked(), gone) {
				t.Fatalf("the next run: %+v, %d requests; want +%d -%d and %s marked again", r, sent, 1+tc.added, tc.removed, gone)
			}
			if r, sent := n.sync(t, tagging.SyncOptions{}); sent != 0 || r.Added+r.Removed != 0 {
				t.Fatalf("the run after it: %+v, %d requests", r, sent)
			}
		})
	}
}

// retireFirst retires the first account of production and returns its id.
func retireFirst(t *testing.T, f domaintest.Stack) string {
	t.Helper()
	list, err := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{Environment: "production"})
	if err != nil || len(list) == 0 {
		t.Fatalf("accounts %v %v", list, err)
	}
	if _, err := f.Accounts.RetireAccount(f.Ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	return list[0].ID
}

// After a partial run (the verification failed), the next run ensures the
// filter and verifies again, although it has nothing to send.
func TestAPartialRunMakesTheNextRunVerify(t *testing.T) {
	t.Parallel()
	n := newNoChange(t)
	n.ph.SetQueryError("the query timed out")
	r, _ := n.sync(t, tagging.SyncOptions{Full: true})
	n.ph.SetQueryError("")
	if r.Outcome != tagging.RunOK || r.Added+r.Removed != 0 {
		t.Fatalf("a full run with nothing to send: %+v", r)
	}
	n.drift(t)
	n.ph.SetQueryError("the query timed out")
	r, _ = n.sync(t, tagging.SyncOptions{Full: true})
	n.ph.SetQueryError("")
	if r.Outcome != tagging.RunPartial || r.Added != 1 {
		t.Fatalf("the run whose verification failed: %+v", r)
	}
	r, sent := n.sync(t, tagging.SyncOptions{})
	if r.Outcome != tagging.RunOK || r.Added+r.Removed != 0 || sent == 0 || !strings.HasPrefix(r.Verification, "verified: 0 visible") {
		t.Fatalf("the run after the partial one: %+v, %d requests", r, sent)
	}
	if r, sent := n.sync(t, tagging.SyncOptions{}); sent != 0 || !strings.Contains(r.Verification, "has not changed") {
		t.Fatalf("the run after that: %+v, %d requests", r, sent)
	}
}

// A run that read the destination before an update committed does not
// record what it reached: the update's settings were not the ones it
// sent with, so the next run compares.
func TestARunOverAnUpdatedDestinationRecordsNothing(t *testing.T) {
	t.Parallel()
	n := newNoChange(t)
	read, err := n.ds.Get(n.f.Ctx, "production", "ph")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.ds.Update(n.f.Ctx, "production", "ph", tagging.DestinationChange{SyncInterval: new("30m")}); err != nil {
		t.Fatal(err)
	}
	if r, err := n.ds.SyncAsRead(n.f.Ctx, read); err != nil || r.Outcome != tagging.RunOK {
		t.Fatalf("the run over the destination as read: %+v %v", r, err)
	}
	gone := n.drift(t)
	r, sent := n.sync(t, tagging.SyncOptions{})
	if r.Added != 1 || sent == 0 || !slices.Contains(n.ph.Marked(), gone) {
		t.Fatalf("the next run did not compare: %+v, %d requests", r, sent)
	}
}
