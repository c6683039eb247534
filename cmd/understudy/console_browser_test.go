package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/understudy-dev/understudy/access"
)

// The console in a real browser, as an admin: sign-in (a wrong token
// first), every page (a screenshot of each), keyboard navigation, every
// action through its confirmation with the resulting state checked, the
// phone viewport, an expired session and a revoked token.
func TestConsoleInABrowser(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	s := startServer(t, serverOptions{})
	st := seedConsole(t, s)
	dir := t.TempDir()

	do(t, ctx, "signing in with a wrong token", chromedp.Navigate(s.URL+"/ui/"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), "ust_not-a-token"), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := textOf(t, ctx); !strings.Contains(got, "not valid, or it was revoked") {
		t.Fatalf("a wrong token shows %q", got)
	}
	if c := sessionCookie(t, ctx); c != nil {
		t.Fatal("a wrong token got a session cookie")
	}
	shot(t, ctx, dir, "signin")
	signInAs(t, ctx, s, s.Admin)
	c := sessionCookie(t, ctx)
	if c == nil || !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/ui/" {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/ui/", c)
	}
	everyPage(t, ctx, s, st, dir)
	if *updateScreenshots {
		writeDocScreenshots(t, s, st)
	}
	keyboard(t, ctx, s, st)
	actions(t, ctx, s, st)

	phone(t, ctx)
	for _, p := range []string{"/ui/", "/ui/accounts", "/ui/accounts/" + st.Leased, "/ui/runs", "/ui/runs/" + st.Lease.Id} {
		visit(t, ctx, s, p)
		noHorizontalScroll(t, ctx, p)
	}
	shot(t, ctx, dir, "phone-accounts")

	// A session idle past its expiry: the next page asks to sign in again.
	if _, err := s.main.pool.Exec(context.Background(), `UPDATE console_sessions SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "opening a page on an expired session", chromedp.Navigate(s.URL+"/ui/accounts"), chromedp.WaitVisible(chromedp.ID("token")))
	if got := textOf(t, ctx); !strings.Contains(got, "Your session has ended") {
		t.Fatalf("an expired session shows %q", got)
	}
	// A session whose token is revoked: the same.
	// A reader's pages have no action at all.
	tok := s.tokenOf(t, "qa-lead", access.ScopeReader)
	signInAs(t, ctx, s, tok)
	for _, p := range []string{"/ui/accounts/" + st.Leased, "/ui/leases", "/ui/sync", "/ui/isolation", "/ui/runs", "/ui/runs/" + st.Lease.Id} {
		visit(t, ctx, s, p)
		if n := get(t, ctx, "counting actions", chromedp.Evaluate[int](`document.querySelectorAll('a.button, .actions, a[href*="/ui/confirm/"]').length`)); n != 0 {
			t.Errorf("a reader sees %d action(s) on %s", n, p)
		}
	}
	revokeToken(t, s, "qa-lead")
	do(t, ctx, "opening a page after the token was revoked", chromedp.Navigate(s.URL+"/ui/leases"), chromedp.WaitVisible(chromedp.ID("token")))
	if got := textOf(t, ctx); !strings.Contains(got, "Your session has ended") {
		t.Fatalf("a revoked token's session shows %q", got)
	}
}

// everyPage opens every page, checks what it shows, and screenshots it.
func everyPage(t *testing.T, ctx context.Context, s *testServer, st consoleState, dir string) {
	t.Helper()
	for _, p := range []struct{ name, path string }{
		{"overview", "/ui/"}, {"environment", "/ui/environments/production"}, {"accounts", "/ui/accounts"},
		{"account", "/ui/accounts/" + st.Free}, {"leases", "/ui/leases"}, {"sync", "/ui/sync"},
		{"isolation", "/ui/isolation"}, {"audit", "/ui/audit?action=account.reset"},
		{"runs", "/ui/runs"}, {"run", "/ui/runs/" + st.Lease.Id},
	} {
		got := visit(t, ctx, s, p.path)
		want := map[string][]string{
			"overview":    {"production", "qa.example.test", "mem", "posthog", "ready 2", "leased 1", "Last sync: ✓ ok", "Last audit:"},
			"environment": {"buyer", "buys things", "ci-job-42", "verified"},
			"accounts":    {"production/buyer #1", "production/buyer #3", "ci-job-42", "verified"},
			"account":     {"Identity", "mem: user", "initial", "verified"},
			"leases":      {"ci-job-42", "Release…"},
			"sync":        {"production/posthog", "ok", "Sync now…"},
			"isolation":   {"production: last audit", "No open violations"},
			"audit":       {"account.reset", "test-admin"},
			"runs":        {"Outcomes over the last 24h", "(no flow)", "1 run(s): 1 none", "Newest runs"},
			"run":         {"Run of (no flow)", "held by ci-job-42", "the lease is still open", "lease.acquire"},
		}[p.name]
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("page %s lacks %q:\n%s", p.path, w, got)
			}
		}
		if p.name == "account" {
			do(t, ctx, "waiting for the comparison with the baseline", chromedp.WaitVisible(chromedp.CSS(".diff")))
			if got := textOf(t, ctx); !strings.Contains(got, "same as the baseline") {
				t.Errorf("the account's comparison with its baseline: %s", got)
			}
		}
		shot(t, ctx, dir, p.name)
	}
}

// keyboard checks that Tab reaches the navigation and the action buttons,
// and that the focused element shows it.
func keyboard(t *testing.T, ctx context.Context, s *testServer, st consoleState) {
	t.Helper()
	visit(t, ctx, s, "/ui/accounts/"+st.Free)
	seen := map[string]bool{}
	for range 30 {
		do(t, ctx, "pressing Tab", chromedp.KeyEvent("\t"))
		label := get(t, ctx, "reading the focus", chromedp.Evaluate[string](`document.activeElement === document.body ? "" : document.activeElement.textContent.trim()`))
		if label == "" {
			continue
		}
		outline := get(t, ctx, "reading the focus", chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineStyle`))
		if outline == "none" || outline == "" {
			t.Errorf("the focused %q shows no outline", label)
		}
		seen[label] = true
	}
	for _, want := range []string{"Skip to content", "Accounts", "Leases", "Audit", "Reset…", "Retire…", "Copy password…"} {
		if !seen[want] {
			t.Errorf("Tab never reached %q (reached %v)", want, seen)
		}
	}
}

// sessionCookie returns the console's session cookie in the tab, or nil.
func sessionCookie(t *testing.T, ctx context.Context) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatalf("reading cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == "understudy_session" {
			return c
		}
	}
	return nil
}

// revokeToken revokes the token named name through the REST API.
func revokeToken(t *testing.T, s *testServer, name string) {
	t.Helper()
	ctx := context.Background()
	list, err := s.client(t, s.Admin).ListTokensWithResponse(ctx)
	if err != nil || list.JSON200 == nil {
		t.Fatalf("listing tokens: %v", err)
	}
	for _, tk := range list.JSON200.Items {
		if tk.Name == name {
			if r, err := s.client(t, s.Admin).RevokeTokenWithResponse(ctx, tk.Id); err != nil || r.StatusCode() != 200 {
				t.Fatalf("revoking: %v", err)
			}
			return
		}
	}
	t.Fatalf("no token %s", name)
}

// waitFor polls check every 100ms until it is true or 20s have passed.
func waitFor(t *testing.T, what string, check func() bool) {
	t.Helper()
	waitForWithin(t, 20*time.Second, what, check)
}

// waitForWithin polls check every 100ms until it is true or d has passed.
func waitForWithin(t *testing.T, d time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen in time", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
