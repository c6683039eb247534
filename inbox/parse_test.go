package inbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff"
)

var update = flag.Bool("update", false, "rewrite the golden .json files of testdata/corpus from what Parse returns")

// corpus returns the .eml files of testdata/corpus.
func corpus(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/corpus/*.eml")
	if err != nil || len(files) < 15 {
		t.Fatalf("want at least 15 messages in testdata/corpus, found %d (%v)", len(files), err)
	}
	return files
}

// parseFile parses one message of the corpus with the default rules.
func parseFile(t testing.TB, name string) Parsed {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(raw, Patterns{})
}

// TestParseGolden parses each message of the corpus and compares the
// result, as decoded JSON, with the golden file beside it.
func TestParseGolden(t *testing.T) {
	t.Parallel()
	for _, name := range corpus(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			t.Parallel()
			got, err := json.MarshalIndent(parseFile(t, name), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(name, ".eml") + ".json"
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !reflect.DeepEqual(decoded(t, got), decoded(t, want)) {
				t.Errorf("Parse differs from %s:\n%s", golden, udiff.Unified("want", "got", string(want), string(got)+"\n"))
			}
		})
	}
}

func decoded(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestParseReadsHeadersAndBodies checks what the corpus must show whatever
// the golden files say: decoded headers, charsets, bodies and errors.
func TestParseReadsHeadersAndBodies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file                     string
		from, subject, messageID string
		to                       []string
		textHas, htmlHas         []string
		parseError               string
	}{
		{file: "01-alternative-qp.eml", from: "no-reply@chirp.example", subject: "Your Chirp verification code",
			messageID: "20240514091244.4821@mail.chirp.example", to: []string{"buyer+run42@synthetic.understudy.test"},
			textHas: []string{"Your Chirp verification code is 482913.", "ignore this email — someone"},
			htmlHas: []string{"482913"}},
		{file: "02-html-only-base64.eml", subject: "Verify your email",
			textHas: []string{"Use this code to verify your email address:\n739 104", "© 2024 Shop Inc."}},
		{file: "03-iso-8859-1.eml", subject: "Ihr Bestätigungscode", from: "noreply@konto.example.de",
			textHas: []string{"Ihr Bestätigungscode lautet: 918273", "Musterstraße 12"}},
		{file: "04-shift-jis.eml", subject: "ログイン認証コードのお知らせ", textHas: []string{"ログイン認証コード：583920"}},
		{file: "05-windows-1252.eml", subject: "Tu código de verificación",
			textHas: []string{"Tu código de verificación es 264810.", "“No compartas este código con nadie”", "1299 €"}},
		{file: "13-bad-boundary.eml", parseError: "a multipart body is malformed"},
		{file: "14-truncated-base64.eml", textHas: []string{"Your one-time code is 660431."},
			parseError: "a part's body is damaged or truncated"},
		{file: "15-nested-multipart.eml", textHas: []string{"confirmation code 84C2QX"}, htmlHas: []string{"<strong>84C2QX</strong>"}},
		{file: "20-mbox-dates.eml", from: "securite@mailer.example", subject: "Votre code de vérification",
			to: []string{"buyer@synthetic.understudy.test", "seller@synthetic.understudy.test", "admin@synthetic.understudy.test"}},
		{file: "21-malformed-header.eml", subject: "Your PIN", parseError: "the header is malformed"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			p := parseFile(t, filepath.Join("testdata/corpus", c.file))
			if c.from != "" && p.From != c.from {
				t.Errorf("From = %q, want %q", p.From, c.from)
			}
			if c.subject != "" && p.Subject != c.subject {
				t.Errorf("Subject = %q, want %q", p.Subject, c.subject)
			}
			if c.messageID != "" && p.MessageID != c.messageID {
				t.Errorf("MessageID = %q, want %q", p.MessageID, c.messageID)
			}
			if c.to != nil && !reflect.DeepEqual(p.To, c.to) {
				t.Errorf("To = %q, want %q", p.To, c.to)
			}
			for _, s := range c.textHas {
				if !strings.Contains(p.Text, s) {
					t.Errorf("Text lacks %q:\n%s", s, p.Text)
				}
			}
			for _, s := range c.htmlHas {
				if !strings.Contains(p.HTML, s) {
					t.Errorf("HTML lacks %q:\n%s", s, p.HTML)
				}
			}
			if !strings.Contains(p.ParseError, c.parseError) || (c.parseError == "" && p.ParseError != "") {
				t.Errorf("ParseError = %q, want %q", p.ParseError, c.parseError)
			}
		})
	}
}

// TestParseSkipsAttachments checks that an attachment's text is not read
// as the body, and that the nested alternative's text is.
func TestParseSkipsAttachments(t *testing.T) {
	t.Parallel()
	p := parseFile(t, "testdata/corpus/15-nested-multipart.eml")
	if strings.Contains(p.Text, "999111") || strings.Contains(p.Text, "%PDF") {
		t.Errorf("Text holds an attachment:\n%s", p.Text)
	}
	for _, c := range p.Codes {
		if c.Value == "999111" {
			t.Errorf("a code was read from an attachment: %+v", p.Codes)
		}
	}
}

// TestSanitizedHTML checks that the hostile message's HTML keeps nothing
// that runs, loads or submits, and keeps what is harmless.
func TestSanitizedHTML(t *testing.T) {
	t.Parallel()
	p := parseFile(t, "testdata/corpus/12-hostile-html.eml")
	html := strings.ToLower(p.HTML)
	for _, bad := range []string{"<script", "<iframe", "<object", "<embed", "<form", "<input", "<svg",
		"<video", "<link", "<meta", "<style", "onload", "onerror", "onclick", "javascript:", "url(",
		"srcset", "tracker.example", "evil.example", "background="} {
		if strings.Contains(html, bad) {
			t.Errorf("sanitized HTML holds %q:\n%s", bad, p.HTML)
		}
	}
	for _, good := range []string{`<b>551902</b>`, `src="data:image/png;base64,`, `style="color: red"`,
		`href="https://example.com/help"`, `rel="nofollow noreferrer noopener"`, `target="_blank"`} {
		if !strings.Contains(p.HTML, good) {
			t.Errorf("sanitized HTML lacks %q:\n%s", good, p.HTML)
		}
	}
	if strings.Contains(p.Text, "fetch(") || strings.Contains(p.Text, "alert") {
		t.Errorf("Text holds script:\n%s", p.Text)
	}
}

// TestParseBounds checks the limits on oversized and hostile messages.
func TestParseBounds(t *testing.T) {
	t.Parallel()
	var many bytes.Buffer
	for range 300 {
		many.WriteString("X-Field: value\r\n")
	}
	many.WriteString("X-Long: " + strings.Repeat("a", 10<<10) + "\r\n\r\nbody\r\n")
	p := Parse(many.Bytes(), Patterns{})
	if len(p.Headers) != maxHeaders || !strings.Contains(p.ParseError, "more than 200 fields") {
		t.Errorf("kept %d header fields, error %q", len(p.Headers), p.ParseError)
	}

	big := "Subject: big\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("word ", 3<<20/5)
	p = Parse([]byte(big), Patterns{})
	if len(p.Text) > maxText || len(p.Text) < maxText-8 || !strings.Contains(p.ParseError, "cut at 1 MiB") {
		t.Errorf("Text is %d bytes, error %q", len(p.Text), p.ParseError)
	}

	long := "X-Long: " + strings.Repeat("é", 4<<10) + "\r\n\r\n"
	p = Parse([]byte(long), Patterns{})
	if v := p.Headers[0].Value; len(v) > maxHeaderValue || !utf8.ValidString(v) {
		t.Errorf("a header value is %d bytes (valid UTF-8: %v)", len(v), utf8.ValidString(v))
	}

	var nested strings.Builder
	nested.WriteString("Content-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := range 15 {
		nested.WriteString("--b" + strconv.Itoa(i) + "\r\nContent-Type: multipart/mixed; boundary=b" + strconv.Itoa(i+1) + "\r\n\r\n")
	}
	nested.WriteString("--b15\r\nContent-Type: text/plain\r\n\r\ndeep code 123456\r\n")
	p = Parse([]byte(nested.String()), Patterns{})
	if !strings.Contains(p.ParseError, "deeper than 10") || strings.Contains(p.Text, "deep") {
		t.Errorf("nesting 16 deep: error %q, text %q", p.ParseError, p.Text)
	}

	var parts strings.Builder
	parts.WriteString("Content-Type: multipart/mixed; boundary=p\r\n\r\n")
	for range 150 {
		parts.WriteString("--p\r\nContent-Type: text/plain\r\n\r\npart\r\n")
	}
	parts.WriteString("--p--\r\n")
	p = Parse([]byte(parts.String()), Patterns{})
	if !strings.Contains(p.ParseError, "more than 100 parts") || strings.Count(p.Text, "part") != maxParts {
		t.Errorf("150 parts: error %q, %d parts read", p.ParseError, strings.Count(p.Text, "part"))
	}
}

// TestParseNeverQuotesTheMessage checks that ParseError says what went
// wrong without repeating what the message holds.
func TestParseNeverQuotesTheMessage(t *testing.T) {
	t.Parallel()
	raw := "Subject: x\r\nsecret-482913 no colon here\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\nsecret-482913\r\n"
	p := Parse([]byte(raw), Patterns{})
	if p.ParseError == "" || strings.Contains(p.ParseError, "secret") {
		t.Errorf("ParseError = %q", p.ParseError)
	}
}

// FuzzParse checks that no input makes Parse panic or break its bounds.
func FuzzParse(f *testing.F) {
	for _, name := range corpus(f) {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := Parse(raw, Patterns{})
		if p.ParseError == panicked {
			t.Fatal("Parse panicked")
		}
		checkBounds(t, p)
	})
}

// checkBounds fails when a Parsed breaks a bound Parse promises.
func checkBounds(t *testing.T, p Parsed) {
	t.Helper()
	if len(p.Text) > maxText || len(p.HTML) > maxHTML || len(p.Headers) > maxHeaders ||
		len(p.Codes) > maxCodes || len(p.Links) > maxLinks || len(p.To) > maxAddresses {
		t.Fatalf("bounds broken: text %d, html %d, headers %d, codes %d, links %d, to %d",
			len(p.Text), len(p.HTML), len(p.Headers), len(p.Codes), len(p.Links), len(p.To))
	}
	strs := []string{p.MessageID, p.From, p.Subject, p.Text, p.HTML, p.ParseError}
	strs = append(strs, p.To...)
	for _, h := range p.Headers {
		if len(h.Name) > maxHeaderName || len(h.Value) > maxHeaderValue {
			t.Fatalf("header field over its bound: %d, %d bytes", len(h.Name), len(h.Value))
		}
		strs = append(strs, h.Name, h.Value)
	}
	for _, c := range p.Codes {
		strs = append(strs, c.Value, c.Source)
	}
	for _, l := range p.Links {
		if len(l.URL) > maxLinkLen || len(l.Target) > maxLinkLen {
			t.Fatalf("link over its bound: %d, %d bytes", len(l.URL), len(l.Target))
		}
		strs = append(strs, l.URL, l.Target, l.Kind)
	}
	for _, s := range strs {
		if !utf8.ValidString(s) || strings.Contains(s, "\x00") {
			t.Fatalf("not valid UTF-8 without NUL: %q", s)
		}
	}
	if lower := strings.ToLower(p.HTML); strings.Contains(lower, "<script") || strings.Contains(lower, "<iframe") {
		t.Fatalf("sanitized HTML holds a script or frame")
	}
	if _, err := json.Marshal(p); err != nil {
		t.Fatalf("Parsed does not marshal: %v", err)
	}
}

// typicalMessage is a 20 KB multipart/alternative sign-in mail: a code, a
// few links, a footer, quoted-printable HTML with inline styles.
func typicalMessage() []byte {
	var text, html strings.Builder
	text.WriteString("Hi Dana,\n\nYour Chirp verification code is 482913.\n\n")
	html.WriteString(`<html><body style="font-family:Helvetica"><table width="600"><tr><td>` +
		`<p>Your Chirp verification code is <b style="font-size:28px">482913</b>.</p>`)
	for i := 0; text.Len()+html.Len() < 18<<10; i++ {
		n := strconv.Itoa(i)
		text.WriteString("Tip " + n + ": follow people you know to fill your feed. https://chirp.example/tips/" + n + "\n")
		html.WriteString(`<tr><td style="padding:8px;color:#555555">Tip ` + n +
			`: follow people you know to fill your feed. <a href="https://u1.ct.sendgrid.net/ls/click?upn=` + n + `">Read more</a></td></tr>`)
	}
	html.WriteString(`</table><p style="font-size:11px">© 2024 Chirp, 548 Market St, San Francisco, CA 94104</p></body></html>`)
	return mimeMessage(text.String(), html.String(), 0)
}

// largeMessage is a 10 MiB message: 3 MiB of text, 3 MiB of HTML and a
// 4 MiB attachment, each over what Parse keeps.
func largeMessage() []byte {
	para := "Lorem ipsum dolor sit amet, code 482913, consectetur adipiscing elit. https://chirp.example/a?b=c\n"
	text := strings.Repeat(para, 3<<20/len(para))
	html := strings.Repeat("<p style=\"color:#333333\">"+para+"<a href=\"https://chirp.example/x\">x</a></p>\n", 3<<20/(len(para)+70))
	return mimeMessage(text, html, 4<<20)
}

// mimeMessage builds a multipart message of a text, an HTML body and an
// attachment of attach bytes.
func mimeMessage(text, html string, attach int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Chirp <no-reply@chirp.example>\r\nTo: buyer@synthetic.understudy.test\r\n" +
		"Subject: Your code\r\nMessage-ID: <bench@chirp.example>\r\nDate: Tue, 14 May 2024 11:12:43 +0200\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n" +
		"--outer\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n" +
		"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n" +
		"--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(html))
	w.Close()
	b.WriteString("\r\n--alt--\r\n")
	if attach > 0 {
		b.WriteString("--outer\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n" +
			"Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n")
		enc := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x25, 0x50, 0x44, 0x46}, attach/4*3/4))
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--outer--\r\n")
	return b.Bytes()
}

// BenchmarkParse parses a typical 20 KB message and a 10 MiB one.
func BenchmarkParse(b *testing.B) {
	for _, c := range []struct {
		name string
		raw  []byte
	}{{"20KB", typicalMessage()}, {"10MiB", largeMessage()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.raw)))
			for b.Loop() {
				Parse(c.raw, Patterns{})
			}
		})
	}
}

// TestParseMemory checks that a 10 MiB message costs a small multiple of
// its size in allocations: the mixed message of BenchmarkParse, and HTML
// made only of styled tags, the costliest to sanitize. It is not parallel,
// so that no other test's allocations are counted.
func TestParseMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector multiplies allocations")
	}
	tags := `<p style="color:red;font-size:20px" title="x"><a href="https://a.example/x?y=1">z</a></p>`
	for _, c := range []struct {
		name     string
		raw      []byte
		multiple float64
	}{
		{"mixed", largeMessage(), 10},
		{"styled tags", []byte("Content-Type: text/html\r\n\r\n" + strings.Repeat(tags, 10<<20/len(tags))), 16},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		Parse(c.raw, Patterns{})
		runtime.ReadMemStats(&after)
		if got := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(c.raw)); got > c.multiple {
			t.Errorf("%s: parsing %d bytes allocated %.1f times as much, want at most %.0f", c.name, len(c.raw), got, c.multiple)
		}
	}
}

// TestParseHostileShapes parses messages shaped to make a parser work
// hard (deep or unbalanced HTML, endless keywords, parts, headers, a
// boundary never found) and checks each stays within its bounds.
func TestParseHostileShapes(t *testing.T) {
	t.Parallel()
	html := "Content-Type: text/html\r\n\r\n"
	text := "Content-Type: text/plain\r\n\r\n"
	shapes := map[string]string{
		"pre then blocks": html + "<pre>" + strings.Repeat("\n", 1<<20) + "</pre>" + strings.Repeat("<p>", 100000),
		"unmatched ends":  html + strings.Repeat("<div>", 600) + strings.Repeat("</x></b>", 100000),
		"deep elements":   html + strings.Repeat("<div><b>", 100000),
		"keywords":        text + strings.Repeat("code ", 1<<20),
		"spaced digits":   text + strings.Repeat("1 ", 1<<20),
		"codes":           text + strings.Repeat("code 482913 ", 1<<18),
		"redirects":       text + strings.Repeat("https://a.example/?url=https://b.example/x ", 50000),
		"addresses":       "To: " + strings.Repeat("a@b.example, ", 18000) + "\r\n\r\nx",
		"encoded words":   "Subject: " + strings.Repeat("=?utf-8?q?abc?= ", 15000) + "\r\n\r\nx",
		"parts":           "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n\r\nx\r\n", 100000),
		"no boundary":     "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("-", 4<<20),
	}
	for name, raw := range shapes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := Parse([]byte(raw), Patterns{})
			if p.ParseError == panicked {
				t.Fatal("Parse panicked")
			}
			checkBounds(t, p)
		})
	}
}
