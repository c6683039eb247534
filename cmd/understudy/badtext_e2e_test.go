package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Text the database cannot store (a NUL, bytes that are not UTF-8), in a
// path, a query, a JSON body or a console form, is the client's mistake:
// 400, never a 500.
func TestConsoleAndAPIRefuseTextTheDatabaseCannotStore(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/environments/%00", ""},
		{"GET", "/v1/environments/%ff", ""},
		{"GET", "/v1/accounts?environment=%00", ""},
		{"GET", "/v1/leases?environment=%ff", ""},
		{"GET", "/v1/plans/%00", ""},
		{"PATCH", "/v1/environments/production/roles/buyer", `{"description":"a\u0000b"}`},
		{"PATCH", "/v1/environments/production/roles/buyer", `{"attributes":{"tier":"a\u0000b"}}`},
	} {
		var resp *http.Response
		var b []byte
		if tc.body != "" {
			resp, b = s.raw(t, s.Admin, tc.method, tc.path, "application/json", strings.NewReader(tc.body))
		} else {
			resp, b = s.raw(t, s.Admin, tc.method, tc.path, "", nil)
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s %s %s: %d, want 400\n%s", tc.method, tc.path, tc.body, resp.StatusCode, b)
		}
	}
	br := newBrowser(t, s)
	if code, _, _ := br.signIn(s.Admin); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", code)
	}
	_, _, page := br.do("GET", "/ui/", nil, nil)
	csrf := csrfIn(t, page)
	for _, tc := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/ui/environments/%00", nil},
		{"GET", "/ui/environments/%ff", nil},
		{"GET", "/ui/accounts?environment=%00", nil},
		{"GET", "/ui/confirm/audit?environment=%00", nil},
		{"POST", "/ui/actions/audit", url.Values{"_csrf": {csrf}, "environment": {"\x00"}}},
		{"POST", "/ui/actions/sync", url.Values{"_csrf": {csrf}, "environment": {"production"}, "destination": {"\xff"}}},
	} {
		if code, _, body := br.do(tc.method, tc.path, tc.form, nil); code != http.StatusBadRequest {
			t.Errorf("%s %s %v: %d, want 400\n%.300s", tc.method, tc.path, tc.form, code, body)
		}
	}
}
