package openapi

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/understudy-dev/understudy/access"
)

func TestTrustProxiesBelievesOnlyTrustedPeers(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	for _, c := range []struct {
		name, peer, xff, proto string
		tls                    bool
		want                   access.Client
	}{
		{"untrusted peer, headers ignored", "192.0.2.1:5000", "203.0.113.9", "https", false, access.Client{Addr: "192.0.2.1"}},
		{"untrusted peer over TLS", "192.0.2.1:5000", "", "http", true, access.Client{Addr: "192.0.2.1", HTTPS: true}},
		{"private but untrusted peer", "172.16.0.1:5000", "203.0.113.9", "https", false, access.Client{Addr: "172.16.0.1"}},
		{"loopback is not trusted unless named", "127.0.0.1:5000", "203.0.113.9", "https", false, access.Client{Addr: "127.0.0.1"}},
		{"trusted peer", "10.0.0.2:5000", "203.0.113.9", "https", false, access.Client{Addr: "203.0.113.9", HTTPS: true}},
		{"trusted peer, scheme in any case", "10.0.0.2:5000", "203.0.113.9", "HTTPS", false, access.Client{Addr: "203.0.113.9", HTTPS: true}},
		{"trusted peer, plain http", "10.0.0.2:5000", "203.0.113.9", "http", false, access.Client{Addr: "203.0.113.9"}},
		{"the right-most untrusted address wins", "10.0.0.2:5000", "198.51.100.1, 203.0.113.9, 10.3.3.3", "https", false, access.Client{Addr: "203.0.113.9", HTTPS: true}},
		{"an unreadable entry stops at the peer", "10.0.0.2:5000", "203.0.113.9, nonsense", "https", false, access.Client{Addr: "10.0.0.2", HTTPS: true}},
		{"trusted peer without X-Forwarded-For", "10.0.0.2:5000", "", "", false, access.Client{Addr: "10.0.0.2"}},
		{"IPv6 trusted peer", "[2001:db8::1]:5000", "2001:db8:ffff::5, 2a00::7", "https", false, access.Client{Addr: "2a00::7", HTTPS: true}},
	} {
		var got access.Client
		h := TrustProxies(trusted)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = access.ClientFrom(r.Context()) }))
		r := httptest.NewRequest(http.MethodGet, "/ui/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("%s: client %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestNoTrustedProxyIgnoresForwardingHeaders(t *testing.T) {
	t.Parallel()
	var got access.Client
	h := TrustProxies(nil)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = access.ClientFrom(r.Context()) }))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.2:5000"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	r.Header.Set("X-Forwarded-Proto", "https")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != (access.Client{Addr: "10.0.0.2"}) {
		t.Fatalf("client %+v, want the peer over http", got)
	}
}
