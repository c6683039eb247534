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

// An action on something that changed since it was confirmed shows the
// current state with a message saying nothing was done (409), never an
// error page: an account reset meanwhile, a lease released meanwhile, a
// reset of an account that is leased.
func TestConsoleStaleActionsShowTheCurrentState(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	st := seedConsole(t, s)
	api, ctx := s.client(t, s.Admin), context.Background()
	b := newBrowser(t, s)
	b.signIn(s.Admin)

	_, _, page := b.do(http.MethodGet, "/ui/confirm/reset?account="+st.Free, nil, nil)
	csrf, version := csrfIn(t, page), fieldOf(t, page, "version")
	time.Sleep(5 * time.Millisecond)
	if r, err := api.ResetAccountWithResponse(ctx, st.Free, openapi.ResetRequest{}); err != nil || r.JSON200 == nil {
		t.Fatalf("resetting meanwhile: %v", err)
	}
	code, _, body := b.do(http.MethodPost, "/ui/actions/reset", url.Values{"_csrf": {csrf}, "account": {st.Free}, "version": {version}}, nil)
	if code != http.StatusConflict || !strings.Contains(body, "Nothing was done: this account changed since you asked") ||
		!strings.Contains(body, "Identity") || !strings.Contains(body, "verified") {
		t.Errorf("a reset of an account reset meanwhile: %d\n%s", code, body)
	}

	_, _, page = b.do(http.MethodGet, "/ui/confirm/reset?account="+st.Leased, nil, nil)
	code, _, body = b.do(http.MethodPost, "/ui/actions/reset", url.Values{"_csrf": {csrf}, "account": {st.Leased}, "version": {fieldOf(t, page, "version")}}, nil)
	if code != http.StatusConflict || !strings.Contains(body, "is leased; release the lease") || !strings.Contains(body, "ci-job-42") {
		t.Errorf("a reset of a leased account: %d\n%s", code, body)
	}

	if r, err := s.client(t, s.Runner).ReleaseLeaseWithResponse(ctx, st.Lease.Id, openapi.LeaseRelease{}); err != nil || r.JSON200 == nil {
		t.Fatalf("releasing meanwhile: %v", err)
	}
	code, _, body = b.do(http.MethodPost, "/ui/actions/release", url.Values{"_csrf": {csrf}, "lease": {st.Lease.Id}}, nil)
	if code != http.StatusConflict || !strings.Contains(body, "is released already") || !strings.Contains(body, "No open leases") {
		t.Errorf("a release of a released lease: %d\n%s", code, body)
	}
}

// With the database down, a page shows a banner saying so, and the page
// recovers by itself once the database answers again.
func TestConsoleShowsABannerWhileTheDatabaseIsDown(t *testing.T) {
	t.Parallel()
	tab := newTab(t)
	proxy := newDBProxy(t)
	s := startServer(t, serverOptions{DatabaseURL: withProxy(t, proxy)})
	seed(t, s)
	signInAs(t, tab, s, s.Admin)
	proxy.Down()
	do(t, tab, "opening a page with the database down", chromedp.Navigate(s.URL+"/ui/accounts"), chromedp.WaitVisible(chromedp.CSS(".banner")))
	banner := get(t, tab, "reading the banner", chromedp.Text(chromedp.CSS(".banner")))
	if !strings.Contains(banner, "The database is unreachable; this page refreshes by itself") {
		t.Fatalf("banner = %q", banner)
	}
	proxy.Up()
	do(t, tab, "waiting for the page to recover", chromedp.WaitNotPresent(chromedp.CSS(".banner")), chromedp.WaitVisible(chromedp.CSS("table")))
	if got := textOf(t, tab); !strings.Contains(got, "production/buyer #1") {
		t.Fatalf("after recovery the page shows %q", got)
	}
}
