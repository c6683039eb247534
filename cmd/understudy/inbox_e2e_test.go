package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/openapi"
)

// inboxSite is a server with two buyer accounts, each leased by its own
// runner token, and an inbound token.
type inboxSite struct {
	s              *testServer
	inbound        string
	runner2        string
	lease1, lease2 openapi.LeaseGrant
}

func newInboxSite(t *testing.T, o serverOptions) *inboxSite {
	t.Helper()
	s := startServer(t, o)
	seed(t, s)
	ctx := context.Background()
	tokens := access.NewTokens(s.main.pool)
	as := access.WithCaller(ctx, access.Caller{Actor: "test"})
	_, inbound, err := tokens.Create(as, "test-inbound", access.ScopeInbound)
	if err != nil {
		t.Fatal(err)
	}
	_, runner2, err := tokens.Create(as, "test-runner-2", access.ScopeRunner)
	if err != nil {
		t.Fatal(err)
	}
	site := &inboxSite{s: s, inbound: inbound, runner2: runner2}
	for i, tok := range []string{s.Runner, runner2} {
		g, err := s.client(t, tok).AcquireLeaseWithResponse(ctx, nil,
			openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: fmt.Sprintf("inbox-%d", i), TtlSeconds: new(600)})
		if err != nil || g.JSON201 == nil {
			t.Fatalf("acquiring a lease: %v %s", err, g.Body)
		}
		*[]*openapi.LeaseGrant{&site.lease1, &site.lease2}[i] = *g.JSON201
	}
	return site
}

// signInMail is a sign-in message to to with code and a magic link.
func signInMail(to, code string) string {
	return "From: Chirp <no-reply@chirp.example.test>\r\nTo: " + to + "\r\nSubject: Your Chirp code is " + code +
		"\r\nMessage-ID: <" + code + "@chirp.example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Your sign-in code is " + code + ".\r\nOr sign in with this link: https://chirp.example.test/magic?token=tok" + code + "\r\n"
}

// deliver posts raw to /v1/inbound/mime for recipients with token.
func (x *inboxSite) deliver(t *testing.T, token, raw string, recipients ...string) (*http.Response, []byte) {
	t.Helper()
	q := url.Values{"recipient": recipients, "sender": {"bounces@chirp.example.test"}}
	return x.s.raw(t, token, http.MethodPost, "/v1/inbound/mime?"+q.Encode(), "message/rfc822", strings.NewReader(raw))
}

// delivered delivers raw and returns the stored messages' ids.
func (x *inboxSite) delivered(t *testing.T, raw string, recipients ...string) []string {
	t.Helper()
	resp, b := x.deliver(t, x.inbound, raw, recipients...)
	var r openapi.InboundReceipt
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b, &r) != nil || len(r.Messages) != len(recipients) {
		t.Fatalf("delivering: %d %s", resp.StatusCode, b)
	}
	ids := make([]string, len(r.Messages))
	for i, m := range r.Messages {
		ids[i] = m.Id
	}
	return ids
}

func (x *inboxSite) messages(t *testing.T, token, path string) []openapi.Message {
	t.Helper()
	resp, b := x.s.raw(t, token, http.MethodGet, path, "", nil)
	var list openapi.MessageList
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &list) != nil {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET %s: Cache-Control = %q", path, resp.Header.Get("Cache-Control"))
	}
	return list.Items
}

func TestInboxOverHTTPS(t *testing.T) {
	t.Parallel()
	x := newInboxSite(t, serverOptions{})
	s, ctx := x.s, context.Background()
	acct1 := x.lease1.Credentials.Email
	local, domain, _ := strings.Cut(acct1, "@")
	tagged := local + "+signin@" + domain
	ids := x.delivered(t, signInMail(tagged, "482913"), tagged)

	// The lease's holder reads it back, body, code and link.
	items := x.messages(t, s.Runner, "/v1/leases/"+x.lease1.Lease.Id+"/messages")
	if len(items) != 1 || items[0].Id != ids[0] || items[0].Body == nil || items[0].To != tagged || items[0].Via != "https" {
		t.Fatalf("the lease's messages = %+v", items)
	}
	if len(items[0].Body.Codes) == 0 || items[0].Body.Codes[0].Value != "482913" || items[0].LeaseId == nil || *items[0].LeaseId != x.lease1.Lease.Id {
		t.Fatalf("the message's codes = %+v, lease %v", items[0].Body.Codes, items[0].LeaseId)
	}
	code, err := s.client(t, s.Runner).GetLeaseCodeWithResponse(ctx, x.lease1.Lease.Id, &openapi.GetLeaseCodeParams{})
	if err != nil || code.JSON200 == nil || deref(code.JSON200.Code) != "482913" || code.JSON200.MessageId != ids[0] ||
		!strings.Contains(deref(code.JSON200.Link), "token=tok482913") {
		t.Fatalf("the lease's code: %v %s", err, code.Body)
	}
	link, _ := s.client(t, s.Runner).GetLeaseCodeWithResponse(ctx, x.lease1.Lease.Id, &openapi.GetLeaseCodeParams{Kind: new(openapi.Link)})
	if link.JSON200 == nil || !strings.HasPrefix(deref(link.JSON200.Link), "https://chirp.example.test/magic") {
		t.Fatalf("the lease's link: %s", link.Body)
	}
	// The other lease's account has no mail; its code does not come.
	none, _ := s.client(t, x.runner2).GetLeaseCodeWithResponse(ctx, x.lease2.Lease.Id, &openapi.GetLeaseCodeParams{Wait: new("0")})
	p := problemOf(t, none.StatusCode(), none.Body, http.StatusNotFound, "not_found")
	if p.Type != "urn:understudy:problem:no-message" {
		t.Fatalf("no code: type %q", p.Type)
	}

	// A runner of another lease is refused, and the refusal is audited.
	for _, path := range []string{"/messages", "/code"} {
		resp, b := s.raw(t, x.runner2, http.MethodGet, "/v1/leases/"+x.lease1.Lease.Id+path, "", nil)
		problemOf(t, resp.StatusCode, b, http.StatusForbidden, "forbidden")
		if strings.Contains(string(b), "482913") {
			t.Fatalf("the refusal shows the code: %s", b)
		}
	}
	denied, _ := s.client(t, s.Admin).ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("lease.inbox_read_denied")})
	if denied.JSON200 == nil || len(denied.JSON200.Items) != 2 || denied.JSON200.Items[0].Actor != "test-runner-2" {
		t.Fatalf("the refusals' audit: %s", denied.Body)
	}

	// A reader sees a summary, never the body or the code; so does a
	// runner by account, and an admin who does not ask for bodies.
	for _, tok := range []string{s.Reader, s.Runner, s.Admin} {
		path := "/v1/accounts/" + x.lease1.Lease.AccountId + "/messages?bodies=true"
		if tok == s.Admin {
			path = "/v1/accounts/" + x.lease1.Lease.AccountId + "/messages"
		}
		resp, b := s.raw(t, tok, http.MethodGet, path, "", nil)
		if resp.StatusCode != http.StatusOK || strings.Contains(string(b), "482913") || !strings.Contains(string(b), ids[0]) {
			t.Fatalf("the account's messages for a non-admin or without bodies: %d %s", resp.StatusCode, b)
		}
	}
	full := x.messages(t, s.Admin, "/v1/accounts/"+x.lease1.Lease.AccountId+"/messages?bodies=true")
	if len(full) != 1 || full[0].Body == nil || !strings.Contains(full[0].Body.Text, "482913") {
		t.Fatalf("an admin's bodies: %+v", full)
	}
	one, _ := s.client(t, s.Admin).GetMessageWithResponse(ctx, ids[0])
	if one.JSON200 == nil || one.JSON200.Body == nil || one.JSON200.Subject != "Your Chirp code is 482913" {
		t.Fatalf("an admin's message: %s", one.Body)
	}
	if r, _ := s.client(t, s.Runner).GetMessageWithResponse(ctx, ids[0]); r.StatusCode() != http.StatusForbidden {
		t.Fatalf("a runner's GET /v1/messages/{id}: %d", r.StatusCode())
	}
	resp, raw := s.raw(t, s.Admin, http.MethodGet, "/v1/messages/"+ids[0]+"/raw", "", nil)
	if resp.StatusCode != http.StatusOK || string(raw) != signInMail(tagged, "482913") || resp.Header.Get("Content-Type") != "message/rfc822" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename=`+ids[0]+`.eml` {
		t.Fatalf("the raw message: %d %v %q", resp.StatusCode, resp.Header, raw)
	}
	read, _ := s.client(t, s.Admin).ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("message.read_raw")})
	if read.JSON200 == nil || len(read.JSON200.Items) != 1 || read.JSON200.Items[0].TargetId != ids[0] {
		t.Fatalf("the raw read's audit: %s", read.Body)
	}

	// One unknown recipient refuses the message for all: nothing is stored.
	resp, b := x.deliver(t, x.inbound, signInMail(acct1, "555111"), acct1, "nobody@qa.example.test", "x@gmail.com", "not an address")
	p = problemOf(t, resp.StatusCode, b, http.StatusUnprocessableEntity, "invalid")
	f := fieldsOf(p)
	if len(f) != 3 || !strings.Contains(f["recipient[1]"], "nobody@qa.example.test") || f["recipient[2]"] == "" || f["recipient[3]"] == "" {
		t.Fatalf("the refusal names %v: %s", f, b)
	}
	if n := len(x.messages(t, s.Admin, "/v1/accounts/"+x.lease1.Lease.AccountId+"/messages")); n != 1 {
		t.Fatalf("after a refused delivery the account has %d messages, want 1", n)
	}

	// Malformed MIME is stored raw, with its parse error.
	bad, err := os.ReadFile("../../inbox/testdata/corpus/13-bad-boundary.eml")
	if err != nil {
		t.Fatal(err)
	}
	badID := x.delivered(t, string(bad), acct1)[0]
	got, _ := s.client(t, s.Admin).GetMessageWithResponse(ctx, badID)
	if got.JSON200 == nil || !strings.Contains(deref(got.JSON200.ParseError), "malformed") {
		t.Fatalf("a malformed message: %s", got.Body)
	}
	if _, raw := s.raw(t, s.Admin, http.MethodGet, "/v1/messages/"+badID+"/raw", "", nil); !bytes.Equal(raw, bad) {
		t.Fatal("a malformed message is not kept as it came")
	}
	// after reads only what is new, newest first.
	newer := x.messages(t, s.Runner, "/v1/leases/"+x.lease1.Lease.Id+"/messages?after="+ids[0])
	if len(newer) != 1 || newer[0].Id != badID {
		t.Fatalf("messages after the first: %+v", newer)
	}
	if all := x.messages(t, s.Runner, "/v1/leases/"+x.lease1.Lease.Id+"/messages"); len(all) != 2 || all[0].Id != badID {
		t.Fatalf("the lease's messages, newest first: %+v", all)
	}
}

// The inbound door: scope, media type, bad parameters.
func TestInboxInboundRefusals(t *testing.T) {
	t.Parallel()
	x := newInboxSite(t, serverOptions{Mutate: func(c *Config) { c.SMTPMaxBytes = 2 << 20 }})
	s := x.s
	acct := x.lease1.Credentials.Email
	// An inbound token calls the inbound door and nothing else.
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/accounts"}, {"GET", "/v1/leases"}, {"GET", "/v1/leases/" + x.lease1.Lease.Id + "/messages"},
		{"GET", "/v1/accounts/" + x.lease1.Lease.AccountId + "/messages"}, {"GET", "/v1/environments"},
	} {
		resp, b := s.raw(t, x.inbound, c.method, c.path, "", nil)
		problemOf(t, resp.StatusCode, b, http.StatusForbidden, "forbidden")
	}
	for _, tok := range []string{s.Runner, s.Reader} {
		resp, b := x.deliver(t, tok, signInMail(acct, "123456"), acct)
		problemOf(t, resp.StatusCode, b, http.StatusForbidden, "forbidden")
	}
	if resp, b := x.deliver(t, s.Admin, signInMail(acct, "123456"), acct); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("an admin's delivery: %d %s", resp.StatusCode, b)
	}
	// Over 1 MiB passes (the door's limit is the SMTP limit); over it, 413.
	big := signInMail(acct, "777888") + strings.Repeat("padding line of the message body\r\n", (3<<19)/35)
	if resp, b := x.deliver(t, x.inbound, big, acct); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a 1.5 MiB message: %d %s", resp.StatusCode, b)
	}
	huge := big + big
	resp, b := x.deliver(t, x.inbound, huge, acct)
	problemOf(t, resp.StatusCode, b, http.StatusRequestEntityTooLarge, "too_large")
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/inbound/mime?recipient="+url.QueryEscape(acct), struct{ *strings.Reader }{strings.NewReader(huge)})
	req.Header.Set("Authorization", "Bearer "+x.inbound)
	req.Header.Set("Content-Type", "message/rfc822")
	chunked, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	chunked.Body.Close()
	if chunked.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a huge message without a length: %d", chunked.StatusCode)
	}
	if n := len(x.messages(t, s.Admin, "/v1/accounts/"+x.lease1.Lease.AccountId+"/messages")); n != 2 {
		t.Fatalf("the account has %d messages, want the admin's and the 1.5 MiB one", n)
	}
	// Bad media type, no recipient, too many recipients, an empty body.
	q := "/v1/inbound/mime?recipient=" + url.QueryEscape(acct)
	resp, b = s.raw(t, x.inbound, http.MethodPost, q, "application/json", strings.NewReader(`{}`))
	if _, ok := fieldsOf(problemOf(t, resp.StatusCode, b, http.StatusBadRequest, "malformed"))["Content-Type"]; !ok {
		t.Fatalf("a JSON body: %s", b)
	}
	resp, b = s.raw(t, x.inbound, http.MethodPost, "/v1/inbound/mime", "message/rfc822", strings.NewReader(signInMail(acct, "1")))
	problemOf(t, resp.StatusCode, b, http.StatusBadRequest, "malformed")
	many := make([]string, 101)
	for i := range many {
		many[i] = acct
	}
	resp, b = x.deliver(t, x.inbound, signInMail(acct, "1"), many...)
	if _, ok := fieldsOf(problemOf(t, resp.StatusCode, b, http.StatusBadRequest, "malformed"))["recipient"]; !ok {
		t.Fatalf("101 recipients: %s", b)
	}
	resp, b = s.raw(t, x.inbound, http.MethodPost, q, "application/octet-stream", strings.NewReader(""))
	if resp.StatusCode/100 != 4 {
		t.Fatalf("an empty message: %d %s", resp.StatusCode, b)
	}
	// A sender that is no bare address (control characters, a header
	// smuggled after CRLF, a display name) is refused, and nothing is kept.
	for _, sender := range []string{"a\r\nBcc: x@y.example", "\x1b[2Jx@y.example", "App <noreply@app.example.com>", "not an address"} {
		resp, b := s.raw(t, x.inbound, http.MethodPost, q+"&sender="+url.QueryEscape(sender), "message/rfc822", strings.NewReader(signInMail(acct, "246810")))
		if _, ok := fieldsOf(problemOf(t, resp.StatusCode, b, http.StatusUnprocessableEntity, "invalid"))["sender"]; !ok {
			t.Fatalf("sender %q: %s", sender, b)
		}
	}
	if n := len(x.messages(t, s.Admin, "/v1/accounts/"+x.lease1.Lease.AccountId+"/messages")); n != 2 {
		t.Fatalf("the account has %d messages after the refused senders, want 2", n)
	}
	// wait beyond 60 s, or not a duration.
	for _, w := range []string{"61", "2m", "soon", "-1s"} {
		resp, b := s.raw(t, s.Runner, http.MethodGet, "/v1/leases/"+x.lease1.Lease.Id+"/messages?wait="+url.QueryEscape(w), "", nil)
		if _, ok := fieldsOf(problemOf(t, resp.StatusCode, b, http.StatusUnprocessableEntity, "invalid"))["wait"]; !ok {
			t.Fatalf("wait=%s: %s", w, b)
		}
	}
}
