package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/access"
)

// forwardedRequest sends one request to s with the forwarding headers of
// a proxy that terminated TLS for client 203.0.113.9 (the test's own
// address, 127.0.0.1, is the peer), without following redirects.
func forwardedRequest(t *testing.T, s *testServer, method, path string, header http.Header, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if header != nil {
		req.Header = header.Clone()
	}
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.9") // a client-made entry, then what the proxy saw
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// cookieNamed returns the cookie name that resp sets, or fails the test.
func cookieNamed(t *testing.T, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s %s set no cookie %s (status %d)", resp.Request.Method, resp.Request.URL.Path, name, resp.StatusCode)
	return nil
}

// Behind a TLS-terminating proxy the console's cookies were not Secure:
// X-Forwarded-Proto was never believed. Now it is believed from a trusted
// proxy, and only from one, and so is X-Forwarded-For for the client
// address in the request log and the audit trail.
func TestForwardingHeadersAreBelievedOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		trusted []string
		secure  bool
		client  string
	}{
		{"no trusted proxy", nil, false, "127.0.0.1"},
		{"another proxy", []string{"10.0.0.0/8"}, false, "127.0.0.1"},
		{"the peer is a trusted proxy", []string{"10.0.0.0/8", "127.0.0.1/32"}, true, "203.0.113.9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			logs := &lockedBuffer{}
			s := startServer(t, serverOptions{Logs: logs, Mutate: func(cfg *Config) { cfg.TrustedProxies = c.trusted }})

			// The console: the sign-in form's cookie, then the session's.
			page := forwardedRequest(t, s, http.MethodGet, "/ui/signin", nil, "")
			form := cookieNamed(t, page, "understudy_signin")
			if form.Secure != c.secure {
				t.Errorf("the sign-in form's cookie: Secure = %v, want %v", form.Secure, c.secure)
			}
			signIn := forwardedRequest(t, s, http.MethodPost, "/ui/signin",
				http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Cookie": {form.Name + "=" + form.Value}},
				url.Values{"_csrf": {form.Value}, "token": {s.Admin}, "next": {"/ui/"}}.Encode())
			if signIn.StatusCode != http.StatusSeeOther {
				t.Fatalf("signing in: %d", signIn.StatusCode)
			}
			if session := cookieNamed(t, signIn, "understudy_session"); session.Secure != c.secure {
				t.Errorf("the session cookie: Secure = %v, want %v", session.Secure, c.secure)
			}

			// The REST API: a write, audited with the client address.
			created := forwardedRequest(t, s, http.MethodPost, "/v1/tokens",
				http.Header{"Authorization": {"Bearer " + s.Admin}, "Content-Type": {"application/json"}, "X-Request-ID": {"proxy-test"}},
				`{"name":"ci-behind-proxy","scope":"runner"}`)
			if created.StatusCode != http.StatusCreated {
				t.Fatalf("creating a token: %d", created.StatusCode)
			}
			audit := access.NewAudit(s.main.pool)
			for _, action := range []string{"console.sign_in", "token.create"} {
				ev, err := audit.List(t.Context(), access.AuditFilter{Action: action, Actor: "test-admin"})
				if err != nil || len(ev) != 1 || ev[0].Details["client_addr"] != c.client {
					t.Errorf("%s: client address %v, want %s (%v)", action, ev, c.client, err)
				}
			}
			if line := requestLine(t, logs.String(), "proxy-test"); line["client"] != c.client {
				t.Errorf("the request log says client %v, want %s", line["client"], c.client)
			}
		})
	}
}

// requestLine returns the request log line of the request with id.
func requestLine(t *testing.T, logs, id string) map[string]any {
	t.Helper()
	for l := range strings.SplitSeq(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["request_id"] == id {
			return m
		}
	}
	t.Fatalf("no request line for %s in the logs", id)
	return nil
}
