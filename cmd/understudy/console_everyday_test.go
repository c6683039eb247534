package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/understudy-dev/understudy/openapi"
)

// A retired account offers no action (Reset, Retire, Copy password), and
// links to its slot's new account; asking for an action on it anyway says
// it is retired (409), and nothing is read.
func TestConsoleRetiredAccountOffersNoAction(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	st := seedConsole(t, s)
	api, ctx := s.client(t, s.Admin), context.Background()
	if r, err := api.RetireAccountWithResponse(ctx, st.Free); err != nil || r.JSON200 == nil {
		t.Fatalf("retiring: %v", err)
	}
	list, _ := api.ListAccountsWithResponse(ctx, &openapi.ListAccountsParams{Environment: new("production")})
	var old openapi.Account
	for _, a := range st.Accounts {
		if a.Id == st.Free {
			old = a
		}
	}
	var replacement string
	for _, a := range list.JSON200.Items {
		if a.Slot == old.Slot && a.Id != old.Id {
			replacement = a.Id
		}
	}
	if replacement == "" {
		t.Fatal("the retired account's slot has no new account")
	}
	b := newBrowser(t, s)
	b.signIn(s.Admin)
	_, _, page := b.do(http.MethodGet, "/ui/accounts/"+st.Free, nil, nil)
	for _, action := range []string{"Reset…", "Retire…", "Copy password", "/ui/confirm/"} {
		if strings.Contains(page, action) {
			t.Errorf("a retired account offers %q", action)
		}
	}
	if !strings.Contains(page, "This account is retired") || !strings.Contains(page, `<a href="/ui/accounts/`+replacement+`">`) {
		t.Errorf("the retired account does not link to its slot's new account %s:\n%s", replacement, page)
	}
	if !strings.Contains(page, `href="/ui/audit?target_id=`+st.Free+`&amp;target_type=account"`) {
		t.Error("the account does not link to its audit events")
	}
	for _, action := range []string{"reset", "retire", "password"} {
		code, _, body := b.do(http.MethodGet, "/ui/confirm/"+action+"?account="+st.Free, nil, nil)
		if code != http.StatusConflict || !strings.Contains(body, "this account is retired") || strings.Contains(body, `class="confirm`) {
			t.Errorf("confirming %s of a retired account: %d", action, code)
		}
	}
	code, _, body := b.do(http.MethodPost, "/ui/actions/password", url.Values{"_csrf": {csrfIn(t, page)}, "account": {st.Free}}, nil)
	if code != http.StatusConflict || strings.Contains(body, `id="pw-`) {
		t.Errorf("copying a retired account's password: %d", code)
	}
	reads, _ := api.ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("account.read_credentials"), TargetId: new(st.Free)})
	if reads.JSON200 == nil || len(reads.JSON200.Items) != 0 {
		t.Errorf("a retired account's password was read: %s", reads.Body)
	}
	// The old door that skipped the confirmation is gone.
	if code, _, _ := b.do(http.MethodPost, "/ui/accounts/"+replacement+"/password", url.Values{"_csrf": {csrfIn(t, page)}}, nil); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Errorf("POST /ui/accounts/{id}/password: %d, want it gone", code)
	}
}

// The overview links its apps, destinations and violations to the pages
// that show them, and the audit trail links a destination's events to it.
func TestConsoleLinksRelatedThings(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seedConsole(t, s)
	b := newBrowser(t, s)
	b.signIn(s.Admin)
	_, _, overview := b.do(http.MethodGet, "/ui/", nil, nil)
	for _, want := range []string{`<a href="/ui/environments/production#apps-production"><strong>mem</strong></a>`,
		`<a href="/ui/sync#dest-production-posthog"><strong>posthog</strong></a>`, `<a href="/ui/isolation?show=all#violations">`,
		`<a href="/ui/isolation#audits">`} {
		if !strings.Contains(overview, want) {
			t.Errorf("the overview lacks %s", want)
		}
	}
	_, _, env := b.do(http.MethodGet, "/ui/environments/production", nil, nil)
	_, _, sync := b.do(http.MethodGet, "/ui/sync", nil, nil)
	if !strings.Contains(env, `id="apps-production"`) || !strings.Contains(sync, `id="dest-production-posthog"`) {
		t.Error("the pages lack the sections the overview links to")
	}
	_, _, audit := b.do(http.MethodGet, "/ui/audit?target_type=destination", nil, nil)
	if !strings.Contains(audit, `<a href="/ui/sync#dest-production-posthog">`) {
		t.Errorf("the audit trail does not link a destination's events to it:\n%s", audit)
	}
	_, _, audit = b.do(http.MethodGet, "/ui/audit?target_type=app", nil, nil)
	if !strings.Contains(audit, `<a href="/ui/environments/production#apps-production">`) {
		t.Error("the audit trail does not link an app's events to it")
	}
}

// The leases page's refresh keeps keyboard focus where it was, and can be
// paused (a toggle button, aria-pressed) and resumed; paused, it sends no
// refresh, and the choice outlives a reload of the page.
func TestConsoleBrowserLeasesRefreshKeepsFocusAndPauses(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	s := startServer(t, serverOptions{})
	st := seedConsole(t, s)
	signInAs(t, ctx, s, s.Admin)
	visit(t, ctx, s, "/ui/leases")
	release := "/ui/confirm/release?lease=" + st.Lease.Id
	mark := `document.querySelector("#leases table").dataset.mark = "before"`
	marked := `!!document.querySelector("#leases table[data-mark]")`
	do(t, ctx, "focusing Release…", chromedp.Evaluate[chromedp.Void](`document.querySelector('#leases a[href="`+release+`"]').focus(); `+mark))
	waitFor(t, "a refresh of the leases table", func() bool {
		return !get(t, ctx, "checking the table", chromedp.Evaluate[bool](marked))
	})
	focused := `document.activeElement === document.body ? "the page body" : document.activeElement.getAttribute("href") || document.activeElement.tagName`
	if got := get(t, ctx, "reading the focus", chromedp.Evaluate[string](focused)); got != release {
		t.Fatalf("after a refresh the focus is on %q, want Release… (%s)", got, release)
	}

	pause := `button[data-pauses="leases"]`
	if got := get(t, ctx, "reading the pause button", chromedp.Evaluate[string](`document.querySelector('`+pause+`').getAttribute("aria-pressed")`)); got != "false" {
		t.Fatalf("the pause button is aria-pressed=%q before it is pressed", got)
	}
	do(t, ctx, "pausing", chromedp.Click(chromedp.CSS(pause)), chromedp.Evaluate[chromedp.Void](mark))
	if got := get(t, ctx, "reading the pause button", chromedp.Evaluate[string](`document.querySelector('`+pause+`').getAttribute("aria-pressed")`)); got != "true" {
		t.Fatalf("the pause button is aria-pressed=%q once pressed", got)
	}
	time.Sleep(6 * time.Second)
	if !get(t, ctx, "checking the table", chromedp.Evaluate[bool](marked)) {
		t.Fatal("the table refreshed while paused")
	}
	visit(t, ctx, s, "/ui/leases")
	if got := get(t, ctx, "reading the pause button", chromedp.Evaluate[string](`document.querySelector('`+pause+`').getAttribute("aria-pressed")`)); got != "true" {
		t.Fatalf("after a reload the pause button is aria-pressed=%q, want the choice kept", got)
	}
	do(t, ctx, "resuming", chromedp.Evaluate[chromedp.Void](mark), chromedp.Click(chromedp.CSS(pause)))
	waitFor(t, "a refresh once resumed", func() bool {
		return !get(t, ctx, "checking the table", chromedp.Evaluate[bool](marked))
	})
}
