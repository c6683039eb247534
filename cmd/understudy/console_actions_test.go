package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/understudy-dev/understudy/openapi"
)

// actions takes every action of the console through its confirmation, as
// an admin, and checks the state each leaves behind through the REST API.
func actions(t *testing.T, ctx context.Context, s *testServer, st consoleState) {
	t.Helper()
	api, bg := s.client(t, s.Admin), context.Background()

	visit(t, ctx, s, "/ui/accounts/"+st.Free)
	// Copy password… asks first, as the README says; asking reads nothing.
	do(t, ctx, "asking to copy the password", chromedp.Click(chromedp.Search(`//a[normalize-space()="Copy password…"]`)),
		chromedp.WaitVisible(chromedp.CSS(".confirm")))
	if got := textOf(t, ctx); !strings.Contains(got, "Show and copy the password of production/buyer #") || !strings.Contains(got, "audited as account.read_credentials") {
		t.Fatalf("the confirmation of Copy password… asks %q", got)
	}
	reads, _ := api.ListAuditEventsWithResponse(bg, &openapi.ListAuditEventsParams{Action: new("account.read_credentials"), TargetId: new(st.Free)})
	if reads.JSON200 == nil || len(reads.JSON200.Items) != 0 {
		t.Fatalf("asking to copy the password read it already: %s", reads.Body)
	}
	do(t, ctx, "copying the password", chromedp.Click(chromedp.CSS(".confirm button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".password input")))
	kind := get(t, ctx, "reading the password field", chromedp.Evaluate[string](`document.querySelector(".password input").type`))
	shown := get(t, ctx, "reading the password field", chromedp.Value(chromedp.CSS(".password input")))
	reads, _ = api.ListAuditEventsWithResponse(bg, &openapi.ListAuditEventsParams{Action: new("account.read_credentials"), TargetId: new(st.Free)})
	if reads.JSON200 == nil || len(reads.JSON200.Items) != 1 || reads.JSON200.Items[0].Actor != "test-admin" {
		t.Fatalf("the password read was not audited as test-admin's credential read: %s", reads.Body)
	}
	cr, _ := api.GetCredentialsWithResponse(bg, st.Free)
	if kind != "password" || cr.JSON200 == nil || shown != cr.JSON200.Password || strings.Contains(textOf(t, ctx), shown) {
		t.Fatalf("the password field is %q and holds the password: %v; it must be masked, never shown as text", kind, shown == cr.JSON200.Password)
	}

	visit(t, ctx, s, "/ui/accounts/"+st.Free)
	got := confirmAction(t, ctx, "Reset…", "Reset production/buyer #")
	if !strings.Contains(got, "reset to its baseline and verified") || !strings.Contains(got, "verified just now") {
		t.Errorf("after the reset the account page shows:\n%s", got)
	}
	resets, _ := api.ListAuditEventsWithResponse(bg, &openapi.ListAuditEventsParams{Action: new("account.reset"), TargetId: new(st.Free)})
	if resets.JSON200 == nil || len(resets.JSON200.Items) != 2 || resets.JSON200.Items[0].Actor != "test-admin" {
		t.Errorf("the console's reset is not audited as test-admin's: %s", resets.Body)
	}

	visit(t, ctx, s, "/ui/leases")
	got = confirmAction(t, ctx, "Release…", "Release the lease of production/buyer held by ci-job-42?")
	l, _ := api.GetLeaseWithResponse(bg, st.Lease.Id)
	if !strings.Contains(got, "The lease was released") || !strings.Contains(got, "No open leases") || l.JSON200 == nil || l.JSON200.Status != "released" {
		t.Errorf("after the release: lease %s; page:\n%s", l.Body, got)
	}

	visit(t, ctx, s, "/ui/sync")
	got = confirmAction(t, ctx, "Sync now…", "Sync production's exclusion list to posthog (posthog) now?")
	runs, _ := api.ListSyncRunsWithResponse(bg, &openapi.ListSyncRunsParams{})
	if !strings.Contains(got, "The sync ran") || runs.JSON200 == nil || len(runs.JSON200.Items) != 2 {
		t.Errorf("after sync now: runs %s; page:\n%s", runs.Body, got)
	}

	visit(t, ctx, s, "/ui/isolation")
	got = confirmAction(t, ctx, "Audit now…", "Audit the isolation of production now?")
	audits, _ := api.ListAuditEventsWithResponse(bg, &openapi.ListAuditEventsParams{Action: new("isolation.audit")})
	if !strings.Contains(got, "The isolation audit ran") || audits.JSON200 == nil || audits.JSON200.Items[0].Actor != "test-admin" ||
		audits.JSON200.Items[0].Id == st.Audit {
		t.Errorf("after audit now: %s; page:\n%s", audits.Body, got)
	}

	visit(t, ctx, s, "/ui/accounts/"+st.Free)
	got = confirmAction(t, ctx, "Retire…", "Retire production/buyer #")
	a, _ := api.GetAccountWithResponse(bg, st.Free)
	if !strings.Contains(got, "The account was retired") || a.JSON200 == nil || a.JSON200.Status != openapi.AccountStatusRetired {
		t.Errorf("after the retirement: %s; page:\n%s", a.Body, got)
	}
}

// writeDocScreenshots writes the README's screenshots of the console
// (overview, accounts, an account) to docs/, at a laptop's size.
func writeDocScreenshots(t *testing.T, s *testServer, st consoleState) {
	t.Helper()
	ctx := newTab(t)
	signInAs(t, ctx, s, s.Admin)
	docs := filepath.Join("..", "..", "docs")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"console-overview": "/ui/", "console-accounts": "/ui/accounts", "console-account": "/ui/accounts/" + st.Leased} {
		visit(t, ctx, s, path)
		if name == "console-account" {
			do(t, ctx, "waiting for the comparison", chromedp.WaitVisible(chromedp.CSS(".diff")))
		}
		png := get(t, ctx, "taking a screenshot", chromedp.CaptureScreenshot())
		if err := os.WriteFile(filepath.Join(docs, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
