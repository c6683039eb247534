package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Signing out is audited as console.sign_out of the session's token, as
// signing in is, and the session is gone.
func TestSignOutIsAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	s, ok, err := f.console.sessions.lookup(t.Context(), f.cookie.Value)
	if err != nil || !ok {
		t.Fatalf("session: %v %v", ok, err)
	}
	req := httptest.NewRequest(http.MethodPost, "/ui/signout", strings.NewReader(url.Values{"_csrf": {s.CSRF}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(f.cookie)
	rec := httptest.NewRecorder()
	f.console.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("sign-out: %d\n%s", rec.Code, rec.Body)
	}
	var n int
	if err := f.db.QueryRow(t.Context(), `SELECT count(*) FROM audit_events WHERE action = 'console.sign_out' AND target_type = 'token'
		AND target_id = $1 AND actor = $2`, s.TokenID, s.TokenName).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d console.sign_out events of token %s (%v), want 1", n, s.TokenID, err)
	}
	if _, ok, _ := f.console.sessions.lookup(t.Context(), f.cookie.Value); ok {
		t.Fatal("the session outlived its sign-out")
	}
}
