package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/openapi"
)

// A runner token read any account's password, leased or not. Now a runner
// reads credentials (REST, CLI, the console's Copy password) only of an
// account its own token holds an open lease on; every refusal is a 403
// naming why, audited with the token, the account and the request id.
func TestARunnerReadsCredentialsOnlyUnderItsOwnLease(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	accts := seed(t, s)
	ctx := context.Background()
	admin, runner := s.client(t, s.Admin), s.client(t, s.Runner)
	tok, err := admin.CreateTokenWithResponse(ctx, openapi.TokenCreate{Name: "other-runner", Scope: "runner"})
	if err != nil || tok.JSON201 == nil {
		t.Fatalf("creating a second runner: %v %s", err, tok.Body)
	}
	other := s.client(t, tok.JSON201.Secret)

	refused := func(c *openapi.ClientWithResponses, actor, id string) {
		t.Helper()
		r, err := c.GetCredentialsWithResponse(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode() != http.StatusForbidden { // the body would hold the password
			t.Fatalf("%s read the credentials of %s: %d, want 403", actor, id, r.StatusCode())
		}
		p := problemOf(t, r.StatusCode(), r.Body, http.StatusForbidden, "forbidden")
		if p.Type != "urn:understudy:problem:lease-required" || !strings.Contains(p.Detail, "only under an open lease held by this token") {
			t.Fatalf("refusal: %s", r.Body)
		}
		ev, _ := admin.ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("account.read_credentials_denied"), RequestId: p.RequestId})
		if ev.JSON200 == nil || len(ev.JSON200.Items) != 1 || ev.JSON200.Items[0].TargetId != id || ev.JSON200.Items[0].Actor != actor ||
			ev.JSON200.Items[0].Details["token_id"] == nil {
			t.Fatalf("the refusal of %s to %s is not audited: %s", id, actor, ev.Body)
		}
	}

	refused(runner, "test-runner", accts[0].Id) // no lease at all
	g, err := runner.AcquireLeaseWithResponse(ctx, nil, openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci", TtlSeconds: new(600)})
	if err != nil || g.JSON201 == nil {
		t.Fatalf("leasing: %v %s", err, g.Body)
	}
	held, free := g.JSON201.Account.Id, accts[0].Id
	if free == held {
		free = accts[1].Id
	}
	own, err := runner.GetCredentialsWithResponse(ctx, held)
	if err != nil || own.JSON200 == nil || own.JSON200.Password != g.JSON201.Credentials.Password {
		t.Fatalf("the runner's own lease: %v %d", err, own.StatusCode())
	}
	refused(runner, "test-runner", free)
	refused(other, "other-runner", held)
	for _, id := range []string{held, free} {
		if r, err := admin.GetCredentialsWithResponse(ctx, id); err != nil || r.JSON200 == nil || r.JSON200.AccountId != id {
			t.Fatalf("admin on %s: %v %d", id, err, r.StatusCode())
		}
	}

	// The CLI is a REST client: the same answers, and a refusal exits as
	// an authorization failure.
	mustOK(t, s.cli(t, s.Runner, "accounts", "credentials", held))
	res := s.cli(t, s.Runner, "accounts", "credentials", free)
	mustFail(t, res, exitAuth, "only under an open lease held by this token")

	// The console's Copy password, for a runner's session.
	b := newBrowser(t, s)
	b.signIn(s.Runner)
	_, _, page := b.do(http.MethodGet, "/ui/accounts/"+held, nil, nil)
	if !strings.Contains(page, `href="/ui/confirm/password?account=`+held+`"`) {
		t.Fatal("the runner's leased account does not offer Copy password…")
	}
	if _, _, other := b.do(http.MethodGet, "/ui/accounts/"+free, nil, nil); strings.Contains(other, "Copy password") || strings.Contains(other, "/ui/confirm/password") {
		t.Fatal("an account the runner holds no lease on offers Copy password…")
	}
	csrf := url.Values{"_csrf": {csrfIn(t, page)}, "account": {held}}
	if code, _, body := b.do(http.MethodPost, "/ui/actions/password", csrf, nil); code != http.StatusOK || !strings.Contains(body, `id="pw-`+held+`"`) {
		t.Fatalf("copy password of the runner's leased account: %d", code)
	}
	denials := func() []openapi.AuditEvent {
		ev, _ := admin.ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("account.read_credentials_denied"), TargetId: new(free)})
		if ev.JSON200 == nil {
			t.Fatalf("listing audit events: %s", ev.Body)
		}
		return ev.JSON200.Items
	}
	before := len(denials())
	code, _, body := b.do(http.MethodPost, "/ui/actions/password", url.Values{"_csrf": csrf["_csrf"], "account": {free}}, nil)
	if code != http.StatusForbidden || !strings.Contains(body, "only under an open lease held by this token") || strings.Contains(body, `id="pw-`) {
		t.Fatalf("copy password of an account the runner does not hold: %d", code)
	}
	if after := denials(); len(after) != before+1 || after[0].Actor != "test-runner" || after[0].RequestId == "" {
		t.Fatalf("the console's refusal is not audited: %d events before, %+v after", before, after)
	}

	// Released: nothing more, by either door.
	if r, err := runner.ReleaseLeaseWithResponse(ctx, g.JSON201.Lease.Id, openapi.LeaseRelease{}); err != nil || r.JSON200 == nil {
		t.Fatalf("releasing: %v %d", err, r.StatusCode())
	}
	refused(runner, "test-runner", held)
	if code, _, _ := b.do(http.MethodPost, "/ui/actions/password", csrf, nil); code != http.StatusForbidden {
		t.Fatalf("copy password after the release: %d", code)
	}
}
