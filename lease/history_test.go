package lease_test

import (
	"slices"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/lease"
)

// The history lists ended leases only (released, expired, failed), newest
// first by when they ended (ties broken by id), paged by a cursor that
// neither repeats nor skips a lease, and filtered by environment and role.
func TestLeaseHistoryPagesEndedLeasesNewestFirst(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	if _, err := f.Accounts.CreateRole(f.Ctx, "production", "seller", accounts.RoleChange{PoolSize: new(1)}); err != nil {
		t.Fatal(err)
	}
	sellers, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{Environment: "production", Role: "seller"})
	if err := f.Snapshots.Provision(f.Ctx, sellers[0].ID); err != nil {
		t.Fatal(err)
	}
	var ended []string // oldest first
	for i := range 5 {
		g := f.Lease(t, "job")
		if _, err := f.Leases.Release(f.Ctx, g.Lease.ID, false); err != nil {
			t.Fatal(err)
		}
		// One transaction has one now(): give each an end of its own, and
		// two the same end, so the id decides between them.
		at := time.Date(2026, 1, 1, 12, min(i, 3), 0, 0, time.UTC)
		if _, err := f.DB.Exec(f.Ctx, `UPDATE leases SET ended_at = $2 WHERE id = $1`, g.Lease.ID, at); err != nil {
			t.Fatal(err)
		}
		ended = append(ended, g.Lease.ID)
	}
	if ended[3] > ended[4] { // equal ends: the greater id is the newer
		ended[3], ended[4] = ended[4], ended[3]
	}
	seller, err := f.Leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "seller", Holder: "s", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.DB.Exec(f.Ctx, `UPDATE leases SET expires_at = now() - interval '1 second' WHERE id = $1`, seller.Lease.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Leases.Expire(f.Ctx); err != nil {
		t.Fatal(err)
	}
	open := f.Lease(t, "still-open")

	var got []string
	after, pages := "", 0
	for {
		list, next, err := f.Leases.History(f.Ctx, lease.HistoryFilter{Role: "buyer", After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, l := range list {
			if l.EndedAt == nil || l.Status != lease.Released || l.Role != "buyer" {
				t.Fatalf("history lists %+v", l)
			}
			got = append(got, l.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	slices.Reverse(ended)
	if !slices.Equal(got, ended) || pages != 3 {
		t.Fatalf("history in %d pages = %v, want %v in 3", pages, got, ended)
	}
	all, _, err := f.Leases.History(f.Ctx, lease.HistoryFilter{Environment: "production"})
	if err != nil || len(all) != 6 || all[0].ID != seller.Lease.ID || all[0].Status != lease.Expired {
		t.Fatalf("production's history = %d leases, first %+v (%v), want 6, the expired seller's first", len(all), all[0], err)
	}
	for _, l := range all {
		if l.ID == open.Lease.ID {
			t.Fatal("the history lists an open lease")
		}
	}
	for _, f2 := range []lease.HistoryFilter{{Role: "ghost"}, {Environment: "staging"}} {
		if list, _, err := f.Leases.History(f.Ctx, f2); err != nil || len(list) != 0 {
			t.Fatalf("history of %+v = %v %v, want none", f2, list, err)
		}
	}
	for _, bad := range []lease.HistoryFilter{{After: "not-a-cursor"}, {After: "MjAyNi0wMS0wMQ"}, {Limit: 201}, {Limit: -1}} {
		_, _, err := f.Leases.History(f.Ctx, bad)
		domaintest.WantCode(t, err, understudy.EINVALID)
	}
}

// A lease's detail says who acquired it, with which Idempotency-Key, when
// it was last renewed and how it ended.
func TestLeaseDetail(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	g, err := f.Leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "ci-7", TTL: time.Minute, IdempotencyKey: "run-7"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.Leases.Detail(f.Ctx, g.Lease.ID)
	if err != nil || d.RenewedAt != nil || d.EndedAt != nil || d.IdempotencyKey != "run-7" || d.TokenName != domaintest.Actor || d.TTL != time.Minute {
		t.Fatalf("detail = %+v %v", d, err)
	}
	if _, err := f.Leases.Renew(f.Ctx, g.Lease.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Leases.Release(f.Ctx, g.Lease.ID, false); err != nil {
		t.Fatal(err)
	}
	d, err = f.Leases.Detail(f.Ctx, g.Lease.ID)
	if err != nil || d.RenewedAt == nil || d.EndedAt == nil || d.Status != lease.Released || d.StatusReason != "released" ||
		d.TTL != time.Hour || d.AccountID != g.Account.ID || d.Holder != "ci-7" {
		t.Fatalf("detail after renew and release = %+v %v", d, err)
	}
	for _, id := range []string{"nope", "00000000-0000-0000-0000-000000000000"} {
		_, err := f.Leases.Detail(f.Ctx, id)
		domaintest.WantCode(t, err, understudy.ENOTFOUND)
	}
}
