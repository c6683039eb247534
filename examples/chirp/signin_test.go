package chirp_test

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/examples/chirp"
)

// clock is a test's time: now, plus an offset the test moves forward.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// mailEnv is chirp sending its sign-in codes to a sink, on a clock the
// test moves.
type mailEnv struct {
	*env
	sink  *sink
	clock *clock
}

func newMailEnv(t *testing.T) mailEnv {
	t.Helper()
	s, c := newSink(t), &clock{}
	e := newEnvWith(t, func(cfg *chirp.Config) { cfg.SMTPAddr = s.addr })
	e.app.SetClock(c.now)
	return mailEnv{env: e, sink: s, clock: c}
}

const password = "Correct-horse-1"

// mailAfterSignIn signs in with the password, expects the code page, and
// returns the mail that came with it.
func (m mailEnv) mailAfterSignIn(b *browser, email string) readMail {
	m.t.Helper()
	before := len(m.sink.messages())
	p := b.signIn(email, password)
	if p.status != http.StatusSeeOther || p.location != "/login/code" || p.signIn == nil || p.cookie != nil {
		m.t.Fatalf("sign-in with the password = %d to %q (sign-in cookie %v, session %v), want 303 to /login/code with a pending sign-in only",
			p.status, p.location, p.signIn, p.cookie)
	}
	msgs := m.sink.messages()
	if len(msgs) != before+1 {
		m.t.Fatalf("the sink got %d messages, want %d", len(msgs), before+1)
	}
	mail := msgs[len(msgs)-1].read(m.t)
	if mail.code == "" || mail.link == "" {
		m.t.Fatalf("no code or link in the mail's text:\n%s", mail.text)
	}
	return mail
}

// wantSignedIn checks that p signs the browser in, and that it is.
func (b *browser) wantSignedIn(what string, p page, username string) {
	b.e.t.Helper()
	if p.status != http.StatusSeeOther || p.location != "/" || p.cookie == nil || p.cookie.Value == "" {
		b.e.t.Fatalf("%s = %d to %q (session cookie %v), want 303 to / with a session\n%s", what, p.status, p.location, p.cookie, p.body)
	}
	b.session = p.cookie.Value
	if got := b.home().testID("viewer"); len(got) != 1 || got[0] != "Signed in as @"+username {
		b.e.t.Fatalf("%s: the home page shows %q", what, got)
	}
}

// wantError checks p's status and the error it shows.
func wantError(t *testing.T, what string, p page, status int, msg string) {
	t.Helper()
	if p.status != status || !strings.Contains(p.body, msg) {
		t.Fatalf("%s = %d, want %d saying %q\n%s", what, p.status, status, msg, p.body)
	}
}

// enter posts a code to a step's page.
func (b *browser) enter(path, code string) page {
	b.e.t.Helper()
	return b.do("POST", path, url.Values{"code": {code}})
}

// wrong returns a 6-digit code other than code.
func wrong(code string) string { return fmt.Sprintf("%06d", (atoiOr0(code)+1)%1_000_000) }

func atoiOr0(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func TestSignInWithAMailedCode(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	email := m.provisionWithPassword("acct-1", password)
	b := &browser{e: m.env}
	mail := m.mailAfterSignIn(b, email)

	msg := m.sink.messages()[0]
	if msg.from != "no-reply@chirp.test" || len(msg.to) != 1 || msg.to[0] != email {
		t.Fatalf("the mail went from %q to %q, want no-reply@chirp.test to %s", msg.from, msg.to, email)
	}
	year := fmt.Sprint(time.Now().Year())
	switch {
	case mail.contentType != "multipart/alternative" || mail.subject != chirp.SignInSubject:
		t.Fatalf("the mail is %s %q", mail.contentType, mail.subject)
	case !strings.Contains(mail.from, "no-reply@chirp.test") || !strings.Contains(mail.to, email):
		t.Fatalf("the mail's headers say from %q to %q", mail.from, mail.to)
	case !strings.Contains(mail.html, `letter-spacing:6px;font-family:ui-monospace,monospace">`+mail.code+`</strong>`):
		t.Fatalf("the HTML does not emphasise the code %s:\n%s", mail.code, mail.html)
	case !strings.Contains(mail.html, `href="`+strings.ReplaceAll(mail.link, "&", "&amp;")+`"`):
		t.Fatalf("the HTML does not link to %s:\n%s", mail.link, mail.html)
	case !strings.HasPrefix(mail.link, m.srv.URL+"/login/link?token="):
		t.Fatalf("the link %s is not on chirp's base URL %s", mail.link, m.srv.URL)
	case !strings.Contains(mail.text, "© "+year+" chirp") || !strings.Contains(mail.html, "&copy; "+year+" chirp") ||
		!strings.Contains(mail.text, "/settings/email?unsubscribe=") || !strings.Contains(mail.html, ">Unsubscribe</a>"):
		t.Fatalf("the mail has no footer with the year and an unsubscribe link:\n%s\n%s", mail.text, mail.html)
	}

	if p := b.do("GET", "/login/code", nil); p.status != http.StatusOK || p.testID("prompt")[0] != "Enter the code we sent to you" {
		t.Fatalf("GET /login/code = %d\n%s", p.status, p.body)
	}
	if p := b.do("GET", "/", nil); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("a pending sign-in opens the home page: %d to %q", p.status, p.location)
	}
	wantError(t, "a wrong code", b.enter("/login/code", wrong(mail.code)), http.StatusUnauthorized, "That code is not right")
	wantError(t, "not a code", b.enter("/login/code", "12345"), http.StatusUnprocessableEntity, "Enter the 6-digit code.")
	pending := b.pending
	b.wantSignedIn("the right code", b.enter("/login/code", mail.code[:3]+" "+mail.code[3:]), "understudy-acct-1")
	if b.pending != "" {
		t.Fatal("the pending sign-in cookie was not dropped after signing in")
	}

	// The mail works once: its code and its link are spent.
	again := &browser{e: m.env, pending: pending}
	wantError(t, "the code again", again.enter("/login/code", mail.code), http.StatusUnauthorized, "no longer valid; sign in again")
	wantError(t, "the link after the code", again.do("GET", strings.TrimPrefix(mail.link, m.srv.URL), nil),
		http.StatusGone, "used or is not valid")
	if n := m.count("sign_ins"); n != 0 {
		t.Fatalf("%d pending sign-ins left after signing in", n)
	}
}

// count returns how many rows table has.
func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(e.t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestSignInCodeTriesAreLimited(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	email := m.provisionWithPassword("acct-1", password)
	b := &browser{e: m.env}
	mail := m.mailAfterSignIn(b, email)
	pending := b.pending
	for i := 1; i < chirp.MaxCodeTries; i++ {
		wantError(t, fmt.Sprintf("wrong code %d", i), b.enter("/login/code", wrong(mail.code)), http.StatusUnauthorized, "That code is not right")
	}
	p := b.enter("/login/code", wrong(mail.code))
	wantError(t, "the last wrong code", p, http.StatusUnauthorized, "Too many wrong codes")
	if p.signIn == nil || p.signIn.MaxAge >= 0 || b.pending != "" {
		t.Fatalf("the void sign-in's cookie was not dropped: %v", p.signIn)
	}
	b.pending = pending
	wantError(t, "the right code after too many", b.enter("/login/code", mail.code), http.StatusUnauthorized, "sign in again")
	wantError(t, "the link after too many", b.do("GET", strings.TrimPrefix(mail.link, m.srv.URL), nil), http.StatusGone, "used or is not valid")

	// Signing in again mails a new code, which works.
	b = &browser{e: m.env}
	mail = m.mailAfterSignIn(b, email)
	b.wantSignedIn("a new code", b.enter("/login/code", mail.code), "understudy-acct-1")
}

func TestSignInCodeExpires(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	email := m.provisionWithPassword("acct-1", password)
	b := &browser{e: m.env}
	mail := m.mailAfterSignIn(b, email)
	m.clock.advance(chirp.SignInTTL + time.Second)
	wantError(t, "an expired code", b.enter("/login/code", mail.code), http.StatusUnauthorized,
		"Your sign-in code has expired; sign in again.")
	if b.pending != "" {
		t.Fatal("the expired sign-in's cookie was not dropped")
	}
}

func TestMagicLinkSignsInOnce(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	email := m.provisionWithPassword("acct-1", password)
	mail := m.mailAfterSignIn(&browser{e: m.env}, email)
	path := strings.TrimPrefix(mail.link, m.srv.URL)

	// The link works in another browser (a phone's mail app, say).
	other := &browser{e: m.env}
	other.wantSignedIn("the magic link", other.do("GET", path, nil), "understudy-acct-1")
	wantError(t, "the link again", (&browser{e: m.env}).do("GET", path, nil), http.StatusGone, "used or is not valid")
	wantError(t, "a made-up link", (&browser{e: m.env}).do("GET", "/login/link?token=NOPE", nil), http.StatusGone, "used or is not valid")
	wantError(t, "a link without a token", (&browser{e: m.env}).do("GET", "/login/link", nil), http.StatusBadRequest, "sign in again")

	mail = m.mailAfterSignIn(&browser{e: m.env}, email)
	m.clock.advance(chirp.SignInTTL + time.Second)
	wantError(t, "an expired link", (&browser{e: m.env}).do("GET", strings.TrimPrefix(mail.link, m.srv.URL), nil),
		http.StatusGone, "This sign-in link has expired; sign in again.")
}

func TestSignInSaysWhenTheCodeCannotBeSent(t *testing.T) {
	t.Parallel()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never greets
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	for name, addr := range map[string]string{"refused": closed.Addr().String(), "silent": silent.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnvWith(t, func(cfg *chirp.Config) { cfg.SMTPAddr, cfg.MailTimeout = addr, 300*time.Millisecond })
			email := e.provisionWithPassword("acct-1", password)
			b := &browser{e: e}
			start := time.Now()
			p := b.signIn(email, password)
			wantError(t, "signing in with no mail server", p, http.StatusServiceUnavailable, "We could not send your sign-in code; try again.")
			if p.cookie != nil || p.signIn != nil || time.Since(start) > 5*time.Second {
				t.Fatalf("the failed sign-in set cookies %v %v, or took %s", p.cookie, p.signIn, time.Since(start))
			}
			if n := e.count("sign_ins"); n != 0 {
				t.Fatalf("%d pending sign-ins left after the mail failed", n)
			}
		})
	}
}

func TestPasswordAloneWithoutSignInCode(t *testing.T) {
	t.Parallel()
	s := newSink(t)
	e := newEnvWith(t, func(cfg *chirp.Config) { cfg.SMTPAddr, cfg.SignInCode = s.addr, new(false) })
	email := e.provisionWithPassword("acct-1", password)
	b := &browser{e: e}
	b.wantSignedIn("the password alone", b.signIn(email, password), "understudy-acct-1")
	if n := len(s.messages()); n != 0 || b.pending != "" {
		t.Fatalf("chirp mailed %d messages, or opened a pending sign-in, with SignInCode off", n)
	}
	if p := (&browser{e: e}).do("GET", "/login/code", nil); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("GET /login/code without a pending sign-in = %d to %q", p.status, p.location)
	}
}

func TestConfigOfTheSignInCode(t *testing.T) {
	t.Parallel()
	pool := newEnv(t).pool
	for name, c := range map[string]struct {
		cfg  chirp.Config
		want string
	}{
		"code without smtp":  {chirp.Config{SignInCode: new(true), BaseURL: "http://x"}, "SignInCode needs Config.SMTPAddr"},
		"no base url":        {chirp.Config{SMTPAddr: "127.0.0.1:25"}, "Config.BaseURL"},
		"base url with path": {chirp.Config{SMTPAddr: "127.0.0.1:25", BaseURL: "https://x/app"}, "Config.BaseURL"},
		"ftp base url":       {chirp.Config{SMTPAddr: "127.0.0.1:25", BaseURL: "ftp://x"}, "Config.BaseURL"},
		"smtp without port":  {chirp.Config{SMTPAddr: "mail.example"}, "Config.SMTPAddr"},
		"bad sender":         {chirp.Config{MailFrom: "chirp <a@b>"}, "Config.MailFrom"},
	} {
		c.cfg.DB = pool
		if _, err := chirp.New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want an error naming %q", name, err, c.want)
		}
	}
	if _, err := chirp.New(chirp.Config{DB: pool, SMTPAddr: "127.0.0.1:25", BaseURL: "https://chirp.example/"}); err != nil {
		t.Errorf("a complete mail config: %v", err)
	}
}
