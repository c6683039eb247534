package inbox_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/dbtest"
)

// A reader never gets a body or a code, even when it asks, and its
// subject filter sees only the redacted subject; a runner and an admin
// asking for bodies get them, and match the full subject.
func TestBodiesOnlyForAdminAndRunner(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.Tx(t), fixtureOptions{})
	f.deliver(t, f.svc, "Sign in with "+testCode, 0)
	filter := inbox.Filter{AccountID: f.buyers[0].ID, Bodies: true}
	list, err := f.svc.List(f.reader, filter)
	if err != nil || len(list) != 1 {
		t.Fatalf("List as reader: %v, %v", list, err)
	}
	if m := list[0]; m.Body != nil || m.Subject != "Sign in with "+inbox.Redacted || m.CodeCount != 1 {
		t.Errorf("a reader got %+v", m)
	}
	if m, err := f.svc.Get(f.reader, list[0].ID, true); err != nil || m.Body != nil || m.Subject != "Sign in with "+inbox.Redacted {
		t.Errorf("Get as reader: %+v, %v", m, err)
	}
	if got, err := f.svc.List(f.reader, inbox.Filter{Subject: testCode}); err != nil || len(got) != 0 {
		t.Errorf("a reader's subject filter found the code: %v, %v", got, err)
	}
	for _, ctx := range []context.Context{f.runner, f.admin} {
		list, err := f.svc.List(ctx, filter)
		if err != nil || len(list) != 1 || list[0].Body == nil || list[0].Body.Codes[0].Value != testCode || list[0].Subject != "Sign in with "+testCode {
			t.Fatalf("List as %s: %+v, %v", access.CallerFrom(ctx).Scope, list, err)
		}
		if got, err := f.svc.List(ctx, inbox.Filter{Subject: "WITH " + testCode}); err != nil || len(got) != 1 || got[0].Body != nil || got[0].Subject != "Sign in with "+inbox.Redacted {
			t.Errorf("a %s's subject filter without bodies: %+v, %v", access.CallerFrom(ctx).Scope, got, err)
		}
	}
}

// The raw MIME is an admin's alone, and each read is audited.
func TestRawIsAdminOnly(t *testing.T) {
	t.Parallel()
	db := dbtest.Tx(t)
	f := newFixture(t, db, fixtureOptions{})
	id := f.deliver(t, f.svc, "Raw", 1)[0]
	for _, ctx := range []context.Context{f.runner, f.reader, caller(access.ScopeInbound)} {
		_, err := f.svc.Raw(ctx, id)
		wantCode(t, err, understudy.EFORBIDDEN)
	}
	raw, err := f.svc.Raw(f.admin, id)
	if err != nil || !bytes.Equal(raw, mail(f.email(1), "Raw")) {
		t.Fatalf("Raw as admin: %q, %v", raw, err)
	}
	if n := count(t, db, `SELECT count(*) FROM audit_events WHERE action = 'message.read_raw' AND target_id = $1 AND actor = 'admin-1'`, id); n != 1 {
		t.Errorf("%d message.read_raw events, want 1", n)
	}
	_, err = f.svc.Raw(f.admin, "7d1c9b3e-0000-4000-8000-000000000000")
	wantCode(t, err, understudy.ENOTFOUND)
	_, err = f.svc.Get(f.admin, "not-an-id", true)
	wantCode(t, err, understudy.ENOTFOUND)
}

// A listing is newest first; After pages forwards from a message (the
// nearest first kept by Limit, shown newest first); Since, Until and From
// narrow it; a bad filter names its fields.
func TestListFilters(t *testing.T) {
	t.Parallel()
	db := dbtest.Tx(t)
	f := newFixture(t, db, fixtureOptions{})
	clock := testNow
	svc := f.newService(t, fixtureOptions{Now: func() time.Time { return clock }})
	var ids []string
	for i := range 4 {
		clock = testNow.Add(time.Duration(i) * time.Minute)
		ids = append(ids, f.deliver(t, svc, "Message", 0)...)
	}
	f.deliver(t, svc, "Other account", 1)
	idsOf := func(list []inbox.Message) []string {
		out := []string{}
		for _, m := range list {
			out = append(out, m.ID)
		}
		return out
	}
	for name, c := range map[string]struct {
		f    inbox.Filter
		want []string
	}{
		"newest first":        {inbox.Filter{AccountID: f.buyers[0].ID, Limit: 2}, []string{ids[3], ids[2]}},
		"after, nearest kept": {inbox.Filter{AccountID: f.buyers[0].ID, After: ids[0], Limit: 2}, []string{ids[2], ids[1]}},
		"after the newest":    {inbox.Filter{AccountID: f.buyers[0].ID, After: ids[3]}, []string{}},
		"since and until":     {inbox.Filter{AccountID: f.buyers[0].ID, Since: testNow.Add(time.Minute), Until: testNow.Add(3 * time.Minute)}, []string{ids[2], ids[1]}},
		"from":                {inbox.Filter{AccountID: f.buyers[0].ID, From: "NO-REPLY@chirp", Limit: 1}, []string{ids[3]}},
		"from, none":          {inbox.Filter{From: "someone-else"}, []string{}},
	} {
		got, err := svc.List(f.reader, c.f)
		if err != nil || len(got) != len(c.want) || (len(got) > 0 && idsOf(got)[0] != c.want[0]) || (len(got) > 1 && idsOf(got)[1] != c.want[1]) {
			t.Errorf("%s: %v, %v; want %v", name, idsOf(got), err, c.want)
		}
	}
	_, err := svc.List(f.reader, inbox.Filter{AccountID: "x", After: "7d1c9b3e-0000-4000-8000-000000000000", Limit: 101, Subject: string(make([]byte, 201))})
	e := wantCode(t, err, understudy.EINVALID)
	if len(e.Fields) != 4 || e.Fields[0].Field != "account_id" || e.Fields[1].Field != "after" || e.Fields[2].Field != "limit" || e.Fields[3].Field != "subject" {
		t.Errorf("fields %+v", e.Fields)
	}
}
