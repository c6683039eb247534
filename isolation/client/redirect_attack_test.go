package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// The client sends its app token with every call. A redirect from the
// server's https address to http on the same host would carry that
// Authorization header in cleartext (Go's client keeps it for the same
// host, whatever the scheme and port), and a redirect elsewhere would
// hand the list's source to another server. Only a redirect within the
// first request's origin is followed.
func TestAttackTheTokenNeverFollowsARedirectElsewhere(t *testing.T) {
	t.Parallel()
	var leaked atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		http.Error(w, "no", http.StatusNotFound)
	}))
	t.Cleanup(sink.Close)
	tlsServer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, sink.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(tlsServer.Close)
	c, err := New(Config{BaseURL: tlsServer.URL, Token: testToken, Environment: testEnv, HTTPClient: tlsServer.Client(),
		RefreshInterval: 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.Start(context.Background()) // fails: the server only redirects
	if n := leaked.Load(); n != 0 {
		t.Fatalf("the token followed a redirect from https to http %d times", n)
	}
}
