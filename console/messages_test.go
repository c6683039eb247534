package console

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The code, the words only the body says, and the links of the test
// message: none may reach a session that is not an admin's.
const (
	mailCode   = "482913"
	mailSecret = "tangerine-lighthouse"
	magicLink  = "https://chirp.example/magic?token=mq7Yx"
	trackedTo  = "https://chirp.example/verify?t=abc"
)

// testMail is a multipart message whose subject and bodies carry the code,
// with a magic link in its text and a tracking redirect in its HTML.
func testMail(to string) []byte {
	tracked := "https://click.sendgrid.net/ls/click?upn=x&url=" + strings.ReplaceAll(trackedTo, "?", "%3F")
	return fmt.Appendf(nil, "From: Chirp <no-reply@chirp.example>\r\nTo: %s\r\nSubject: Your Chirp code is %s\r\n"+
		"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <m1@chirp.example>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/alternative; boundary=b1\r\n\r\n"+
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYour code is\r\n%s\r\n\r\nOr sign in: %s\r\n<b>not markup</b> %s\r\n"+
		"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p style=\"color: #333\">Your code is <strong>%s</strong>.</p>"+
		"<p><a href=\"%s\">Verify your address</a></p><p>%s</p>\r\n--b1--\r\n",
		to, mailCode, mailCode, magicLink, mailSecret, mailCode, tracked, mailSecret)
}

// mailFixture is a console with three accounts, a message to the first,
// and a session of each scope.
type mailFixture struct {
	fixture
	account, other, message string
	raw                     []byte
	sessions                map[access.Scope]*http.Cookie
}

func newMailFixture(t *testing.T) mailFixture {
	t.Helper()
	f := mailFixture{fixture: newFixture(t, 3), sessions: map[access.Scope]*http.Cookie{}}
	ctx := context.Background()
	type acct struct{ id, email string }
	list, err := pgdb.QueryAll(ctx, f.db, func(r pgx.Row, a *acct) error { return r.Scan(&a.id, &a.email) },
		`SELECT id::text, email FROM accounts ORDER BY slot`)
	if err != nil || len(list) != 3 {
		t.Fatalf("reading the accounts: %d, %v", len(list), err)
	}
	f.account, f.other = list[0].id, list[1].id
	f.raw = testMail(list[0].email)
	ids, err := f.console.cfg.Inbox.Receive(access.WithCaller(ctx, access.Caller{Actor: "mx", Scope: access.ScopeInbound}), inbox.Delivery{
		Via: "smtp", EnvelopeFrom: "bounces@chirp.example", Raw: f.raw,
		Recipients: []inbox.Recipient{{Address: list[0].email, AccountID: list[0].id}}})
	if err != nil {
		t.Fatalf("receiving: %v", err)
	}
	f.message = ids[0]
	f.sessions[access.ScopeAdmin] = f.cookie
	for _, sc := range []access.Scope{access.ScopeRunner, access.ScopeReader} {
		tok, _, err := access.NewTokens(f.db).Create(access.WithCaller(ctx, access.Caller{Actor: "test"}), "t-"+string(sc), sc)
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := f.console.sessions.create(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		f.sessions[sc] = &http.Cookie{Name: sessionCookie, Value: id}
	}
	return f
}

// as serves path to the session of scope.
func (f mailFixture) as(scope access.Scope, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(f.sessions[scope])
	rec := httptest.NewRecorder()
	f.console.ServeHTTP(rec, req)
	return rec
}

// An account's page lists its inbox: an admin sees each message's codes
// and links and opens it; a runner or a reader sees the sender, the
// subject with its code redacted, and the time, and no code, body or
// link anywhere.
func TestConsoleInboxOnTheAccountPage(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	page := "/ui/accounts/" + f.account
	admin := f.as(access.ScopeAdmin, page).Body.String()
	_, admin, _ = strings.Cut(admin, `id="inbox"`)
	admin, _, _ = strings.Cut(admin, "</section>")
	for _, want := range []string{`<code class="otp">` + mailCode + `</code>`, "Your Chirp code is " + mailCode, "no-reply@chirp.example",
		`href="/ui/accounts/` + f.account + `/messages/` + f.message + `"`, `<span class="pill">magic</span>`,
		html.EscapeString(magicLink), "tracking redirect", html.EscapeString(trackedTo), "<time "} {
		if !strings.Contains(admin, want) {
			t.Errorf("an admin's inbox lacks %q:\n%s", want, admin)
		}
	}
	if strings.Contains(admin, mailSecret) {
		t.Errorf("the inbox list shows body text")
	}
	for _, sc := range []access.Scope{access.ScopeRunner, access.ScopeReader} {
		rec := f.as(sc, page)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: GET %s: %d", sc, page, rec.Code)
		}
		for _, leak := range []string{mailCode, mailSecret, "chirp.example/magic", "chirp.example/verify", "/messages/", `class="otp"`} {
			if strings.Contains(body, leak) {
				t.Errorf("a %s's account page shows %q", sc, leak)
			}
		}
		for _, want := range []string{"Your Chirp code is " + inbox.Redacted, "no-reply@chirp.example", "codes in subjects are redacted"} {
			if !strings.Contains(body, want) {
				t.Errorf("a %s's account page lacks %q", sc, want)
			}
		}
	}
	// An account without mail says so.
	if body := f.as(access.ScopeAdmin, "/ui/accounts/"+f.other).Body.String(); !strings.Contains(body, "No mail yet to") {
		t.Errorf("an empty inbox does not say so")
	}
}

// A message's page, its HTML frame and its .eml are an admin's alone: a
// runner or reader is refused each with 403 and shown none of it.
func TestConsoleMessagePageIsAdminOnly(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	base := "/ui/accounts/" + f.account + "/messages/" + f.message
	for _, sc := range []access.Scope{access.ScopeRunner, access.ScopeReader} {
		for _, path := range []string{base, base + "/html", base + "/raw"} {
			rec := f.as(sc, path)
			body := rec.Body.String()
			if rec.Code != http.StatusForbidden || !strings.Contains(body, "scope admin") {
				t.Errorf("%s: GET %s: %d, want 403 saying it needs scope admin", sc, path, rec.Code)
			}
			if strings.Contains(body, mailCode) || strings.Contains(body, mailSecret) || strings.Contains(body, "From: Chirp") {
				t.Errorf("%s: GET %s shows the message", sc, path)
			}
		}
	}
	if n := countRows(t, f.db, `SELECT count(*) FROM audit_events WHERE action = 'message.read_raw'`); n != 0 {
		t.Errorf("%d raw reads audited after refusals, want 0", n)
	}
}

// An admin's message page shows the headers, the sender checks, the codes,
// the links and the text (escaped, as text), and frames the HTML body from
// its own URL, in a sandbox, under a policy of its own; the .eml is the
// message as received, and its download is audited.
func TestConsoleMessagePageAsAdmin(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	base := "/ui/accounts/" + f.account + "/messages/" + f.message
	page := f.get(t, base)
	body := page.Body.String()
	for _, want := range []string{"<h1>Your Chirp code is " + mailCode + "</h1>", `<code class="otp">` + mailCode + `</code>`,
		"<dt>Message-ID</dt><dd>&lt;m1@chirp.example&gt;</dd>", "<dt>SPF</dt>", "All ", html.EscapeString(magicLink),
		`<pre class="mail-text">`, "&lt;b&gt;not markup&lt;/b&gt; " + mailSecret,
		`<iframe class="mail-html" sandbox="" referrerpolicy="no-referrer" src="` + base + `/html"`,
		`href="` + base + `/raw" download>Download .eml</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the message page lacks %q", want)
		}
	}
	if strings.Contains(body, "<strong>"+mailCode) || strings.Contains(body, `style="color`) {
		t.Errorf("the message page holds the HTML body outside its frame")
	}
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("the message page's policy is %q", csp)
	}

	frame := f.get(t, base+"/html")
	if got := frame.Header().Get("Content-Security-Policy"); got != htmlFramePolicy || !strings.HasPrefix(got, "sandbox;") {
		t.Errorf("the frame's policy is %q, want %q", got, htmlFramePolicy)
	}
	if frame.Header().Get("X-Frame-Options") != "SAMEORIGIN" || frame.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("the frame's headers: %v", frame.Header())
	}
	if fb := frame.Body.String(); !strings.Contains(fb, "<strong>"+mailCode+"</strong>") || !strings.Contains(fb, mailSecret) ||
		!strings.HasPrefix(fb, "<!doctype html>") {
		t.Errorf("the frame's document is not the HTML body:\n%s", fb)
	}

	raw := f.get(t, base+"/raw")
	if raw.Body.String() != string(f.raw) || raw.Header().Get("Content-Type") != "message/rfc822" ||
		raw.Header().Get("Content-Disposition") != `attachment; filename=message-`+f.message+`.eml` {
		t.Errorf("the .eml: %v, %d bytes, want %d", raw.Header(), raw.Body.Len(), len(f.raw))
	}
	if n := countRows(t, f.db, `SELECT count(*) FROM audit_events WHERE action = 'message.read_raw' AND target_id = $1`, f.message); n != 1 {
		t.Errorf("the .eml download was audited %d times, want 1", n)
	}

	// The message under another account, or no such message: not found.
	for _, path := range []string{"/ui/accounts/" + f.other + "/messages/" + f.message, "/ui/accounts/" + f.other + "/messages/" + f.message + "/raw",
		"/ui/accounts/" + f.account + "/messages/not-an-id", "/ui/accounts/" + f.account + "/messages/00000000-0000-0000-0000-000000000000/html"} {
		if rec := f.as(access.ScopeAdmin, path); rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), mailCode) {
			t.Errorf("GET %s: %d, want 404", path, rec.Code)
		}
	}
}

func countRows(t *testing.T, db pgdb.DB, sql string, args ...any) int {
	t.Helper()
	n, err := pgdb.QueryOne(context.Background(), db, pgdb.Scalar[int], "", sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
