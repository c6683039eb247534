package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/openapi"
)

// A wrong, a revoked and an analytics token each get a clear message and
// no session; a good one gets a session cookie, and no token shows up in
// the logs.
func TestConsoleSignInRefusesWrongAndRevokedTokens(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	s := startServer(t, serverOptions{Logs: logs})
	revoked := s.tokenOf(t, "gone", access.ScopeAdmin)
	revokeToken(t, s, "gone")
	for _, c := range []struct {
		token, want string
		status      int
	}{
		{"ust_wrong", "not valid, or it was revoked", http.StatusUnauthorized},
		{revoked, "not valid, or it was revoked", http.StatusUnauthorized},
		{s.tokenOf(t, "pipeline", access.ScopeAnalytics), "has scope analytics, which cannot use the console", http.StatusForbidden},
	} {
		b := newBrowser(t, s)
		code, _, body := b.signIn(c.token)
		if code != c.status || !strings.Contains(body, c.want) || b.cookie("understudy_session") != "" {
			t.Errorf("signing in with a bad token: %d, session %q, page lacks %q", code, b.cookie("understudy_session"), c.want)
		}
	}
	b := newBrowser(t, s)
	if code, loc, _ := b.signIn(s.Admin); code != http.StatusSeeOther || loc != "/ui/" || b.cookie("understudy_session") == "" {
		t.Fatalf("signing in: %d to %q", code, loc)
	}
	var stored int
	_ = s.main.pool.QueryRow(context.Background(), `SELECT count(*) FROM console_sessions WHERE hash = sha256(convert_to($1, 'UTF8'))`, b.cookie("understudy_session")).Scan(&stored)
	if stored != 1 {
		t.Errorf("the session is not stored as the SHA-256 of its id")
	}
	for _, secret := range []string{s.Admin, revoked, b.cookie("understudy_session")} {
		if strings.Contains(logs.String(), secret) {
			t.Fatal("a token or a session id is in the logs")
		}
	}
}

// A POST without the session's anti-forgery token, with a wrong one, or
// from another origin is refused with 403, and nothing happens.
func TestConsoleRefusesFormsWithoutTheirToken(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	st := seedConsole(t, s)
	b := newBrowser(t, s)
	b.signIn(s.Admin)
	_, _, page := b.do(http.MethodGet, "/ui/confirm/reset?account="+st.Free, nil, nil)
	csrf, version := csrfIn(t, page), fieldOf(t, page, "version")
	form := func(token string) url.Values {
		return url.Values{"_csrf": {token}, "account": {st.Free}, "version": {version}}
	}
	for _, c := range []struct {
		name   string
		form   url.Values
		header map[string]string
	}{
		{"no token", form(""), nil},
		{"a wrong token", form("x" + csrf), nil},
		{"another origin", form(csrf), map[string]string{"Origin": "https://evil.example"}},
		{"a cross-site fetch", form(csrf), map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		code, _, body := b.do(http.MethodPost, "/ui/actions/reset", c.form, c.header)
		if code != http.StatusForbidden || !strings.Contains(body, "anti-forgery token") {
			t.Errorf("a POST with %s: %d\n%s", c.name, code, body)
		}
	}
	if code, _, _ := b.do(http.MethodPost, "/ui/signout", url.Values{}, nil); code != http.StatusForbidden {
		t.Errorf("signing out without the token: %d", code)
	}
	resets, _ := s.client(t, s.Admin).ListAuditEventsWithResponse(context.Background(), &openapi.ListAuditEventsParams{Action: new("account.reset"), TargetId: new(st.Free)})
	if resets.JSON200 == nil || len(resets.JSON200.Items) != 1 {
		t.Fatalf("a refused POST reset the account: %s", resets.Body)
	}
	// With its token, through htmx's header, the same form is accepted.
	if code, loc, _ := b.do(http.MethodPost, "/ui/actions/reset", form(""), map[string]string{"X-CSRF-Token": csrf}); code != http.StatusSeeOther || !strings.Contains(loc, "done=reset") {
		t.Fatalf("the POST with its token: %d %s", code, loc)
	}
}

// A reader sees no action, and a reader's forged POST (with its own valid
// anti-forgery token) is refused with 403.
func TestConsoleReaderSeesNoActions(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	st := seedConsole(t, s)
	b := newBrowser(t, s)
	b.signIn(s.Reader)
	for _, p := range []string{"/ui/", "/ui/accounts", "/ui/accounts/" + st.Leased, "/ui/leases", "/ui/sync", "/ui/isolation"} {
		code, _, body := b.do(http.MethodGet, p, nil, nil)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", p, code)
		}
		for _, action := range []string{"Reset…", "Retire…", "Copy password", "Release…", "Sync now…", "Audit now…", "/ui/confirm/", "/ui/actions/"} {
			if strings.Contains(body, action) {
				t.Errorf("a reader sees %q on %s", action, p)
			}
		}
	}
	_, _, page := b.do(http.MethodGet, "/ui/", nil, nil)
	csrf := csrfIn(t, page)
	if code, _, _ := b.do(http.MethodGet, "/ui/confirm/reset?account="+st.Free, nil, nil); code != http.StatusForbidden {
		t.Errorf("a reader's confirmation page: %d", code)
	}
	for path, form := range map[string]url.Values{
		"/ui/actions/reset":    {"account": {st.Free}},
		"/ui/actions/retire":   {"account": {st.Free}},
		"/ui/actions/password": {"account": {st.Free}},
		"/ui/actions/release":  {"lease": {st.Lease.Id}},
		"/ui/actions/sync":     {"environment": {"production"}, "destination": {"posthog"}},
		"/ui/actions/audit":    {"environment": {"production"}},
	} {
		form.Set("_csrf", csrf)
		if code, _, body := b.do(http.MethodPost, path, form, nil); code != http.StatusForbidden || !strings.Contains(body, "scope reader") {
			t.Errorf("a reader's POST to %s: %d", path, code)
		}
	}
	l, _ := s.client(t, s.Admin).GetLeaseWithResponse(context.Background(), st.Lease.Id)
	if l.JSON200 == nil || l.JSON200.Status != "active" {
		t.Fatalf("a reader's POST released the lease: %s", l.Body)
	}
}

var valueRE = regexp.MustCompile(`name="([a-z_]+)" value="([^"]*)"`)

// fieldOf returns the value of the hidden field name of a page's form.
func fieldOf(t *testing.T, page, name string) string {
	t.Helper()
	for _, m := range valueRE.FindAllStringSubmatch(page, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	t.Fatalf("no field %s in the page", name)
	return ""
}

// lockedBuffer is a buffer the server's logger and the test share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
