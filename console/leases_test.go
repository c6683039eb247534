package console

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// endLeasesSQL ends the fixture's open leases of role r000 (released) and
// r001 (expired), each at its own time, the lower slots first, and keys
// one of them.
const endLeasesSQL = `
UPDATE leases l SET status = CASE WHEN r.name = 'r000' THEN 'released' ELSE 'expired' END,
       status_reason = CASE WHEN r.name = 'r000' THEN 'released' ELSE 'expired at noon' END,
       ended_at = now() - make_interval(mins => 1000 - a.slot - CASE WHEN r.name = 'r001' THEN 200 ELSE 0 END),
       renewed_at = CASE WHEN a.slot = 10 AND r.name = 'r000' THEN now() - interval '2 hours' END,
       idempotency_key = CASE WHEN a.slot = 10 AND r.name = 'r000' THEN 'run-1234' END
FROM accounts a JOIN roles r ON r.id = a.role_id
WHERE a.id = l.account_id AND r.name IN ('r000', 'r001')`

var (
	historyRowRE = regexp.MustCompile(`<td data-label="Lease"><a href="/ui/leases/([0-9a-f-]+)">([^<]+)</a>`)
	olderRE      = regexp.MustCompile(`<a href="([^"]+)#history">Older →</a>`)
)

// The leases page lists the open leases and, below, the ended ones, the
// most recently ended first, 50 a page, filtered by environment and role;
// each links to its page.
func TestConsoleLeaseHistoryPagesAndFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1000) // 100 leases: 10 in each of r000…r009
	if _, err := f.db.Exec(context.Background(), endLeasesSQL); err != nil {
		t.Fatal(err)
	}
	body := f.get(t, "/ui/leases").Body.String()
	open, history, _ := strings.Cut(body, `id="history"`)
	if strings.Count(open, "Release…") != 80 || !strings.Contains(open, `-holder" href="/ui/leases/`) {
		t.Errorf("the open leases are not the 80 still open, each linked to its page")
	}
	rows := historyRowRE.FindAllStringSubmatch(history, -1)
	if len(rows) != 20 || !strings.Contains(rows[0][2], "production/r001") || !strings.Contains(rows[19][2], "production/r000") {
		t.Fatalf("the history lists %d leases, newest %v, want 20 with r001's (ended last) first", len(rows), rows[:min(1, len(rows))])
	}
	if !strings.Contains(history, "expired at noon") || olderRE.MatchString(history) {
		t.Errorf("the history says not how r001's leases ended, or offers an older page of 20 leases")
	}
	// A reason that only repeats the status is not said twice ("released
	// released"), and the roles are picked from a list, not typed.
	if strings.Contains(history, `<span class="muted">released</span>`) {
		t.Errorf("the history repeats the status released as its reason")
	}
	if !strings.Contains(history, `<select name="role"><option value="">all</option>`) || !strings.Contains(history, `<option>r009</option>`) {
		t.Errorf("the history's role filter is not a list of the roles")
	}

	page := f.get(t, "/ui/leases?role=r000").Body.String()
	_, page, _ = strings.Cut(page, `id="history"`)
	_, page, _ = strings.Cut(page, "</form>") // the filter lists every role
	if got := historyRowRE.FindAllStringSubmatch(page, -1); len(got) != 10 || strings.Contains(page, "r001") {
		t.Fatalf("the history of role r000 lists %d leases (or r001's), want 10", len(got))
	}
	if got := f.get(t, "/ui/leases?environment=staging").Body.String(); !strings.Contains(got, "No ended leases match") {
		t.Errorf("staging's empty history does not say so")
	}

	// 120 ended leases page as 50, 50, 20, each lease once.
	if _, err := f.db.Exec(context.Background(), `UPDATE leases SET status = 'released', ended_at = now() - make_interval(secs => substr(holder, 4)::int)
		WHERE status = 'active' AND role_id IN (SELECT id FROM roles WHERE name IN ('r002','r003','r004','r005','r006','r007','r008','r009','r010'))`); err != nil {
		t.Fatal(err)
	}
	seen, pages := f.walkPages(t, "/ui/leases", "history", historyRowRE)
	if len(seen) != 100 || pages != 2 {
		t.Fatalf("paging met %d leases in %d pages, want 100 in 2", len(seen), pages)
	}
	req := httptest.NewRequest(http.MethodGet, "/ui/leases?after=bogus", nil)
	req.AddCookie(f.cookie)
	rec := httptest.NewRecorder()
	f.console.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "after") {
		t.Errorf("a bogus cursor: %d, want 422 naming after", rec.Code)
	}
}

// walkPages follows the "Older →" links of the section anchor of the
// pages from start, and returns the ids that row (whose first group is an
// id) finds in them, and how many pages there were. An id met twice fails
// the test.
func (f fixture) walkPages(t *testing.T, start, anchor string, row *regexp.Regexp) (map[string]bool, int) {
	t.Helper()
	older := regexp.MustCompile(`<a href="([^"]+)#` + anchor + `">Older →</a>`)
	seen, path, pages := map[string]bool{}, start, 0
	for path != "" {
		page := section(f.get(t, path).Body.String(), anchor)
		for _, r := range row.FindAllStringSubmatch(page, -1) {
			if seen[r[1]] {
				t.Fatalf("%s shown twice", r[1])
			}
			seen[r[1]] = true
		}
		pages++
		path = ""
		if m := older.FindStringSubmatch(page); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	return seen, pages
}

// A lease's page shows its holder and token, its account (linked), its
// times and how it ended, and its Idempotency-Key; a reader sees no
// action on it.
func TestConsoleLeasePage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 300)
	if _, err := f.db.Exec(context.Background(), endLeasesSQL); err != nil {
		t.Fatal(err)
	}
	var ended, open, account string
	if err := f.db.QueryRow(context.Background(), `SELECT id::text, account_id::text FROM leases WHERE idempotency_key = 'run-1234'`).Scan(&ended, &account); err != nil {
		t.Fatal(err)
	}
	if err := f.db.QueryRow(context.Background(), `SELECT id::text FROM leases WHERE status = 'active' LIMIT 1`).Scan(&open); err != nil {
		t.Fatal(err)
	}
	page := f.get(t, "/ui/leases/"+ended).Body.String()
	for _, want := range []string{"Lease of production/r000", "by ci-10", "<dt>Token</dt><dd>ci</dd>", `<a href="/ui/accounts/` + account + `">`,
		"<code>run-1234</code>", "<dt>Renewed</dt><dd><time", "<dt>Ended</dt><dd><time", "released"} {
		if !strings.Contains(page, want) {
			t.Errorf("the ended lease's page lacks %q", want)
		}
	}
	if strings.Contains(page, "Release…") {
		t.Error("an ended lease offers Release")
	}
	page = f.get(t, "/ui/leases/"+open).Body.String()
	for _, want := range []string{"Release…", "<dt>Renewed</dt><dd><span class=\"muted\">never", "not yet", "<dt>Idempotency key</dt><dd><span class=\"muted\">none"} {
		if !strings.Contains(page, want) {
			t.Errorf("the open lease's page lacks %q", want)
		}
	}
	reader := f.sessionOf(t, "qa-lead", "reader")
	for path, want := range map[string]int{"/ui/leases/" + open: http.StatusOK, "/ui/leases/00000000-0000-0000-0000-000000000000": http.StatusNotFound, "/ui/leases/nope": http.StatusNotFound} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(reader)
		rec := httptest.NewRecorder()
		f.console.ServeHTTP(rec, req)
		if rec.Code != want || strings.Contains(rec.Body.String(), "Release…") {
			t.Errorf("a reader's GET %s: %d, want %d and no action", path, rec.Code, want)
		}
	}
}
