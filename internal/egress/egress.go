// Package egress holds the one rule every outgoing base URL follows, for
// analytics destinations (tagging) and apps (providers) alike: the server
// sends keys, signatures and personal data to it, so it must be https,
// except to a loopback host (127.0.0.0/8, ::1, localhost), where nothing
// crosses a network and a local fake or sidecar may speak plain http.
package egress

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// CheckURL parses raw as a base URL for outgoing calls: an absolute https
// URL, or http to a loopback host, with no credentials, query or
// fragment. A path is kept (a vendor behind a proxy under a prefix), with
// its trailing slash removed. The error says what is wrong in words that
// follow the setting's name ("settings.base_url " + err).
func CheckURL(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("is required")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("is not a URL: %q", raw)
	case u.Scheme == "" || u.Hostname() == "":
		return nil, fmt.Errorf("is not an absolute URL with a host: %q", raw)
	case u.User != nil:
		return nil, fmt.Errorf("must not hold credentials (put secrets in secrets, not in a URL)")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("must not have a query or a fragment: %q", raw)
	case u.Scheme == "https":
	case u.Scheme == "http" && Loopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, fmt.Errorf("must use https (http only to a loopback host such as 127.0.0.1): %q would send keys and personal data in cleartext", raw)
	default:
		return nil, fmt.Errorf("must be an https URL, not %q", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Loopback says whether host (a name or an IP literal, brackets allowed)
// is localhost or a loopback address (127.0.0.0/8, ::1, and IPv4-mapped
// forms of them).
func Loopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.WithZone("").Unmap().IsLoopback()
}
