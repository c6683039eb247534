package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
)

// consoleState is what seedConsole made: the accounts of production (one
// of them leased by the runner) and the lease.
type consoleState struct {
	Accounts []openapi.Account
	Lease    openapi.Lease
	// Leased is the id of the leased account; Free one that is not leased.
	Leased, Free string
	// Audit is the id of the audit event of the isolation audit it ran.
	Audit int64
}

// seedConsole gives the server what every page of the console shows:
// environment production with the in-memory app, role buyer of three
// accounts, all reset once (a verified reset each), a PostHog destination
// synced once, an isolation audit, and a lease held by the runner.
func seedConsole(t *testing.T, s *testServer) consoleState {
	t.Helper()
	ctx := context.Background()
	admin := s.client(t, s.Admin)
	mustOK(t, s.cli(t, s.Admin, "environments", "create", "production", "--email-domain", "qa.example.test"))
	mustOK(t, s.cli(t, s.Admin, "roles", "create", "production", "buyer", "--pool", "3", "--description", "buys things"))
	attachFake(t, s)
	list := waitReady(t, s, "production")
	for _, a := range list {
		if r, err := admin.ResetAccountWithResponse(ctx, a.Id, openapi.ResetRequest{}); err != nil || r.JSON200 == nil {
			t.Fatalf("resetting: %v %s", err, r.Body)
		}
	}
	ph := posthogtest.New(t, posthogtest.Options{})
	settings := map[string]any{"ingest_host": ph.URL, "app_host": ph.URL, "project_id": ph.ProjectID(), "person_wait": "0s"}
	secrets := map[string]string{"project_api_key": ph.ProjectToken(), "personal_api_key": ph.PersonalKey()}
	if r, err := admin.AttachDestinationWithResponse(ctx, "production", openapi.DestinationAttach{Name: "posthog", Kind: "posthog",
		Settings: &settings, Secrets: &secrets}); err != nil || r.JSON201 == nil {
		t.Fatalf("attaching posthog: %v %s", err, r.Body)
	}
	if r, err := admin.SyncDestinationWithResponse(ctx, "production", "posthog", nil); err != nil || r.StatusCode() != http.StatusOK {
		t.Fatalf("syncing: %v %s", err, r.Body)
	}
	if r, err := admin.RunIsolationAuditWithResponse(ctx, openapi.IsolationAuditRequest{Environment: "production"}); err != nil || r.JSON200 == nil {
		t.Fatalf("auditing: %v %s", err, r.Body)
	}
	audits, _ := admin.ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("isolation.audit"), Limit: new(1)})
	if audits.JSON200 == nil || len(audits.JSON200.Items) != 1 {
		t.Fatalf("the isolation audit was not audited: %s", audits.Body)
	}
	g, err := s.client(t, s.Runner).AcquireLeaseWithResponse(ctx, nil, openapi.LeaseRequest{Environment: "production", Role: "buyer",
		Holder: "ci-job-42", TtlSeconds: new(600)})
	if err != nil || g.JSON201 == nil {
		t.Fatalf("leasing: %v %s", err, g.Body)
	}
	st := consoleState{Accounts: list, Lease: g.JSON201.Lease, Leased: g.JSON201.Account.Id, Audit: audits.JSON200.Items[0].Id}
	for _, a := range list {
		if a.Id != st.Leased {
			st.Free = a.Id
		}
	}
	return st
}

// browser is a plain HTTP client of the console with its own cookies, for
// what a real browser would not do (a form without its token).
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, s *testServer) *browser {
	t.Helper()
	return newBrowserAt(t, s.URL)
}

// newBrowserAt is newBrowser for the server at base.
func newBrowserAt(t *testing.T, base string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// do sends a request and returns the status, the Location header and the body.
func (b *browser) do(method, path string, form url.Values, header map[string]string) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(raw)
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrfIn returns the anti-forgery token of a page's first form.
func csrfIn(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no _csrf field in the page:\n%s", page)
	}
	return m[1]
}

// signIn signs in with token and returns the status and body of the answer.
func (b *browser) signIn(token string) (int, string, string) {
	b.t.Helper()
	_, _, page := b.do(http.MethodGet, "/ui/signin", nil, nil)
	return b.do(http.MethodPost, "/ui/signin", url.Values{"_csrf": {csrfIn(b.t, page)}, "token": {token}, "next": {"/ui/"}}, nil)
}

// cookie returns the value of the browser's cookie name for the console.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base + "/ui/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// withProxy returns the URL of a new test database reached through proxy.
func withProxy(t *testing.T, proxy *dbProxy) string {
	t.Helper()
	return dbtest.WithHost(t, dbtest.NewDatabase(t), "127.0.0.1", proxy.port())
}
