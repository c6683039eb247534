package tagging_test

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/tagging"
)

// read returns the list and its entries (since a version).
func read(t *testing.T, x *tagging.Exclusions, f domaintest.Stack, since int64) (tagging.List, []tagging.Entry) {
	t.Helper()
	var l tagging.List
	var out []tagging.Entry
	err := x.Stream(f.Ctx, "production", since, func(h tagging.List) error { l = h; return nil },
		func(e tagging.Entry) error { out = append(out, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return l, out
}

// xorHash is the list's hash as the contract defines it: the XOR of the
// SHA-256 of every identifier on it.
func xorHash(entries []tagging.Entry) string {
	var h [32]byte
	for _, e := range entries {
		d := sha256.Sum256([]byte(e.Identifier))
		for i := range h {
			h[i] ^= d[i]
		}
	}
	return hex.EncodeToString(h[:])
}

func TestTheExclusionListHoldsEveryIdentifierOfEveryAccount(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	x := tagging.NewExclusions(f.DB, nil)
	list, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{})
	l, entries := read(t, x, f, 0)
	var want []string
	for _, a := range list {
		ref, _ := f.App.Ref(a.ID)
		want = append(want, a.ID, a.Identity.Email, a.Identity.Username, "chirp:"+ref)
	}
	got := make([]string, len(entries))
	for i, e := range entries {
		got[i] = e.Identifier
		if e.Removed || e.AccountID == "" || e.Version < 1 || e.Version > l.Version {
			t.Fatalf("entry %+v (list version %d)", e, l.Version)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || l.Size != int64(len(want)) {
		t.Fatalf("list = %v (size %d), want %v", got, l.Size, want)
	}
	if l.Hash != xorHash(entries) || len(l.ETag()) < 10 {
		t.Fatalf("hash %s, want %s", l.Hash, xorHash(entries))
	}
}

func TestARetiredAccountStaysUntilForgotten(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	x := tagging.NewExclusions(f.DB, nil)
	a, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{})
	before, _ := read(t, x, f, 0)

	_, err := x.Forget(f.Ctx, "production", a[0].Identity.Email)
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "retire it first") {
		t.Fatalf("forgetting an active account: %v", err)
	}
	if _, err := f.Accounts.RetireAccount(f.Ctx, a[0].ID); err != nil {
		t.Fatal(err)
	}
	// Retired, it stays; its slot's new account is added.
	afterRetire, entries := read(t, x, f, 0)
	if afterRetire.Size != before.Size+3 || afterRetire.Version <= before.Version {
		t.Fatalf("after retiring: %+v, before %+v", afterRetire, before)
	}
	if !slices.ContainsFunc(entries, func(e tagging.Entry) bool { return e.Identifier == a[0].Identity.Email }) {
		t.Fatal("the retired account's email left the list")
	}
	forgotten, err := x.Forget(f.Ctx, "production", a[0].Identity.Email)
	if err != nil || len(forgotten) != 4 {
		t.Fatalf("forget: %v %v; want its 4 identifiers", forgotten, err)
	}
	after, entries := read(t, x, f, 0)
	if after.Size != afterRetire.Size-4 || after.Hash != xorHash(entries) || after.ETag() == afterRetire.ETag() {
		t.Fatalf("after forgetting: %+v", after)
	}
	// Since the version before the forget: the four, marked removed.
	_, changes := read(t, x, f, afterRetire.Version)
	if len(changes) != 4 || !changes[0].Removed {
		t.Fatalf("changes since %d: %+v", afterRetire.Version, changes)
	}
	if _, err := x.Forget(f.Ctx, "production", a[0].ID); understudy.ErrorCode(err) != understudy.ENOTFOUND {
		t.Fatalf("forgetting twice: %v", err)
	}
}

func TestSinceInTheFutureIsRefused(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	x := tagging.NewExclusions(f.DB, nil)
	err := x.Stream(f.Ctx, "production", 1<<40, func(tagging.List) error { return nil }, func(tagging.Entry) error { return nil })
	domaintest.WantCode(t, err, understudy.EINVALID)
	err = x.Stream(f.Ctx, "nowhere", 0, func(tagging.List) error { return nil }, func(tagging.Entry) error { return nil })
	domaintest.WantCode(t, err, understudy.ENOTFOUND)
}

func TestListsDescribesTheListOfEveryEnvironment(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	if _, err := f.Accounts.CreateEnvironment(f.Ctx, accounts.Environment{Name: "staging", EmailDomains: []string{"qa.example.test"}}); err != nil {
		t.Fatal(err)
	}
	x := tagging.NewExclusions(f.DB, nil)
	lists, err := x.Lists(f.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := x.Get(f.Ctx, "production")
	if err != nil {
		t.Fatal(err)
	}
	// Two accounts, each under its id, email, username and chirp ref: the
	// accounts' six identifiers under one version (their pool is written
	// in one statement), then one version per ref.
	if prod.Size != 8 || prod.Version != 3 {
		t.Fatalf("production = %+v, want size 8 at version 3", prod)
	}
	// Only this test's environments: others may share the database.
	lists = slices.DeleteFunc(lists, func(l tagging.List) bool { return l.Environment != "production" && l.Environment != "staging" })
	want := []tagging.List{prod, {Environment: "staging", Hash: strings.Repeat("0", 64)}}
	if !slices.Equal(lists, want) {
		t.Fatalf("lists = %+v, want %+v", lists, want)
	}
}
