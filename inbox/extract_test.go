package inbox

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestCorpusCodesAndLinks states, for each message of the corpus, the code
// and the link a test would take (the first of each), so that a golden
// file rewritten with a worse answer still fails.
func TestCorpusCodesAndLinks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file     string
		code     string // "" when the message must have no code
		linkKind string // "" when the message must have no link
		link     string // the first link's URL or Target holds this
	}{
		{file: "01-alternative-qp.eml", code: "482913"},
		{file: "02-html-only-base64.eml", code: "739104"},
		{file: "03-iso-8859-1.eml", code: "918273"},
		{file: "04-shift-jis.eml", code: "583920"},
		{file: "05-windows-1252.eml", code: "264810"},
		{file: "06-split-code.eml", code: "482913"},
		{file: "07-subject-only.eml", code: "650114"},
		{file: "08-sendgrid-tracking.eml", linkKind: "verification", link: "u8123456.ct.sendgrid.net/ls/click?upn=u001.Zk3a9Xq7"},
		{file: "09-newsletter-no-code.eml", linkKind: "other", link: "list-manage.com/track/click"},
		{file: "10-ses-magic-link.eml", linkKind: "magic", link: "https://app.notes.example/auth/magic?token=mL9xQ2vR7tY4wE1a"},
		{file: "11-magic-link-token.eml", linkKind: "magic", link: "https://chirp.example/login/magic?token=Zx81KpQr2mTt0vWw&next=%2Fhome"},
		{file: "12-hostile-html.eml", code: "551902", linkKind: "other", link: "https://example.com/help"},
		{file: "13-bad-boundary.eml", code: "302119"},
		{file: "14-truncated-base64.eml", code: "660431"},
		{file: "15-nested-multipart.eml", code: "84C2QX", linkKind: "verification", link: "https://billing.example/email/confirm?id=7781&sig=ab12cd"},
		{file: "16-eight-digit.eml", code: "48291637"},
		{file: "17-alphanumeric.eml", code: "A7K9Q2"},
		{file: "18-code-boxes.eml", code: "309518"},
		{file: "19-http-only.eml", linkKind: "verification", link: "http://staging.chirp.test:8080/account/activate?token=st4g1ng"},
		{file: "20-mbox-dates.eml", code: "713604"},
		{file: "21-malformed-header.eml", code: "4821"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			p := parseFile(t, filepath.Join("testdata/corpus", c.file))
			switch {
			case c.code == "" && len(p.Codes) > 0:
				t.Errorf("codes %+v, want none", p.Codes)
			case c.code != "" && (len(p.Codes) == 0 || p.Codes[0].Value != c.code):
				t.Errorf("codes %+v, want %s first", p.Codes, c.code)
			}
			switch {
			case c.linkKind == "" && len(p.Links) > 0:
				t.Errorf("links %+v, want none", p.Links)
			case c.linkKind != "" && len(p.Links) == 0:
				t.Errorf("no links, want a %s link", c.linkKind)
			case c.linkKind != "":
				l := p.Links[0]
				if l.Kind != c.linkKind || !strings.Contains(l.URL+" "+l.Target, c.link) {
					t.Errorf("first link %+v, want a %s link to %s", l, c.linkKind, c.link)
				}
			}
		})
	}
}

// TestCodes checks the code rules on short texts: what is a code, how it
// is joined, and what only looks like one.
func TestCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, subject, text string
		want                []string // codes, best first
	}{
		{name: "plain", text: "Your verification code is 482913.", want: []string{"482913"}},
		{name: "keyword after", text: "482913 is your Chirp code", want: []string{"482913"}},
		{name: "own line", text: "Use this code to sign in:\n\n  730021\n\nIt expires soon.", want: []string{"730021"}},
		{name: "dash split", text: "Your login code: 4829-1377", want: []string{"48291377"}},
		{name: "space split alphanumeric", text: "Your code: A7K 9Q2", want: []string{"A7K9Q2"}},
		{name: "spaced digits", text: "Your code is 4 8 2 9 1 3", want: []string{"482913"}},
		{name: "four digit PIN", text: "Your PIN: 4821", want: []string{"4821"}},
		{name: "subject first", subject: "Your code is 111222", text: "Code: 333444", want: []string{"111222", "333444"}},
		{name: "German", text: "Ihr Sicherheitscode: 553201", want: []string{"553201"}},
		{name: "Spanish", text: "Tu código es 553201", want: []string{"553201"}},
		{name: "Chinese", text: "您的验证码是 553201", want: []string{"553201"}},
		{name: "no keyword", text: "Meet me at gate 4821 at noon.", want: nil},
		{name: "year", text: "Verify your account.\n\n© 2024 Acme Inc.", want: nil},
		{name: "price", text: "Confirm your order of $1299 or 1299 € or 1299 USD.", want: nil},
		{name: "decimal price", text: "Confirm the payment of 1.299,00 today.", want: nil},
		{name: "phone", text: "Verify it was you, or call +1 415 555 0134.", want: nil},
		{name: "phone dashed", text: "Confirm it was you, or call 415-555-0134.", want: nil},
		{name: "time and date", text: "Sign-in at 10:30 on 2024-05-01 from 12/05/2024.", want: nil},
		{name: "order number", text: "Confirm your order #88120045.", want: nil},
		{name: "order word", text: "Confirm your order 88120045.", want: nil},
		{name: "promo code", text: "Use promo code SPRING24 at checkout.", want: nil},
		{name: "zip code", text: "Confirm your address: 1200 Pine St, Seattle, WA 98101", want: nil},
		{name: "postcode", text: "Bestätigung: Musterstraße 12, 10115 Berlin", want: nil},
		{name: "url", text: "Verify at https://app.example/verify/482913 or www.example.com/482913", want: nil},
		{name: "email address", text: "Confirm 482913@example.com", want: nil},
		{name: "hex colour", text: "Verify: color #A0B1C2", want: nil},
		{name: "lowercase word", text: "Verify your abc123 account", want: nil},
		{name: "glued to a word", text: "Verify Größe2024x", want: nil},
		{name: "percent", text: "Confirm: 2025% more", want: nil},
		{name: "barcode", text: "Scan the barcode 48291377 at the till", want: nil},
		{name: "long number", text: "Your verification code is 12345678901", want: nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := values(findCodes(c.subject, c.text, htmlDoc{}, nil))
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("codes of %q = %q, want %q", c.text, got, c.want)
			}
		})
	}
}

func values(codes []Code) []string {
	var out []string
	for _, c := range codes {
		out = append(out, c.Value)
	}
	return out
}

// TestCodesEmphasis checks that an emphasized code of the HTML outranks
// one that is not, at the same distance from its keyword.
func TestCodesEmphasis(t *testing.T) {
	t.Parallel()
	doc := renderHTML(`<p>Old code: 111111</p><p>New code: <strong>222222</strong></p>`)
	got := findCodes("", "", doc, nil)
	if len(got) != 2 || got[0].Value != "222222" || got[0].Source != "html" || got[0].Score <= got[1].Score {
		t.Errorf("codes = %+v, want 222222 first", got)
	}
}

// TestCodePattern checks that a role's own pattern ranks first, by its
// first group when it has one, and that the default rules still follow.
func TestCodePattern(t *testing.T) {
	t.Parallel()
	text := "Your verification code is 482913.\nReference: ref-ab12-cd34"
	got := findCodes("", text, htmlDoc{}, regexp.MustCompile(`ref-([a-z0-9-]+)`))
	if len(got) != 2 || got[0].Value != "ab12-cd34" || got[0].Score < patternScore || got[1].Value != "482913" {
		t.Errorf("codes = %+v, want ab12-cd34 then 482913", got)
	}
	got = findCodes("Login: zz-99", "", htmlDoc{}, regexp.MustCompile(`zz-\d+`))
	if len(got) != 1 || got[0].Value != "zz-99" || got[0].Source != "subject" {
		t.Errorf("codes = %+v, want zz-99 from the subject", got)
	}
}

// TestCodesBounded checks that a text full of codes gives at most
// maxCodes of them.
func TestCodesBounded(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 500 {
		b.WriteString("code " + strconv.Itoa(100000+i) + "\n")
	}
	if got := findCodes("", b.String(), htmlDoc{}, nil); len(got) != maxCodes {
		t.Errorf("%d codes, want %d", len(got), maxCodes)
	}
}

// TestLinks checks the kinds, the trackers and the order of links.
func TestLinks(t *testing.T) {
	t.Parallel()
	ses := "https://abc.r.eu-west-1.awstrack.me/L0/https:%2F%2Fapp.example%2Fverify%3Ftoken%3Dt1/1/0102-000000/x=1"
	doc := renderHTML(`<a href="https://app.example/about">About</a>
		<a href="https://news.example/unsubscribe?id=1">Unsubscribe</a>
		<a href="https://email.mg.app.example/c/eJyLjg">Sign in</a>
		<a href="` + ses + `">Verify</a>
		<a href="https://click.app.example/r?url=https%3A%2F%2Fapp.example%2Fpricing">Pricing</a>
		<a href="https://app.example/auth/magic?token=t2&redirect=https%3A%2F%2Fapp.example%2Fhome">Continue</a>
		<a href="http://app.example/insecure">Insecure</a>
		<a href="mailto:help@app.example">Mail us</a>`)
	got := findLinks("", doc, "<https://news.example/list-unsub?id=1>", nil)
	want := []struct{ kind, url, target string }{
		{"verification", ses, "https://app.example/verify?token=t1"},
		{"magic", "https://email.mg.app.example/c/eJyLjg", ""},
		{"magic", "https://app.example/auth/magic?token=t2&redirect=https%3A%2F%2Fapp.example%2Fhome", ""},
		{"other", "https://app.example/about", ""},
		{"other", "https://click.app.example/r?url=https%3A%2F%2Fapp.example%2Fpricing", "https://app.example/pricing"},
		{"unsubscribe", "https://news.example/unsubscribe?id=1", ""},
		{"unsubscribe", "https://news.example/list-unsub?id=1", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("links = %+v, want %d", got, len(want))
	}
	for i, w := range want {
		l := got[i]
		if l.Kind != w.kind || l.URL != w.url || l.Target != w.target || l.Tracking != (strings.Contains(w.url, "awstrack") || strings.Contains(w.url, "/c/") || w.target != "") {
			t.Errorf("link %d = %+v, want %+v", i, l, w)
		}
	}
}

// TestLinksHTTPOnlyWithoutHTTPS checks that http links are dropped when
// the message has an https one, and kept when it has none.
func TestLinksHTTPOnlyWithoutHTTPS(t *testing.T) {
	t.Parallel()
	mixed := findLinks("see http://a.example/x and https://b.example/y.", htmlDoc{}, "", nil)
	if len(mixed) != 1 || mixed[0].URL != "https://b.example/y" {
		t.Errorf("links = %+v, want the https one alone", mixed)
	}
	plain := findLinks("see http://a.example/x, (http://a.example/y).", htmlDoc{}, "", nil)
	if len(plain) != 2 || plain[0].URL != "http://a.example/x" || plain[1].URL != "http://a.example/y" {
		t.Errorf("links = %+v, want both http ones", plain)
	}
}

// TestLinkPattern checks that a role's own link pattern ranks first,
// matching the URL or the tracker's target.
func TestLinkPattern(t *testing.T) {
	t.Parallel()
	text := "Verify: https://app.example/verify?t=1\nReset: https://t.example/r?url=https%3A%2F%2Fapp.example%2Freset%3Ft%3D2"
	got := findLinks(text, htmlDoc{}, "", regexp.MustCompile(`/reset\?`))
	if len(got) != 2 || got[0].Target != "https://app.example/reset?t=2" || got[0].Score < patternScore {
		t.Errorf("links = %+v, want the reset link first", got)
	}
}

// TestLinksBounded checks that a text of many links gives at most maxLinks.
func TestLinksBounded(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 2000 {
		b.WriteString("https://app.example/" + strings.Repeat("x", i%50) + "/" + string(rune('a'+i%26)) + " ")
	}
	if got := findLinks(b.String(), htmlDoc{}, "", nil); len(got) != maxLinks {
		t.Errorf("%d links, want %d", len(got), maxLinks)
	}
}
