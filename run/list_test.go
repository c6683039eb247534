package run_test

import (
	"slices"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/run"
)

// t0 is when the fixture's first run starts, on the services' clock.
var t0 = time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC)

// runsFixture is five runs a minute apart, on the services' clock:
//
//	a  buyer   checkout  passed after 30s
//	b  buyer   signup    failed after 30s
//	c  seller  (none)    released without an outcome
//	d  buyer   checkout  active
//	e  buyer   (none)    abandoned (expired at t0+10m)
type runsFixture struct {
	domaintest.Stack
	ids map[string]string // by letter
}

func newRunsFixture(t *testing.T) runsFixture {
	t.Helper()
	clock := t0
	f := runsFixture{Stack: domaintest.NewAt(t, dbtest.Tx(t), 3, func() time.Time { return clock }), ids: map[string]string{}}
	if _, err := f.Accounts.CreateRole(f.Ctx, "production", "seller", accounts.RoleChange{PoolSize: new(1)}); err != nil {
		t.Fatal(err)
	}
	sellers, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{Environment: "production", Role: "seller"})
	if err := f.Snapshots.Provision(f.Ctx, sellers[0].ID); err != nil {
		t.Fatal(err)
	}
	acquire := func(letter, role string, ttl time.Duration, n *run.Naming) {
		t.Helper()
		clock = t0.Add(time.Duration(letter[0]-'a') * time.Minute)
		g, err := f.Leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: role, Holder: "ci-" + letter, TTL: ttl, Run: n})
		if err != nil {
			t.Fatalf("leasing %s: %v", letter, err)
		}
		f.ids[letter] = g.Lease.ID
	}
	release := func(letter string, o run.Outcome) {
		t.Helper()
		clock = clock.Add(30 * time.Second)
		r := lease.ReleaseRequest{}
		if o != "" {
			r.Outcome = &run.Report{Outcome: o}
		}
		if _, err := f.Leases.ReleaseWith(f.Ctx, f.ids[letter], r); err != nil {
			t.Fatalf("releasing %s: %v", letter, err)
		}
	}
	acquire("a", "buyer", time.Hour, &run.Naming{Flow: "checkout", RunID: "1"})
	release("a", run.Passed)
	acquire("b", "buyer", time.Hour, &run.Naming{Flow: "signup", RunID: "2"})
	release("b", run.Failed)
	acquire("c", "seller", time.Hour, nil)
	release("c", "")
	acquire("d", "buyer", time.Hour, &run.Naming{Flow: "checkout", RunID: "4"})
	acquire("e", "buyer", time.Minute, nil)
	clock = t0.Add(10 * time.Minute)
	if n, err := f.Leases.Expire(f.Ctx); err != nil || n != 1 {
		t.Fatalf("expired %d, %v; want e", n, err)
	}
	return f
}

// letters names the runs of list by the fixture's letters.
func (f runsFixture) letters(list []run.Run) string {
	var out []byte
	for _, r := range list {
		for l, id := range f.ids {
			if id == r.LeaseID {
				out = append(out, l[0])
			}
		}
	}
	return string(out)
}

func TestListShowsEveryLeaseAsARunNewestFirst(t *testing.T) {
	t.Parallel()
	f := newRunsFixture(t)
	list, next, err := f.Runs.List(f.Ctx, run.Filter{})
	if err != nil || next != "" {
		t.Fatalf("list: next %q, %v", next, err)
	}
	if got := f.letters(list); got != "edcba" {
		t.Fatalf("runs %q, want edcba", got)
	}
	e, d, c, a := list[0], list[1], list[2], list[4]
	if a.Outcome != run.Passed || a.Flow != "checkout" || a.RunID != "1" || a.Environment != "production" || a.Role != "buyer" ||
		a.Holder != "ci-a" || a.LeaseStatus != "released" || !a.AcquiredAt.Equal(t0) || a.DurationSeconds == nil || *a.DurationSeconds != 30 {
		t.Errorf("run a = %+v", a)
	}
	if c.Outcome != "" || c.Flow != "" || c.OutcomeAt != nil || c.DurationSeconds != nil || c.Links == nil || c.Role != "seller" || c.LeaseStatus != "released" {
		t.Errorf("run c, released without a name or an outcome = %+v", c)
	}
	if d.Outcome != "" || d.Flow != "checkout" || d.LeaseStatus != "active" || d.EndedAt != nil {
		t.Errorf("run d, still active = %+v", d)
	}
	if e.Outcome != run.Abandoned || e.LeaseStatus != "expired" || e.DurationSeconds == nil || *e.DurationSeconds != 6*60 {
		t.Errorf("run e, expired = %+v (duration %v)", e, e.DurationSeconds)
	}
	got, err := f.Runs.Get(f.Ctx, f.ids["b"])
	if err != nil || got.Outcome != run.Failed || got.Flow != "signup" || got.LeaseID != f.ids["b"] {
		t.Errorf("Get b = %+v %v", got, err)
	}
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", "not-a-uuid"} {
		_, err := f.Runs.Get(f.Ctx, id)
		domaintest.WantCode(t, err, understudy.ENOTFOUND)
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	f := newRunsFixture(t)
	at := func(m int) *time.Time { return new(t0.Add(time.Duration(m) * time.Minute)) }
	for _, c := range []struct {
		name string
		f    run.Filter
		want string
	}{
		{"environment", run.Filter{Environment: "production"}, "edcba"},
		{"another environment", run.Filter{Environment: "staging"}, ""},
		{"role", run.Filter{Role: "seller"}, "c"},
		{"environment and role", run.Filter{Environment: "production", Role: "buyer"}, "edba"},
		{"flow", run.Filter{Flow: "checkout"}, "da"},
		{"outcome", run.Filter{Outcome: run.Failed}, "b"},
		{"abandoned", run.Filter{Outcome: run.Abandoned}, "e"},
		{"flow and outcome", run.Filter{Flow: "checkout", Outcome: run.Passed}, "a"},
		{"since", run.Filter{Since: at(2)}, "edc"},
		{"until", run.Filter{Until: at(2)}, "ba"},
		{"since and until", run.Filter{Since: at(1), Until: at(3)}, "cb"},
	} {
		list, _, err := f.Runs.List(f.Ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := f.letters(list); got != c.want {
			t.Errorf("%s: runs %q, want %q", c.name, got, c.want)
		}
	}
}

func TestListPages(t *testing.T) {
	t.Parallel()
	f := newRunsFixture(t)
	var pages []string
	after := ""
	for range 5 {
		list, next, err := f.Runs.List(f.Ctx, run.Filter{Limit: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, f.letters(list))
		if after = next; after == "" {
			break
		}
	}
	if want := []string{"ed", "cb", "a"}; !slices.Equal(pages, want) {
		t.Fatalf("pages %q, want %q", pages, want)
	}
	// A page of a filtered list.
	list, next, err := f.Runs.List(f.Ctx, run.Filter{Role: "buyer", Limit: 3})
	if err != nil || f.letters(list) != "edb" || next == "" {
		t.Fatalf("first page of buyer: %q %q %v", f.letters(list), next, err)
	}
	if list, next, err = f.Runs.List(f.Ctx, run.Filter{Role: "buyer", Limit: 3, After: next}); err != nil || f.letters(list) != "a" || next != "" {
		t.Fatalf("second page of buyer: %q %q %v", f.letters(list), next, err)
	}
}

func TestListRefusesABadQuery(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	since := time.Now()
	for _, c := range []struct {
		f     run.Filter
		field string
	}{
		{run.Filter{Limit: run.MaxLimit + 1}, "limit"},
		{run.Filter{Limit: -1}, "limit"},
		{run.Filter{Outcome: "flaky"}, "outcome"},
		{run.Filter{Since: &since, Until: &since}, "until"},
		{run.Filter{After: "not a cursor"}, "after"},
		{run.Filter{After: "MjAzMS0wMy0wNFQxMDowMDowMFosbm90LWEtdXVpZA"}, "after"}, // a time and "not-a-uuid"
	} {
		_, _, err := f.Runs.List(f.Ctx, c.f)
		if e := domaintest.WantCode(t, err, understudy.EINVALID); len(e.Fields) != 1 || e.Fields[0].Field != c.field {
			t.Errorf("%+v: fields %+v, want %s", c.f, e.Fields, c.field)
		}
	}
}
