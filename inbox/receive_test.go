package inbox_test

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/dbtest"
)

// Accept takes a buyer's address in any case and with a plus-tag, and
// refuses, alike, a retired account, another domain and an unknown
// address.
func TestAcceptOnlySyntheticAccountsAddresses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.Tx(t), fixtureOptions{})
	ctx := caller(access.ScopeInbound)
	local, _, _ := strings.Cut(f.email(0), "@")
	for _, addr := range []string{f.email(0), strings.ToUpper(f.email(0)), local + "+signup-42@qa.example.test", local + "+@QA.example.test"} {
		r, err := f.svc.Accept(ctx, addr)
		if err != nil || r.AccountID != f.buyers[0].ID || r.Address != addr {
			t.Errorf("Accept(%s) = %+v, %v; want buyer 0 (%s)", addr, r, err, f.buyers[0].ID)
		}
	}
	if _, err := f.accounts.RetireAccount(f.admin, f.buyers[1].ID); err != nil {
		t.Fatal(err)
	}
	for name, addr := range map[string]string{
		"retired":         f.email(1),
		"other domain":    local + "@gmail.com",
		"allowed, unused": local + "@qa2.example.test",
		"unknown":         "nobody@qa.example.test",
		"only a tag":      "+" + local + "@qa.example.test",
	} {
		_, err := f.svc.Accept(ctx, addr)
		e := wantCode(t, err, understudy.ENOTFOUND)
		if e.Message != "no synthetic account has the address "+addr {
			t.Errorf("%s: message %q", name, e.Message)
		}
	}
	for _, addr := range []string{"", "no-at-sign", "a@b", `"quoted"@qa.example.test`, strings.Repeat("a", 250) + "@qa.example.test"} {
		e := wantCode(t, func() error { _, err := f.svc.Accept(ctx, addr); return err }(), understudy.EINVALID)
		if len(e.Fields) != 1 || e.Fields[0].Field != "address" {
			t.Errorf("Accept(%.20q): fields %+v", addr, e.Fields)
		}
	}
}

// A stored message holds its code, body and subject sealed: the row, the
// audit trail and the raw MIME hold none of them readable, and the
// subject shown without the body has its code replaced.
func TestReceiveStoresSealed(t *testing.T) {
	t.Parallel()
	db := dbtest.Tx(t)
	f := newFixture(t, db, fixtureOptions{})
	ids := f.deliver(t, f.svc, testCode+" is your Chirp code", 0)
	if len(ids) != 1 {
		t.Fatalf("ids = %v", ids)
	}
	var row []byte
	if err := db.QueryRow(context.Background(), `SELECT convert_to(m::text, 'UTF8') FROM messages m WHERE id = $1`, ids[0]).Scan(&row); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{testCode, bodySecret, "Your code is"} {
		if bytes.Contains(row, []byte(s)) {
			t.Errorf("the stored row holds %q readable", s)
		}
	}
	var subject string
	var audit []byte
	if err := db.QueryRow(context.Background(), `SELECT subject_redacted FROM messages WHERE id = $1`, ids[0]).Scan(&subject); err != nil {
		t.Fatal(err)
	}
	if subject != inbox.Redacted+" is your Chirp code" {
		t.Errorf("subject_redacted = %q", subject)
	}
	if err := db.QueryRow(context.Background(), `SELECT convert_to(string_agg(a::text, ''), 'UTF8') FROM audit_events a WHERE action = 'message.receive' AND target_id = $1`, ids[0]).Scan(&audit); err != nil {
		t.Fatal(err)
	}
	if len(audit) == 0 || bytes.Contains(audit, []byte(testCode)) || bytes.Contains(audit, []byte("Chirp code")) {
		t.Errorf("the audit event is missing or holds the subject or code: %s", audit)
	}
	m, err := f.svc.Get(f.runner, ids[0], true)
	if err != nil || m.Body == nil || m.Subject != testCode+" is your Chirp code" || len(m.Body.Codes) != 1 || m.Body.Codes[0].Value != testCode {
		t.Fatalf("Get as runner: %+v, %v", m, err)
	}
	if !strings.Contains(m.Body.Text, bodySecret) || m.AccountID != f.buyers[0].ID || m.Via != "smtp" || m.From != "no-reply@chirp.example" ||
		m.To != f.email(0) || m.EnvelopeFrom != "bounces@chirp.example" || m.CodeCount != 1 || m.Size != len(mail(f.email(0), testCode+" is your Chirp code")) {
		t.Errorf("Get as runner: %+v", m)
	}
}

// One delivery to several recipients stores one message each, in one
// transaction: one recipient retired since it was accepted stores none.
func TestReceiveManyRecipientsInOneTransaction(t *testing.T) {
	t.Parallel()
	db := dbtest.Tx(t)
	f := newFixture(t, db, fixtureOptions{})
	ids := f.deliver(t, f.svc, "Welcome", 0, 1)
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("ids = %v", ids)
	}
	for i, id := range ids {
		m, err := f.svc.Get(f.reader, id, false)
		if err != nil || m.AccountID != f.buyers[i].ID {
			t.Errorf("message %d: %+v, %v", i, m, err)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM audit_events WHERE action = 'message.receive' AND target_id = ANY($1)`, ids); n != 2 {
		t.Errorf("%d message.receive events, want 2", n)
	}
	if _, err := f.accounts.RetireAccount(f.admin, f.buyers[1].ID); err != nil {
		t.Fatal(err)
	}
	d := inbox.Delivery{Via: "https", Raw: mail(f.email(0), "Again"), Recipients: []inbox.Recipient{
		{Address: f.email(0), AccountID: f.buyers[0].ID}, {Address: f.email(1), AccountID: f.buyers[1].ID}}}
	_, err := f.svc.Receive(caller(access.ScopeInbound), d)
	wantCode(t, err, understudy.ENOTFOUND)
	if n := count(t, db, `SELECT count(*) FROM messages`); n != 2 {
		t.Errorf("%d messages after a refused delivery, want the 2 of before", n)
	}
}

// A delivery is refused, naming each bad field, when it is empty, has too
// many recipients, or comes through no known door.
func TestReceiveRefusesBadDeliveries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.Tx(t), fixtureOptions{})
	many := make([]inbox.Recipient, inbox.MaxRecipients+1)
	for i := range many {
		many[i] = inbox.Recipient{Address: f.email(0), AccountID: f.buyers[0].ID}
	}
	for name, c := range map[string]struct {
		d      inbox.Delivery
		fields []string
	}{
		"101 recipients": {inbox.Delivery{Via: "smtp", Raw: []byte("x"), Recipients: many}, []string{"recipients"}},
		"nothing":        {inbox.Delivery{}, []string{"raw", "recipients", "via"}},
		"bad account":    {inbox.Delivery{Via: "pigeon", Raw: []byte("x"), Recipients: []inbox.Recipient{{Address: "a@qa.example.test", AccountID: "x"}}}, []string{"recipients[0].account_id", "via"}},
	} {
		_, err := f.svc.Receive(caller(access.ScopeInbound), c.d)
		e := wantCode(t, err, understudy.EINVALID)
		var got []string
		for _, fe := range e.Fields {
			got = append(got, fe.Field)
		}
		if strings.Join(got, ",") != strings.Join(c.fields, ",") {
			t.Errorf("%s: fields %v, want %v", name, got, c.fields)
		}
	}
}

// A message is stored against the lease open on its account when it
// arrives, and its audit event names the lease; the sending host is kept.
func TestReceiveNamesTheOpenLease(t *testing.T) {
	t.Parallel()
	db := dbtest.Tx(t)
	f := newFixture(t, db, fixtureOptions{})
	const leaseID = "0a0b0c0d-0000-4000-8000-000000000001"
	// The lease as package lease writes it, cut to the columns the view
	// reads: this package cannot import lease.
	if _, err := db.Exec(context.Background(), `INSERT INTO leases (id, account_id, role_id, holder, state, status, ttl_seconds, expires_at)
		SELECT $1, id, role_id, 'ci-run-1', '{}', 'active', 60, now() + interval '1 minute' FROM accounts WHERE id = $2`, leaseID, f.buyers[0].ID); err != nil {
		t.Fatal(err)
	}
	accepted, err := f.svc.Accept(caller(access.ScopeInbound), f.email(0))
	if err != nil {
		t.Fatal(err)
	}
	d := inbox.Delivery{Via: "smtp", Raw: mail(f.email(0), "Leased"), Client: netip.MustParseAddr("192.0.2.7"),
		Auth:       inbox.AuthResults{SPF: "pass", DKIM: "none", DMARC: "fail"},
		Recipients: []inbox.Recipient{accepted, {Address: f.email(1), AccountID: f.buyers[1].ID}}}
	ids, err := f.svc.Receive(caller(access.ScopeInbound), d)
	if err != nil {
		t.Fatal(err)
	}
	// A recipient not made by Accept has its account, and its lease, read.
	d.Recipients = []inbox.Recipient{{Address: f.email(0), AccountID: f.buyers[0].ID}}
	again, err := f.svc.Receive(caller(access.ScopeInbound), d)
	if err != nil {
		t.Fatal(err)
	}
	m0, err0 := f.svc.Get(f.reader, ids[0], false)
	m1, err1 := f.svc.Get(f.reader, ids[1], false)
	m2, err2 := f.svc.Get(f.reader, again[0], false)
	if err0 != nil || err1 != nil || err2 != nil || m0.LeaseID != leaseID || m1.LeaseID != "" || m2.LeaseID != leaseID ||
		m0.Client != "192.0.2.7" || m0.Auth != d.Auth {
		t.Errorf("messages %+v, %+v, %+v (%v, %v, %v)", m0, m1, m2, err0, err1, err2)
	}
	if n := count(t, db, `SELECT count(*) FROM audit_events WHERE action = 'message.receive' AND target_id = $1 AND details->>'lease_id' = $2`, ids[0], leaseID); n != 1 {
		t.Errorf("%d audit events name the lease, want 1", n)
	}
}

// A delivery's messages, audit events and notification are one batch that
// commits whole or not at all: when the second recipient's account is
// deleted between Accept and Receive, its insert fails and the first
// recipient's message is not stored either, nor audited.
func TestReceiveStoresAllOrNothing(t *testing.T) {
	t.Parallel()
	db := dbtest.NewPool(t)
	f := newFixture(t, db, fixtureOptions{})
	ctx := caller(access.ScopeInbound)
	var rs []inbox.Recipient
	for i := range 2 {
		r, err := f.svc.Accept(ctx, f.email(i))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	if _, err := db.Exec(context.Background(), `DELETE FROM accounts WHERE id = $1`, f.buyers[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Receive(ctx, inbox.Delivery{Via: "https", Raw: mail(f.email(0), "Welcome"), Recipients: rs}); err == nil {
		t.Fatal("Receive stored a message for a deleted account")
	}
	if n := count(t, db, `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d messages stored by a failed delivery, want 0", n)
	}
	if n := count(t, db, `SELECT count(*) FROM audit_events WHERE action = 'message.receive'`); n != 0 {
		t.Errorf("%d message.receive events of a failed delivery, want 0", n)
	}
	if _, err := f.svc.Receive(ctx, inbox.Delivery{Via: "https", Raw: mail(f.email(0), "Welcome"), Recipients: rs[:1]}); err != nil {
		t.Fatalf("Receive to the account that is left: %v", err)
	}
	if n := count(t, db, `SELECT count(*) FROM messages`); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}
