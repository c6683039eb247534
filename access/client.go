package access

import "context"

// Client is where a request came from, as far as the server can trust it:
// the direct peer, or what a trusted proxy forwarded (openapi.TrustProxies
// decides which, and puts it in the request's context).
type Client struct {
	// Addr is the client's IP address: the direct peer's, or the right-most
	// address of X-Forwarded-For that no trusted proxy holds, when the peer
	// is a trusted proxy. Empty for work that no request asked for.
	Addr string
	// HTTPS is true when the original request was https: over TLS to this
	// server, or so a trusted proxy said (X-Forwarded-Proto).
	HTTPS bool
}

type clientKey struct{}

// WithClient returns ctx carrying c.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the client carried by ctx, or the zero Client.
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// clientAddrDetail is the key of an audit event's details that holds the
// client address of the request that caused it.
const clientAddrDetail = "client_addr"
