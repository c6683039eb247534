package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The page a sign-in returns to is a page of the console, whatever next
// says: no other site (a browser drops a tab or a newline from a URL, so
// "/\t/evil.example" is "//evil.example" to it), and no path that leaves
// the console once cleaned.
func TestSignInReturnsToAConsolePageOnly(t *testing.T) {
	t.Parallel()
	for next, want := range map[string]string{
		"/ui/accounts?role=buyer":   "/ui/accounts?role=buyer",
		"/ui/leases":                "/ui/leases",
		"":                          Prefix,
		"https://evil.example/ui/":  Prefix,
		"//evil.example/ui/":        Prefix,
		"/ui/../\t/evil.example":    Prefix,
		"/ui/../\t\t/evil.example/": Prefix,
		"/ui/\t/../../evil.example": Prefix,
		"/ui/../v1/accounts":        Prefix,
		"/ui/..\\..\\evil.example":  Prefix,
		"/ui/\x00":                  Prefix,
	} {
		if got := localNext(next); got != want {
			t.Errorf("localNext(%q) = %q, want %q", next, got, want)
		}
	}
	f := newFixture(t, 1)
	for _, next := range []string{"/ui/../\t/evil.example", "/ui/../%09/evil.example"} {
		req := httptest.NewRequest(http.MethodGet, "/ui/signin?"+url.Values{"next": {next}}.Encode(), nil)
		req.AddCookie(f.cookie)
		rec := httptest.NewRecorder()
		f.console.ServeHTTP(rec, req)
		loc := rec.Header().Get("Location")
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, Prefix) || strings.ContainsAny(loc, "\t\r\n") {
			t.Errorf("signed in, next=%q: %d to %q, want a page of the console", next, rec.Code, loc)
		}
	}
}
