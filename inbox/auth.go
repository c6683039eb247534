package inbox

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/mail"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"
)

// Resolver answers the DNS questions of sender authentication: TXT records
// for DKIM keys, DMARC policies and SPF records, and the MX, address and
// reverse lookups an SPF record may ask for. *net.Resolver is one; tests
// answer from a map.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

var (
	_ Resolver        = (*net.Resolver)(nil)
	_ spf.DNSResolver = Resolver(nil)
)

// maxDKIMSignatures bounds the DKIM signatures verified per message (each
// costs a DNS lookup and a hash of the body); the rest are ignored.
const maxDKIMSignatures = 5

// maxExplanation bounds AuthResults.Explanation.
const maxExplanation = 500

// senderChecks runs SPF, DKIM and DMARC for one message. It records what it
// finds and rejects nothing: a synthetic account's mail comes from the app
// under test, whose DNS may well be unfinished.
type senderChecks struct {
	resolver Resolver
	timeout  time.Duration
}

// envelope is what the SMTP conversation told about a message.
type envelope struct {
	client netip.Addr
	helo   string
	from   string
}

// check returns the results for raw, all its DNS lookups done within
// c.timeout together.
func (c senderChecks) check(ctx context.Context, raw []byte, env envelope) AuthResults {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var why []string
	spfResult, spfDomain, err := c.spf(ctx, env)
	if err != nil {
		why = append(why, "spf: "+err.Error())
	}
	dkimResult, dkimDomains, err := c.dkim(ctx, raw)
	if err != nil {
		why = append(why, err.Error())
	}
	aligned := alignment{spf: spfResult == string(spf.Pass), spfDomain: spfDomain, dkimDomains: dkimDomains}
	dmarcResult, err := c.dmarc(ctx, raw, aligned)
	if err != nil {
		why = append(why, err.Error())
	}
	return AuthResults{SPF: spfResult, DKIM: dkimResult, DMARC: dmarcResult, Explanation: bounded(strings.Join(why, "; "), maxExplanation)}
}

// spf checks the client's address against the envelope sender's domain (the
// EHLO name's for a bounce), and returns the domain it checked.
func (c senderChecks) spf(ctx context.Context, env envelope) (string, string, error) {
	domain := env.helo
	if _, d, ok := strings.Cut(env.from, "@"); ok {
		domain = d
	}
	if !env.client.IsValid() || domain == "" {
		return string(spf.None), domain, nil
	}
	ip := net.IP(env.client.AsSlice())
	res, err := spf.CheckHostWithSender(ip, env.helo, env.from, spf.WithContext(ctx), spf.WithResolver(c.resolver))
	if res == spf.Pass || res == spf.Fail || res == spf.SoftFail || res == spf.Neutral {
		err = nil // the library explains a match with an error ("matched ip")
	}
	return string(res), domain, err
}

// dkim verifies at most maxDKIMSignatures signatures and returns the
// domains whose signature verified.
func (c senderChecks) dkim(ctx context.Context, raw []byte) (string, []string, error) {
	lookup := func(name string) ([]string, error) { return c.resolver.LookupTXT(ctx, name) }
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: maxDKIMSignatures})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		return "permerror", nil, err
	}
	if len(verifs) == 0 {
		return "none", nil, nil
	}
	var passed []string
	var temp, perm int
	var last error
	for _, v := range verifs {
		switch {
		case v.Err == nil:
			passed = append(passed, v.Domain)
		case dkim.IsTempFail(v.Err):
			temp++
			last = v.Err
		case dkim.IsPermFail(v.Err):
			perm++
			last = v.Err
		default:
			last = v.Err
		}
	}
	switch {
	case len(passed) > 0:
		return "pass", passed, nil
	case temp+perm < len(verifs):
		return "fail", nil, last // a signature that does not verify
	case temp > 0:
		return "temperror", nil, last
	default:
		return "permerror", nil, last
	}
}

// alignment is what DMARC compares with the From domain.
type alignment struct {
	spf         bool
	spfDomain   string
	dkimDomains []string
}

// dmarc looks up the policy of the From domain (or of its organizational
// domain) and reports pass when SPF or DKIM passed for an aligned domain.
func (c senderChecks) dmarc(ctx context.Context, raw []byte, a alignment) (string, error) {
	from, err := fromDomain(raw)
	if err != nil {
		return "permerror", err
	}
	rec, err := c.policy(ctx, from)
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy):
		return "none", nil
	case dmarc.IsTempFail(err):
		return "temperror", err
	case err != nil:
		return "permerror", err
	}
	if a.spf && aligned(a.spfDomain, from, rec.SPFAlignment) {
		return "pass", nil
	}
	for _, d := range a.dkimDomains {
		if aligned(d, from, rec.DKIMAlignment) {
			return "pass", nil
		}
	}
	return "fail", errors.New("dmarc: no SPF or DKIM pass aligned with " + from + " (p=" + string(rec.Policy) + ")")
}

// policy finds the DMARC record of domain, falling back to its
// organizational domain's (RFC 7489 section 6.6.3).
func (c senderChecks) policy(ctx context.Context, domain string) (*dmarc.Record, error) {
	opts := &dmarc.LookupOptions{LookupTXT: func(name string) ([]string, error) { return c.resolver.LookupTXT(ctx, name) }}
	rec, err := dmarc.LookupWithOptions(domain, opts)
	if !errors.Is(err, dmarc.ErrNoPolicy) {
		return rec, err
	}
	if org := orgDomain(domain); org != domain {
		return dmarc.LookupWithOptions(org, opts)
	}
	return nil, err
}

// fromDomain is the one domain of the message's From addresses.
func fromDomain(raw []byte) (string, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", errors.New("dmarc: the header cannot be read")
	}
	addrs, err := msg.Header.AddressList("From")
	if err != nil || len(addrs) == 0 {
		return "", errors.New("dmarc: no readable From address")
	}
	var domain string
	for _, a := range addrs {
		_, d, _ := strings.Cut(a.Address, "@")
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if domain != "" && d != domain {
			return "", errors.New("dmarc: From names more than one domain")
		}
		domain = d
	}
	if domain == "" {
		return "", errors.New("dmarc: the From address has no domain")
	}
	return domain, nil
}

// aligned reports whether an authenticated domain is aligned with the From
// domain: the same name in strict mode, the same organizational domain in
// relaxed mode.
func aligned(domain, from string, mode dmarc.AlignmentMode) bool {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if domain == "" {
		return false
	}
	if mode == dmarc.AlignmentStrict {
		return domain == from
	}
	return orgDomain(domain) == orgDomain(from)
}

// orgDomain is the registrable part of a domain (example.com for
// mail.example.com), or the domain itself when it has none.
func orgDomain(domain string) string {
	if org, err := publicsuffix.EffectiveTLDPlusOne(domain); err == nil {
		return org
	}
	return domain
}

// bounded cuts s to at most n bytes, on a rune boundary.
func bounded(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
