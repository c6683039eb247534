package main

import (
	"net/http"
	"strings"
	"testing"
)

// Every console response carries the security headers; /ui goes to /ui/;
// htmx is served with a long cache under its version.
func TestConsoleHeadersAndPaths(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	b := newBrowser(t, s)
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/ui/signin", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		!strings.Contains(csp, "frame-ancestors 'none'") || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Referrer-Policy") != "same-origin" || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers of the sign-in page: %v", h)
	}
	if code, loc, _ := b.do(http.MethodGet, "/ui", nil, nil); code != http.StatusMovedPermanently || loc != "/ui/" {
		t.Errorf("/ui: %d %q", code, loc)
	}
	if code, loc, _ := b.do(http.MethodGet, "/ui/accounts?role=buyer", nil, nil); code != http.StatusSeeOther || loc != "/ui/signin?next=%2Fui%2Faccounts%3Frole%3Dbuyer" {
		t.Errorf("a page without a session: %d %q", code, loc)
	}
	_, _, page := b.do(http.MethodGet, "/ui/signin", nil, nil)
	if strings.Contains(page, "<script>") || !strings.Contains(page, `src="/ui/static/htmx-2.0.11.min.js"`) {
		t.Errorf("the page has an inline script, or no htmx:\n%s", page)
	}
	req, _ = http.NewRequest(http.MethodGet, s.URL+"/ui/static/htmx-2.0.11.min.js", nil)
	resp, err = b.c.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("htmx: %v %v", err, resp)
	}
	resp.Body.Close()
}

// serve --console=false (UNDERSTUDY_CONSOLE=false): no console, /ui/ is
// the API's 404, and the API answers as before.
func TestConsoleCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{Mutate: func(c *Config) { c.Console = new(false) }})
	b := newBrowser(t, s)
	if code, _, body := b.do(http.MethodGet, "/ui/", nil, nil); code != http.StatusNotFound || !strings.Contains(body, "no operation") {
		t.Errorf("/ui/ with the console off: %d %s", code, body)
	}
	if resp, _ := s.raw(t, s.Reader, http.MethodGet, "/v1/environments", "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("the API with the console off: %d", resp.StatusCode)
	}
}
