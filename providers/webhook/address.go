package webhook

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/understudy-dev/understudy/providers"
)

var (
	// metadataAddrs are the cloud providers' instance metadata services:
	// AWS, GCP, Azure, … (169.254.169.254), AWS over IPv6 (fd00:ec2::254),
	// Alibaba Cloud (100.100.100.200).
	metadataAddrs = []netip.Addr{
		netip.MustParseAddr("169.254.169.254"),
		netip.MustParseAddr("fd00:ec2::254"),
		netip.MustParseAddr("100.100.100.200"),
	}
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	broadcast   = netip.MustParseAddr("255.255.255.255")
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT, private in practice
	nat64       = netip.MustParsePrefix("64:ff9b::/96")  // embeds an IPv4 address
)

// addressPolicy decides which addresses the client may connect to; see the
// package documentation.
type addressPolicy struct {
	allowLinkLocal bool
	allowPrivate   bool
	// fixed says the caller has no setting that would allow a refused
	// address (GuardedTransport): errors name none.
	fixed bool
}

// control is a net.Dialer Control function: it runs after DNS resolution,
// once the socket exists and before it connects, so a refused address
// receives nothing.
func (p addressPolicy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &providers.ConfigError{Field: "settings.base_url", Detail: fmt.Sprintf("refusing to connect to %q: not an IP address and port", address)}
	}
	return p.check(ap.Addr())
}

// check returns a *providers.ConfigError naming the address and the setting
// that would allow it, or nil.
func (p addressPolicy) check(ip netip.Addr) error {
	ip = ip.WithZone("").Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		if err := p.check(netip.AddrFrom4([4]byte(b[12:]))); err != nil {
			return err
		}
	}
	refuse := func(field, what string) error {
		detail := fmt.Sprintf("refusing to connect to %s, %s", ip, what)
		if p.fixed {
			return &providers.ConfigError{Field: "settings", Detail: detail}
		}
		if field != "settings.base_url" {
			detail += fmt.Sprintf(": set %s to true to allow it", field)
		}
		return &providers.ConfigError{Field: field, Detail: detail}
	}
	switch {
	case ip.IsUnspecified() || thisNetwork.Contains(ip):
		return refuse("settings.base_url", "an unspecified address (no setting allows it)")
	case ip.IsMulticast() || ip == broadcast:
		return refuse("settings.base_url", "a multicast or broadcast address (no setting allows it)")
	case slices.Contains(metadataAddrs, ip) && !p.allowLinkLocal:
		return refuse("settings.allow_link_local", "a cloud metadata address")
	case ip.IsLinkLocalUnicast() && !p.allowLinkLocal:
		return refuse("settings.allow_link_local", "a link-local address")
	case slices.Contains(metadataAddrs, ip) || ip.IsLinkLocalUnicast():
		return nil
	case (ip.IsLoopback() || ip.IsPrivate() || sharedSpace.Contains(ip)) && !p.allowPrivate:
		return refuse("settings.allow_private", "a loopback or private address")
	}
	return nil
}

// GuardedTransport returns a transport for the server's other outgoing
// calls (to analytics destinations) under the same address policy as the
// webhook client: link-local addresses and cloud metadata services are
// never dialled, nor unspecified, multicast or broadcast ones, and loopback
// and private addresses only with allowPrivate. The check runs after DNS
// resolution, and no proxy is used (it would connect on our behalf, past
// the check). A refused address fails the dial with a *providers.ConfigError.
func GuardedTransport(timeout time.Duration, allowPrivate bool) *http.Transport {
	return addressPolicy{allowPrivate: allowPrivate, fixed: true}.transport(timeout)
}

// transport dials only the addresses p accepts, with no proxy (a proxy
// would connect on our behalf, past the check).
func (p addressPolicy) transport(timeout time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.control}
	return &http.Transport{Proxy: nil, DialContext: dialer.DialContext, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 16,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: timeout, ExpectContinueTimeout: time.Second}
}
