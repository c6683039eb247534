package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A console form larger than maxForm is refused as too large (413), with
// nothing done, whether its anti-forgery token comes in the htmx header
// or in the form; a form that cannot be read is not taken as empty.
func TestAnOversizedConsoleFormIs413(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10) // slot 10 is leased
	s, ok, err := f.console.sessions.lookup(t.Context(), f.cookie.Value)
	if err != nil || !ok {
		t.Fatalf("session: %v %v", ok, err)
	}
	var leaseID string
	if err := f.db.QueryRow(t.Context(), "SELECT id::text FROM leases LIMIT 1").Scan(&leaseID); err != nil {
		t.Fatal(err)
	}
	for _, header := range []bool{true, false} {
		form := url.Values{"_csrf": {s.CSRF}, "lease": {leaseID}, "pad": {strings.Repeat("a", maxForm)}}
		req := httptest.NewRequest(http.MethodPost, "/ui/actions/release", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header {
			req.Header.Set(csrfHeader, s.CSRF)
		}
		req.AddCookie(f.cookie)
		rec := httptest.NewRecorder()
		f.console.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized form (token in header: %v): %d, want 413", header, rec.Code)
		}
	}
	var status string
	if err := f.db.QueryRow(t.Context(), "SELECT status FROM leases WHERE id = $1", leaseID).Scan(&status); err != nil || status != "active" {
		t.Fatalf("lease is %s after refused forms (%v)", status, err)
	}
}
