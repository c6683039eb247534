package tagging_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/tagging"
)

// A vendor's echo of the request can carry a key in encodings the first
// Scrubber missed: hex (either case), percent-encoding with lower-case
// digits or of every byte, JSON \u escapes, HTML entities, base64 wrapped
// across lines as MIME does, base64 of base64 (a header echoed inside an
// encoded dump), a key in upper case. Each is removed, by Scrub and by
// Message, and the text around it is kept.
var pctRE = regexp.MustCompile(`%[0-9A-F]{2}`)

func TestAttackScrubberRemovesEncodingsOfEncodings(t *testing.T) {
	t.Parallel()
	// A key made for this run: nothing that looks like a vendor's key is
	// written in the source.
	sec := "test_secret_" + strings.ToLower(rand.Text())
	sc := tagging.NewScrubber(sec)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	basic, withColon := b64("user:"+sec), b64(sec+":")
	every := func(s string, f string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			fmt.Fprintf(&b, f, c)
		}
		return b.String()
	}
	forms := map[string]string{
		"hex":                    hex.EncodeToString([]byte(sec)),
		"HEX":                    strings.ToUpper(hex.EncodeToString([]byte("user:" + sec))),
		"hex of base64":          hex.EncodeToString([]byte(basic)),
		"percent, lower case":    pctRE.ReplaceAllStringFunc(url.QueryEscape(withColon), strings.ToLower),
		"percent of every byte":  every(sec, "%%%02X"),
		"percent of every byte2": every(basic, "%%%02x"),
		"JSON \\u escapes":       every(sec, `\u%04x`),
		"HTML entities":          every(sec, "&#%d;"),
		"base64 of base64":       b64("Authorization: Basic " + basic),
		"base64 wrapped, LF":     basic[:10] + "\n" + basic[10:],
		"base64 wrapped, CRLF":   basic[:12] + "\r\n" + basic[12:24] + "\r\n" + basic[24:],
		"base64 wrapped, space":  withColon[:9] + " " + withColon[9:],
		"upper case":             strings.ToUpper(sec),
	}
	for name, form := range forms {
		for _, f := range []struct {
			name string
			fn   func(string) string
		}{{"Scrub", sc.Scrub}, {"Message", sc.Message}} {
			got := f.fn("vendor said: " + form + " (echoed)")
			if strings.Contains(got, form) || !strings.Contains(got, tagging.Redacted) ||
				!strings.HasPrefix(got, "vendor said:") || !strings.HasSuffix(got, "(echoed)") {
				t.Errorf("%s of %s: %q", f.name, name, got)
			}
			for _, piece := range strings.Fields(form) {
				if len(piece) >= 8 && strings.Contains(got, piece) {
					t.Errorf("%s of %s keeps %q: %q", f.name, name, piece, got)
				}
			}
		}
	}
	// Words that hold no secret are kept, whatever they decode to.
	for _, clean := range []string{"deadbeef00", b64("nothing to see here"), "%41%42%43", "a&amp;b", `\u0041`, "Invalid API key"} {
		if got := sc.Message("vendor said: " + clean); got != "vendor said: "+clean {
			t.Errorf("clean text %q scrubbed to %q", clean, got)
		}
	}
}
