package tagging_test

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/tagging"
)

// Shapes remove secrets whose values nobody knows in advance: a match's
// "secret" group alone when it has one, else the whole match; in the text
// as it is and in a word that, decoded, holds a match.
func TestScrubberWithShapesRemovesMatches(t *testing.T) {
	t.Parallel()
	token := regexp.MustCompile(`\btok_[A-Z0-9]{6,}`)
	field := regexp.MustCompile(`(?i)password"?\s*[=:]\s*"?(?P<secret>[^\s&,;"']+)`)
	sc := tagging.NewScrubber("known-secret-value").WithShapes(token, field)
	const tok = "tok_ABCDEF123456"
	for _, c := range []struct{ in, want string }{
		{"the token " + tok + " failed", "the token [redacted] failed"},
		{"connect: password=hunter2 user=x", "connect: password=[redacted] user=x"},
		{`{"Password": "hunter2"} and known-secret-value`, `{"Password": "[redacted]"} and [redacted]`},
		{"retok_ABCDEF123456 is not a token", "retok_ABCDEF123456 is not a token"},
		{"no shape here", "no shape here"},
		{"password: [redacted] stays", "password: [redacted] stays"},
	} {
		if got := sc.Scrub(c.in); got != c.want {
			t.Errorf("Scrub(%q) = %q, want %q", c.in, got, c.want)
		}
		if twice := sc.Scrub(sc.Scrub(c.in)); twice != c.want {
			t.Errorf("Scrub twice (%q) = %q, want %q", c.in, twice, c.want)
		}
	}
	for name, form := range map[string]string{
		"base64":      base64.StdEncoding.EncodeToString([]byte("Authorization: " + tok)),
		"base64url":   base64.RawURLEncoding.EncodeToString([]byte("password=hunter2")),
		"hex":         hex.EncodeToString([]byte("x " + tok)),
		"query":       url.QueryEscape("a b " + tok + "&"),
		"query twice": url.QueryEscape(url.QueryEscape("password=hunter2 x")),
	} {
		got := sc.Scrub("sent (" + form + ") then")
		if got != "sent ([redacted]) then" {
			t.Errorf("%s: Scrub = %q", name, got)
		}
	}
	// The Scrubber it was made from is unchanged.
	plain := tagging.NewScrubber("known-secret-value")
	_ = plain.WithShapes(token)
	if got := plain.Scrub("a " + tok); !strings.Contains(got, tok) {
		t.Errorf("WithShapes changed its receiver: %q", got)
	}
}
