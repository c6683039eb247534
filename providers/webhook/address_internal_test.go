package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/providers"
)

func TestAddressPolicy(t *testing.T) {
	t.Parallel()
	const ok = ""
	cases := []struct {
		addr                 string
		linkLocal, private   bool
		wantField            string
		wantDetailMentioning string
	}{
		{"93.184.215.14", false, false, ok, ""},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", false, false, ok, ""},
		{"169.254.169.254", false, true, "settings.allow_link_local", "cloud metadata"},
		{"169.254.169.254", true, true, ok, ""},
		{"169.254.10.1", false, true, "settings.allow_link_local", "link-local"},
		{"fe80::1", false, true, "settings.allow_link_local", "link-local"},
		{"fe80::1%eth0", false, true, "settings.allow_link_local", "link-local"},
		{"fd00:ec2::254", false, true, "settings.allow_link_local", "cloud metadata"},
		{"fd00:ec2::254", true, false, ok, ""},
		{"100.100.100.200", false, true, "settings.allow_link_local", "cloud metadata"},
		{"::ffff:169.254.169.254", false, true, "settings.allow_link_local", "cloud metadata"},
		{"64:ff9b::a9fe:a9fe", false, true, "settings.allow_link_local", "cloud metadata"}, // NAT64 of 169.254.169.254
		{"127.0.0.1", false, true, ok, ""},
		{"127.0.0.1", false, false, "settings.allow_private", "loopback or private"},
		{"::1", false, false, "settings.allow_private", "loopback or private"},
		{"10.1.2.3", false, false, "settings.allow_private", "loopback or private"},
		{"192.168.1.1", false, false, "settings.allow_private", "loopback or private"},
		{"fd00::2", false, false, "settings.allow_private", "loopback or private"},
		{"100.64.0.1", false, false, "settings.allow_private", "loopback or private"},
		{"10.1.2.3", false, true, ok, ""},
		{"0.0.0.0", true, true, "settings.base_url", "unspecified"},
		{"0.1.2.3", true, true, "settings.base_url", "unspecified"},
		{"::", true, true, "settings.base_url", "unspecified"},
		{"224.0.0.1", true, true, "settings.base_url", "multicast"},
		{"ff02::1", true, true, "settings.base_url", "multicast"},
		{"255.255.255.255", true, true, "settings.base_url", "broadcast"},
	}
	for _, tc := range cases {
		p := addressPolicy{allowLinkLocal: tc.linkLocal, allowPrivate: tc.private}
		err := p.check(netip.MustParseAddr(tc.addr))
		if tc.wantField == ok {
			if err != nil {
				t.Errorf("%s (link-local %v, private %v): %v, want allowed", tc.addr, tc.linkLocal, tc.private, err)
			}
			continue
		}
		ce, isConfig := errors.AsType[*providers.ConfigError](err)
		if !isConfig || ce.Field != tc.wantField || !strings.Contains(ce.Detail, tc.wantDetailMentioning) {
			t.Errorf("%s (link-local %v, private %v): %v, want a ConfigError on %s mentioning %q",
				tc.addr, tc.linkLocal, tc.private, err, tc.wantField, tc.wantDetailMentioning)
		}
	}
}

// TestControlRefusesBeforeConnecting dials the forbidden addresses for real
// through the dialer the client uses: the refusal comes from Control, before
// connect(2), so it is immediate even where nothing would answer.
func TestControlRefusesBeforeConnecting(t *testing.T) {
	t.Parallel()
	d := &net.Dialer{Timeout: 5 * time.Second, Control: addressPolicy{allowPrivate: true}.control}
	for _, addr := range []string{"169.254.169.254:80", "[fe80::1]:80", "[::ffff:169.254.169.254]:80"} {
		start := time.Now()
		conn, err := d.DialContext(context.Background(), "tcp", addr)
		if err == nil {
			conn.Close()
			t.Fatalf("dialing %s: connected, want a refusal", addr)
		}
		ce, ok := errors.AsType[*providers.ConfigError](err)
		if !ok || ce.Field != "settings.allow_link_local" {
			t.Errorf("dialing %s: %v, want a ConfigError on settings.allow_link_local", addr, err)
		}
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Errorf("dialing %s took %s: the refusal must come before connecting", addr, elapsed)
		}
	}
}

// The transport other outgoing clients use (analytics destinations) never
// reaches a metadata service, whatever a URL names, and says so without
// pointing at a setting those clients do not have.
func TestGuardedTransport(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(srv.Close)
	get := func(allowPrivate bool, url string) error {
		c := &http.Client{Timeout: 2 * time.Second, Transport: GuardedTransport(2*time.Second, allowPrivate)}
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	err := get(true, "http://169.254.169.254/latest/meta-data/")
	ce, ok := errors.AsType[*providers.ConfigError](err)
	if !ok || ce.Field != "settings" || !strings.Contains(ce.Detail, "cloud metadata") || strings.Contains(ce.Detail, "allow_link_local") {
		t.Fatalf("metadata service: %v", err)
	}
	if err := get(true, srv.URL); err != nil {
		t.Fatalf("loopback with private allowed: %v", err)
	}
	if err := get(false, srv.URL); err == nil || !strings.Contains(err.Error(), "loopback or private") {
		t.Fatalf("loopback with private refused: %v", err)
	}
}
