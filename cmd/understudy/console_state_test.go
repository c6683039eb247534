package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/openapi"
)

// An admin resets an account to one of its named states from its page:
// the page offers the states the account has, the confirmation names the
// state, the reset restores it and is audited with it, and the same
// checks hold as for the baseline (a stale confirmation does nothing; a
// state the account does not have is refused, naming the field). A
// reader is offered nothing.
func TestConsoleResetsToANamedState(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	st := seedConsole(t, s)
	api, ctx := s.client(t, s.Admin), context.Background()
	mustOK(t, s.cli(t, s.Admin, "snapshots", "capture", st.Free, "with-cart"))
	b := newBrowser(t, s)
	b.signIn(s.Admin)

	_, _, page := b.do(http.MethodGet, "/ui/accounts/"+st.Free, nil, nil)
	if !strings.Contains(page, `<select name="state"><option>initial</option><option>with-cart</option></select>`) ||
		!strings.Contains(page, "Reset to state…") {
		t.Fatalf("the account page offers no pick of its states:\n%s", page)
	}
	code, _, page := b.do(http.MethodGet, "/ui/confirm/reset?account="+st.Free+"&state=with-cart", nil, nil)
	if code != http.StatusOK || !strings.Contains(page, "to state with-cart?") || fieldOf(t, page, "state") != "with-cart" {
		t.Fatalf("the confirmation of a reset to with-cart: %d\n%s", code, page)
	}
	csrf, version := csrfIn(t, page), fieldOf(t, page, "version")
	form := url.Values{"_csrf": {csrf}, "account": {st.Free}, "version": {version}, "state": {"with-cart"}}
	code, loc, _ := b.do(http.MethodPost, "/ui/actions/reset", form, nil)
	if code != http.StatusSeeOther || loc != "/ui/accounts/"+st.Free+"?done=reset&state=with-cart" {
		t.Fatalf("confirming the reset: %d to %q", code, loc)
	}
	_, _, page = b.do(http.MethodGet, loc, nil, nil)
	if !strings.Contains(page, "The account was reset to state with-cart and verified in every app.") {
		t.Errorf("after the reset the page says:\n%s", page)
	}
	resets, _ := api.ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("account.reset"), TargetId: new(st.Free)})
	if resets.JSON200 == nil || len(resets.JSON200.Items) != 2 || resets.JSON200.Items[0].Actor != "test-admin" ||
		resets.JSON200.Items[0].Details["state"] != "with-cart" {
		t.Fatalf("the reset is not audited as test-admin's reset to with-cart: %s", resets.Body)
	}

	// The same confirmation again: the account changed since, so nothing is done.
	time.Sleep(5 * time.Millisecond)
	code, _, page = b.do(http.MethodPost, "/ui/actions/reset", form, nil)
	if code != http.StatusConflict || !strings.Contains(page, "Nothing was done: this account changed since you asked") {
		t.Errorf("a stale reset to a state: %d\n%s", code, page)
	}
	for state, want := range map[string]string{"paid": "no snapshot of state paid", "Bad State!": "must be a state name"} {
		code, _, page = b.do(http.MethodGet, "/ui/confirm/reset?"+url.Values{"account": {st.Free}, "state": {state}}.Encode(), nil, nil)
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, "state: ") || !strings.Contains(page, want) {
			t.Errorf("the confirmation of a reset to %q: %d, want 422 saying %q\n%s", state, code, want, page)
		}
	}

	r := newBrowser(t, s)
	r.signIn(s.tokenOf(t, "qa-lead", access.ScopeReader))
	if _, _, page := r.do(http.MethodGet, "/ui/accounts/"+st.Free, nil, nil); strings.Contains(page, "Reset to state") || strings.Contains(page, `name="state"`) {
		t.Error("a reader is offered a reset to a state")
	}
	if code, _, _ := r.do(http.MethodGet, "/ui/confirm/reset?account="+st.Free+"&state=with-cart", nil, nil); code != http.StatusForbidden {
		t.Errorf("a reader's confirmation of a reset: %d, want 403", code)
	}
}
