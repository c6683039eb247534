package openapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/access"
)

// TrustProxies returns middleware that puts each request's client in its
// context (access.WithClient), for the console's cookies, the request log
// and the audit trail. Only a request whose direct peer is in trusted may
// set the scheme and the client address through forwarding headers: then
// X-Forwarded-Proto says whether the original request was https, and the
// client address is the right-most address of X-Forwarded-For that is not
// itself a trusted proxy. Any other request's forwarding headers are
// ignored: its address is its peer's, and it is https only over TLS to this
// server. With no trusted proxies (the default) no header is believed.
// The Forwarded header (RFC 7239) is not read.
func TrustProxies(trusted []netip.Prefix) func(http.Handler) http.Handler {
	// echo trusts loopback, link-local and private addresses unless told
	// not to: here only the configured ranges are proxies.
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		_, n, _ := net.ParseCIDR(p.Masked().String())
		opts = append(opts, echo.TrustIPRange(n))
	}
	forwardedFor := echo.ExtractIPFromXFFHeader(opts...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := access.Client{Addr: peerAddr(r), HTTPS: r.TLS != nil}
			if peer, err := netip.ParseAddr(c.Addr); err == nil && trustedPeer(trusted, peer.Unmap()) {
				c.Addr = forwardedFor(r)
				c.HTTPS = c.HTTPS || forwardedHTTPS(r.Header.Get(echo.HeaderXForwardedProto))
			}
			next.ServeHTTP(w, r.WithContext(access.WithClient(r.Context(), c)))
		})
	}
}

// clientAddr is the request's client address as TrustProxies decided it,
// or, on a server without that middleware, its direct peer's.
func clientAddr(r *http.Request) string {
	if a := access.ClientFrom(r.Context()).Addr; a != "" {
		return a
	}
	return peerAddr(r)
}

// peerAddr is the IP address of a request's direct peer.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func trustedPeer(trusted []netip.Prefix, peer netip.Addr) bool {
	for _, p := range trusted {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}

// forwardedHTTPS reads X-Forwarded-Proto: its first value is the scheme
// the client used with the first proxy.
func forwardedHTTPS(v string) bool {
	first, _, _ := strings.Cut(v, ",")
	return strings.EqualFold(strings.TrimSpace(first), "https")
}
