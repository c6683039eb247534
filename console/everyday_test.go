package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/providers"
)

// do serves a request of the fixture's admin session (a POST with the
// session's anti-forgery token) and returns the recorder, whatever its status.
func (f fixture) do(tb testing.TB, method, path string, form url.Values) *httptest.ResponseRecorder {
	tb.Helper()
	var req *http.Request
	if method == http.MethodPost {
		s, ok, err := f.console.sessions.lookup(context.Background(), f.cookie.Value)
		if err != nil || !ok {
			tb.Fatalf("session: %v %v", ok, err)
		}
		form.Set("_csrf", s.CSRF)
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.AddCookie(f.cookie)
	rec := httptest.NewRecorder()
	f.console.ServeHTTP(rec, req)
	return rec
}

// newStackFixture is a console over a domaintest.Stack (environment
// production, app chirp, role buyer of pool accounts, provisioned), with
// an admin's session.
func newStackFixture(t *testing.T, pool int) (fixture, domaintest.Stack) {
	t.Helper()
	db := dbtest.NewPool(t)
	st := domaintest.New(t, db, pool)
	c := newConsoleOn(t, db, st.Accounts, st.Apps, st.Snapshots, st.Leases)
	tok, _, err := access.NewTokens(db).Create(access.WithCaller(context.Background(), access.Caller{Actor: "test"}), "qa-admin", access.ScopeAdmin)
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := c.sessions.create(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{console: c, db: db, cookie: &http.Cookie{Name: sessionCookie, Value: id}}, st
}

// A reset that an app refuses leaves the account failed: the page says so,
// with the reason, once, instead of "Nothing was done".
func TestConsoleAFailedResetSaysTheAccountIsFailed(t *testing.T) {
	t.Parallel()
	f, st := newStackFixture(t, 1)
	list, _ := st.Accounts.ListAccounts(st.Ctx, accounts.AccountFilter{})
	a := list[0]
	st.App.SetFailRestore(providers.ErrRefused)
	rec := f.do(t, http.MethodPost, "/ui/actions/reset", url.Values{"account": {a.ID}, "version": {a.UpdatedAt.UTC().Format(time.RFC3339Nano)}})
	body := rec.Body.String()
	if strings.Contains(body, "Nothing was done") || !strings.Contains(body, "The reset failed, and the account is now failed: reset to initial failed: app chirp") {
		t.Fatalf("a failed reset shows (%d):\n%s", rec.Code, body)
	}
	if n := strings.Count(body, "reset to initial failed"); n != 2 { // the message, and the account's reason below it
		t.Fatalf("the page says %q %d times, want twice (message and reason), each once", "reset to initial failed", n)
	}
	now, _ := st.Accounts.GetAccount(st.Ctx, a.ID)
	if now.Status != accounts.StatusFailed {
		t.Fatalf("account is %s", now.Status)
	}
}

// The comparison with the baseline shows each changed path with its value
// in the baseline and now, as the CLI's snapshot diff does.
func TestConsoleComparisonShowsOldAndNewValues(t *testing.T) {
	t.Parallel()
	f, st := newStackFixture(t, 1)
	list, _ := st.Accounts.ListAccounts(st.Ctx, accounts.AccountFilter{})
	ref, _ := st.App.Ref(list[0].ID)
	before, err := st.App.State(ref)
	if err != nil {
		t.Fatal(err)
	}
	after := strings.Replace(string(before), "}", `,"cart":["sku-1"],"plan":"gold-plan-`+strings.Repeat("x", 80)+`"}`, 1)
	if err := st.App.SetState(ref, providers.State(after)); err != nil {
		t.Fatal(err)
	}
	body := f.get(t, "/ui/accounts/"+list[0].ID+"/diff").Body.String()
	for _, want := range []string{"<code>$.cart</code>", "<code>[&#34;sku-1&#34;]</code>", ">absent<", "Baseline", "Now",
		"gold-plan-xxxxxxxx", "…</code>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the comparison lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, strings.Repeat("x", 80)) {
		t.Error("a long value is not cut")
	}
}

// A reader sees no comparison with the baseline and cannot ask for one:
// it shows the apps' data, which REST's snapshot diff keeps to admins.
func TestConsoleComparisonIsForAdminsOnly(t *testing.T) {
	t.Parallel()
	f, st := newStackFixture(t, 1)
	list, _ := st.Accounts.ListAccounts(st.Ctx, accounts.AccountFilter{})
	if body := f.get(t, "/ui/accounts/"+list[0].ID).Body.String(); !strings.Contains(body, "/diff") {
		t.Fatalf("an admin's account page has no comparison:\n%s", body)
	}
	for _, scope := range []access.Scope{access.ScopeReader, access.ScopeRunner} {
		tok, _, err := access.NewTokens(f.db).Create(access.WithCaller(context.Background(), access.Caller{Actor: "test"}), "qa-"+string(scope), scope)
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := f.console.sessions.create(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		g := fixture{console: f.console, db: f.db, cookie: &http.Cookie{Name: sessionCookie, Value: id}}
		if body := g.get(t, "/ui/accounts/"+list[0].ID).Body.String(); strings.Contains(body, "/diff") {
			t.Errorf("a %s's account page offers the comparison", scope)
		}
		if rec := g.do(t, http.MethodGet, "/ui/accounts/"+list[0].ID+"/diff", nil); rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "$.") {
			t.Errorf("a %s asking for the comparison: %d\n%s", scope, rec.Code, rec.Body.String())
		}
	}
}

// The since field takes durations, dates, times and words, relative to now.
func TestParseSinceTakesDurationsDatesAndWords(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 15, 30, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"30m": now.Add(-30 * time.Minute), "24h": now.Add(-24 * time.Hour), "7d": now.AddDate(0, 0, -7),
		"today": time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), "Yesterday": time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC),
		"2026-12-01": time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "2026-12-01T14:00": time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC),
		"2026-12-01T14:00:00+01:00": time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC),
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("since %q = %v (%v), want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"last week", "-5m", "2026-13-01", "7 days"} {
		if _, err := parseSince(bad, now); err == nil || !strings.Contains(err.Error(), "7d") || !strings.Contains(err.Error(), "yesterday") {
			t.Errorf("since %q: %v, want a refusal naming the forms", bad, err)
		}
	}
}

// A refused since keeps the form as typed and says which forms work (422);
// an accepted one filters.
func TestConsoleAuditSinceSaysWhichFormsWork(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	rec := f.do(t, http.MethodGet, "/ui/audit?since=last+week", nil)
	body := rec.Body.String()
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `value="last week"`) ||
		!strings.Contains(body, "since: must be a duration back from now (30m, 24h, 7d)") || !strings.Contains(body, "today or yesterday") {
		t.Fatalf("a refused since: %d\n%s", rec.Code, body)
	}
	for _, ok := range []string{"yesterday", "7d", "2026-12-01"} {
		f.get(t, "/ui/audit?since="+ok)
	}
}

// Audit details are fields (nested keys as a.b), never Go's map syntax;
// each target links to its page where it has one.
func TestConsoleAuditShowsDetailsAsFieldsAndLinksTargets(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	ctx := access.WithCaller(context.Background(), access.Caller{Actor: "qa"})
	var accountID, roleID string
	if err := f.db.QueryRow(ctx, "SELECT id::text, role_id::text FROM accounts LIMIT 1").Scan(&accountID, &roleID); err != nil {
		t.Fatal(err)
	}
	for _, e := range []access.Event{
		{Action: "test.nested", TargetType: "account", TargetID: accountID,
			Details: map[string]any{"attributes": map[string]any{}, "policy": map[string]any{"search": "hidden", "deep": map[string]any{"x": 1}}, "apps": []any{"chirp", "mem"}}},
		{Action: "test.env", TargetType: "environment", TargetID: "production"},
		{Action: "test.role", TargetType: "role", TargetID: roleID},
		{Action: "test.token", TargetType: "token", TargetID: "7c9e6679-7425-40de-944b-e07fc1f90ae7"},
	} {
		if err := access.Record(ctx, f.db, e); err != nil {
			t.Fatal(err)
		}
	}
	body := f.get(t, "/ui/audit?actor=qa").Body.String()
	for _, want := range []string{"<dt>attributes</dt><dd>none</dd>", "<dt>policy.search</dt><dd>hidden</dd>", "<dt>policy.deep.x</dt><dd>1</dd>",
		"<dt>apps</dt><dd>chirp, mem</dd>",
		`<a href="/ui/accounts/` + accountID + `">`, `<a href="/ui/environments/production">production</a>`,
		`<a href="/ui/accounts?environment=production&amp;role=r000">` + roleID + `</a>`,
		"token 7c9e6679-7425-40de-944b-e07fc1f90ae7</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the audit page lacks %s", want)
		}
	}
	if strings.Contains(body, "map[") {
		t.Errorf("the audit page shows a Go map:\n%s", body)
	}
}

var hrefRE = regexp.MustCompile(`<a href="([^"]+)">([^<]+)</a>`)

// links returns the href of each link of body, by its text.
func links(body string) map[string]string {
	out := map[string]string{}
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		out[m[2]] = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	return out
}

// Paging back from older audit events reaches the newer ones again, and
// the newest: Older, then Newer, is the first page.
func TestConsoleOlderAuditPagesLinkToNewerOnes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	if _, err := f.db.Exec(context.Background(), `INSERT INTO audit_events (actor, action, target_type, target_id, details)
		SELECT 'pager', 'test.page', 'account', g::text, '{}' FROM generate_series(1, 120) g`); err != nil {
		t.Fatal(err)
	}
	ids := func(body string) string {
		return strings.Join(regexp.MustCompile(`account ([0-9]+)</td>`).FindAllString(body, -1), ",")
	}
	first := f.get(t, "/ui/audit?actor=pager").Body.String()
	l := links(first)
	if l["← Newer"] != "" || l["⇤ Newest"] != "" || l["Older →"] == "" {
		t.Fatalf("the first page links %v", l)
	}
	second := f.get(t, l["Older →"]).Body.String()
	l2 := links(second)
	if l2["← Newer"] == "" || l2["⇤ Newest"] == "" || l2["Older →"] == "" {
		t.Fatalf("the second page links %v", l2)
	}
	third := f.get(t, l2["Older →"]).Body.String()
	if n := strings.Count(third, "test.page"); n != 20 || links(third)["Older →"] != "" {
		t.Fatalf("the third page has %d events, links %v", n, links(third))
	}
	back := f.get(t, links(third)["← Newer"]).Body.String()
	if ids(back) != ids(second) {
		t.Fatalf("Newer from the third page is not the second:\n%s\n%s", ids(back), ids(second))
	}
	top := f.get(t, l2["← Newer"]).Body.String()
	if ids(top) != ids(first) || links(top)["← Newer"] != "" || links(top)["Older →"] == "" {
		t.Fatalf("Newer from the second page is not the first (links %v)", links(top))
	}
	if rec := f.do(t, http.MethodGet, "/ui/audit?after=x", nil); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "after: must be an event id") {
		t.Fatalf("a bad after: %d %s", rec.Code, rec.Body)
	}
}

// /favicon.ico answers with the console's icon, cached; every page links it.
func TestConsoleServesItsIcon(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	h := f.console.Wrap(http.NotFoundHandler())
	for _, p := range []string{"/favicon.ico", assetURL("favicon.svg")} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/svg+xml" ||
			!strings.Contains(rec.Header().Get("Cache-Control"), "max-age=") || !strings.HasPrefix(rec.Body.String(), "<svg") {
			t.Fatalf("%s: %d %v", p, rec.Code, rec.Header())
		}
	}
	if body := f.get(t, "/ui/").Body.String(); !strings.Contains(body, `<link rel="icon" href="`+assetURL("favicon.svg")+`" type="image/svg+xml">`) {
		t.Fatal("the overview does not link its icon")
	}
}

// The accounts page finds accounts by the start of an email or username in
// any case, or by id, through the search box; roles are picked from a list.
func TestConsoleSearchesAccountsAndPicksRolesFromAList(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 250)
	var id string
	if err := f.db.QueryRow(context.Background(), "SELECT id::text FROM accounts WHERE email = 'r001-77@qa.example.test'").Scan(&id); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"R001-77@QA", "r001_77", id} {
		body := f.get(t, "/ui/accounts?q="+url.QueryEscape(q)).Body.String()
		if !strings.Contains(body, `href="/ui/accounts/`+id+`"`) || strings.Count(body, `data-label="Account"`) != 1 {
			t.Errorf("searching %q does not find exactly r001-77:\n%s", q, body)
		}
	}
	body := f.get(t, "/ui/accounts?q=r00").Body.String()
	if n := strings.Count(body, `data-label="Account"`); n != accounts.MaxSearch || !strings.Contains(body, "The first 50 matches") {
		t.Errorf("a broad search shows %d accounts", n)
	}
	if rec := f.do(t, http.MethodGet, "/ui/accounts?q="+strings.Repeat("x", 201), nil); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "q: must be") {
		t.Errorf("an overlong search: %d", rec.Code)
	}
	body = f.get(t, "/ui/accounts").Body.String()
	for _, want := range []string{`<input id="q" name="q" type="search"`, `<select name="role"><option value="">all</option><option>r000</option><option>r001</option><option>r002</option></select>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the accounts page lacks %s", want)
		}
	}
	if strings.Contains(body, `<input name="role"`) {
		t.Error("the role is still free text")
	}
}
