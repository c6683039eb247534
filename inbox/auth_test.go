package inbox

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

// fakeDNS answers TXT questions from a map and says "not found" to
// everything else; with hang set, it answers nothing until ctx ends. No
// test asks real DNS.
type fakeDNS struct {
	txt  map[string][]string
	hang bool
}

var _ Resolver = fakeDNS{}

func dnsNotFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (f fakeDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if f.hang {
		<-ctx.Done()
		return nil, &net.DNSError{Err: "i/o timeout", Name: name, IsTimeout: true, IsTemporary: true}
	}
	if v, ok := f.txt[strings.TrimSuffix(strings.ToLower(name), ".")]; ok {
		return v, nil
	}
	return nil, dnsNotFound(name)
}

func (f fakeDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	return nil, dnsNotFound(name)
}

func (f fakeDNS) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	return nil, dnsNotFound(host)
}

func (f fakeDNS) LookupAddr(_ context.Context, addr string) ([]string, error) {
	return nil, dnsNotFound(addr)
}

// signedMessage signs a message from From's domain with a fresh ed25519
// key, and returns it with the key's DNS record.
func signedMessage(t testing.TB, domain, from, body string) ([]byte, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	msg := rfc822Message(from, "buyer-1@qa.example.test", "Your code", body)
	if err := dkim.Sign(&out, strings.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: "s1", Signer: priv}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
}

func TestSenderChecks(t *testing.T) {
	t.Parallel()
	raw, key := signedMessage(t, "app.sender.test", "App <noreply@app.sender.test>", "Your code is 123456.")
	tampered := bytes.Replace(raw, []byte("123456"), []byte("654321"), 1)
	plain := []byte(rfc822Message("App <noreply@app.sender.test>", "buyer-1@qa.example.test", "Your code", "Your code is 123456."))
	otherFrom, otherKey := signedMessage(t, "mailer.example.net", "App <noreply@app.sender.test>", "hi")
	dns := fakeDNS{txt: map[string][]string{
		"s1._domainkey.app.sender.test":    {key},
		"s1._domainkey.mailer.example.net": {otherKey},
		"app.sender.test":                  {"v=spf1 ip4:192.0.2.10 -all"},
		"bounces.sender.test":              {"v=spf1 ip4:198.51.100.0/24 ~all"},
		"_dmarc.app.sender.test":           {"v=DMARC1; p=reject; adkim=s"},
		"_dmarc.sender.test":               {"v=DMARC1; p=quarantine"},
	}}
	pass, fail := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("203.0.113.9")
	for _, tc := range []struct {
		name  string
		raw   []byte
		env   envelope
		want  AuthResults
		about string // in Explanation
	}{
		{"signed and sent from an allowed address", raw, envelope{pass, "out.sender.test", "noreply@app.sender.test"},
			AuthResults{SPF: "pass", DKIM: "pass", DMARC: "pass"}, ""},
		{"a body altered after signing", tampered, envelope{pass, "out.sender.test", "noreply@app.sender.test"},
			AuthResults{SPF: "pass", DKIM: "fail", DMARC: "pass"}, "body hash did not verify"},
		{"no signature, a sender address SPF refuses", plain, envelope{fail, "out.sender.test", "noreply@app.sender.test"},
			AuthResults{SPF: "fail", DKIM: "none", DMARC: "fail"}, "p=reject"},
		{"a signature of an unaligned domain", otherFrom, envelope{fail, "out.sender.test", "noreply@app.sender.test"},
			AuthResults{SPF: "fail", DKIM: "pass", DMARC: "fail"}, "no SPF or DKIM pass aligned"},
		{"SPF pass for a relaxed-aligned bounce domain", plain, envelope{netip.MustParseAddr("198.51.100.7"), "out.sender.test", "b@bounces.sender.test"},
			AuthResults{SPF: "pass", DKIM: "none", DMARC: "pass"}, ""}, // aspf is relaxed: both are under sender.test
		{"a domain with no records", []byte(rfc822Message("x@nowhere.test", "b@qa.example.test", "s", "b")), envelope{pass, "h.nowhere.test", "x@nowhere.test"},
			AuthResults{SPF: "none", DKIM: "none", DMARC: "none"}, ""},
		{"a bounce checks the EHLO name", plain, envelope{pass, "app.sender.test", ""},
			AuthResults{SPF: "pass", DKIM: "none", DMARC: "pass"}, ""},
	} {
		got := senderChecks{resolver: dns, timeout: time.Second}.check(context.Background(), tc.raw, tc.env)
		if got.SPF != tc.want.SPF || got.DKIM != tc.want.DKIM || got.DMARC != tc.want.DMARC {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
		if !strings.Contains(got.Explanation, tc.about) {
			t.Errorf("%s: explanation %q does not say %q", tc.name, got.Explanation, tc.about)
		}
	}
}

// The checks of one message end within CheckTimeout however slow DNS is,
// and say temperror.
func TestSenderChecksAreBoundedInTime(t *testing.T) {
	t.Parallel()
	raw, _ := signedMessage(t, "app.sender.test", "noreply@app.sender.test", "hi")
	start := time.Now()
	got := senderChecks{resolver: fakeDNS{hang: true}, timeout: 100 * time.Millisecond}.check(context.Background(), raw,
		envelope{netip.MustParseAddr("192.0.2.10"), "out.sender.test", "noreply@app.sender.test"})
	if d := time.Since(start); d > time.Second {
		t.Fatalf("checks took %v", d)
	}
	if got.SPF != "temperror" || got.DKIM != "temperror" || got.DMARC != "temperror" {
		t.Fatalf("got %+v", got)
	}
}

// Only the first maxDKIMSignatures signatures are verified.
func TestSenderChecksBoundDKIMSignatures(t *testing.T) {
	t.Parallel()
	raw, key := signedMessage(t, "app.sender.test", "noreply@app.sender.test", "hi")
	i := bytes.Index(raw, []byte("\r\nFrom: "))
	sig := raw[:i+2] // the DKIM-Signature field, folded
	var lookups atomic.Int64
	dns := countingDNS{fakeDNS: fakeDNS{txt: map[string][]string{"s1._domainkey.app.sender.test": {key}}}, n: &lookups}
	many := append(bytes.Repeat(sig, 50), raw[len(sig):]...)
	got := senderChecks{resolver: dns, timeout: time.Second}.check(context.Background(), many, envelope{})
	if got.DKIM != "pass" || lookups.Load() != maxDKIMSignatures {
		t.Fatalf("50 signatures: %+v after %d lookups", got, lookups.Load())
	}
}

type countingDNS struct {
	fakeDNS
	n *atomic.Int64
}

func (c countingDNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if strings.Contains(name, "._domainkey.") {
		c.n.Add(1)
	}
	return c.fakeDNS.LookupTXT(ctx, name)
}

// Through SMTP, the results reach Delivery.Auth; with the checks off
// nothing is asked.
func TestSMTPRecordsSenderChecks(t *testing.T) {
	t.Parallel()
	raw, key := signedMessage(t, "app.sender.test", "App <noreply@app.sender.test>", "Your code is 123456.")
	dns := fakeDNS{txt: map[string][]string{
		"s1._domainkey.app.sender.test": {key},
		"app.sender.test":               {"v=spf1 ip4:127.0.0.1 -all"},
		"_dmarc.app.sender.test":        {"v=DMARC1; p=none"},
	}}
	r := newMemReceiver("buyer-1@qa.example.test")
	_, addr := startSMTP(t, SMTPConfig{CheckSenders: new(true), Resolver: dns}, r)
	c := dialSMTP(t, addr)
	c.expect("250", "EHLO out.sender.test")
	c.expect("250", "MAIL FROM:<noreply@app.sender.test>")
	c.expect("250", "RCPT TO:<buyer-1@qa.example.test>")
	if code, msg := c.data(string(raw)); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	_, ds := r.snapshot()
	if len(ds) != 1 || ds[0].Auth != (AuthResults{SPF: "pass", DKIM: "pass", DMARC: "pass"}) {
		t.Fatalf("deliveries = %+v", ds)
	}
}
