package inbox

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
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
}
