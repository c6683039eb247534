package inbox

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestReviewRedactPatternCodeWithSeparator(t *testing.T) {
	raw := []byte("From: app@example.com\r\nTo: b@qa.example.test\r\nSubject: Your code is AB-CD-EF\r\n\r\nHello\r\n")
	p := Parse(raw, Patterns{Code: regexp.MustCompile(`code is ([A-Z]{2}-[A-Z]{2}-[A-Z]{2})`)})
	t.Logf("codes %+v", p.Codes)
	t.Logf("redacted subject: %q", redact(p.Subject, p.Codes))
	p = Parse([]byte("From: a@example.com\r\nSubject: Your code is 12 34AB\r\n\r\nx\r\n"), Patterns{Code: regexp.MustCompile(`code is (\d\d \d\dAB)`)})
	t.Logf("codes %+v redacted %q", p.Codes, redact(p.Subject, p.Codes))
	t.Logf("kelvin: %q", redactCode("code \u212a7Q", "k7q"))
}

func TestReviewRenderSelfClosingScript(t *testing.T) {
	h := `<p>Hello</p><script/>var code = "Your verification code: 771942";</script><p>bye</p>`
	doc := renderHTML(h)
	t.Logf("render text: %q", doc.text)
	t.Logf("sanitized: %q", shownHTML(h))
	raw := "From: app@example.com\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n" + h + "\r\n"
	p := Parse([]byte(raw), Patterns{})
	t.Logf("codes: %+v text %q", p.Codes, p.Text)
	h2 := `<svg><style/>Your verification code: 553311</style></svg><p>x</p>`
	p = Parse([]byte("From: app@example.com\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n"+h2+"\r\n"), Patterns{})
	t.Logf("svg style codes: %+v text %q html %q", p.Codes, p.Text, p.HTML)
	h3 := `<p>Your verification code:</p><textarea>998877</textarea><select><option>445566</option></select>`
	p = Parse([]byte("From: app@example.com\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n"+h3+"\r\n"), Patterns{})
	t.Logf("textarea codes: %+v html %q", p.Codes, p.HTML)
}

func TestReviewReadCost(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: app@example.com\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n")
	for b.Len() < 2<<20-200 {
		b.WriteString(`<span style="color:red;font-size:12px;font-family:a,b,c;padding:1px 2px 3px 4px;line-height:1">x</span>`)
	}
	raw := []byte(b.String())
	start := time.Now()
	text, html := bodyTexts(raw)
	t.Logf("bodyTexts %v (text %d html %d)", time.Since(start), len(text), len(html))
	start = time.Now()
	out := shownHTML(html)
	t.Logf("shownHTML %v (%d)", time.Since(start), len(out))
	var n strings.Builder
	n.WriteString("From: app@example.com\r\nSubject: hi\r\nContent-Type: text/html\r\n\r\n")
	for n.Len() < 2<<20-200 {
		n.WriteString(`<div><b><i>`)
	}
	raw = []byte(n.String())
	start = time.Now()
	text, html = bodyTexts(raw)
	t.Logf("nested bodyTexts %v", time.Since(start))
	start = time.Now()
	out = shownHTML(html)
	t.Logf("nested shownHTML %v (%d)", time.Since(start), len(out))
}
