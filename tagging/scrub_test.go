package tagging_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/tagging"
)

func TestScrubberRemovesEveryDerivedForm(t *testing.T) {
	t.Parallel()
	const sec = "sk+Live/Secret=42&x"
	sc := tagging.NewScrubber(sec, "  padded-secret  ", "abc")
	b64 := func(enc *base64.Encoding, s string) string { return enc.EncodeToString([]byte(s)) }
	var forms []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		for _, plain := range []string{sec, "user:" + sec, "a-longer-user-name:" + sec, "ab:" + sec, sec + ":", ":" + sec, "k:" + sec + ":tail"} {
			forms = append(forms, b64(enc, plain), url.QueryEscape(b64(enc, plain)))
		}
	}
	forms = append(forms, sec, url.QueryEscape(sec), url.PathEscape(sec), `sk+Live\/Secret=42\u0026x`, "padded-secret")
	for i, form := range forms {
		text := `vendor said: "` + form + `" (echoed)`
		got := sc.Scrub(text)
		if strings.Contains(got, form) || !strings.Contains(got, tagging.Redacted) || !strings.HasPrefix(got, "vendor said:") || !strings.HasSuffix(got, "(echoed)") {
			t.Errorf("form %d: scrubbed to %q", i, got)
		}
	}
	// Any Basic or Bearer credential goes, known or not; a short secret is
	// not looked for, so words stay whole.
	if got := sc.Scrub("Authorization: Basic dXNlcjpvdGhlcg== and bearer tok.en-1, fine; abc stays"); got !=
		"Authorization: Basic [redacted] and bearer [redacted], fine; abc stays" {
		t.Errorf("credentials: %q", got)
	}
}

func TestAnswerKeepsCodeAndShortMessageOnly(t *testing.T) {
	t.Parallel()
	sc := tagging.NewScrubber("phx_secretkey")
	long := strings.Repeat("x", 500)
	for _, c := range []struct{ body, want string }{
		{`{"type":"authentication_error","code":"not_authenticated","detail":"Invalid key phx_secretkey."}`, "not_authenticated: Invalid key [redacted]."},
		{`{"code":400,"error":"Invalid API key: abc"}`, "400: Invalid API key: abc"},
		{`{"error":{"http_code":400,"type":"bad_request","message":"no such cohort"}}`, "bad_request: no such cohort"},
		{`{"errors":[{"type":"not-found","message":"source not found"}]}`, "not-found: source not found"},
		{`{"status":0,"error":"invalid token"}`, "invalid token"},
		{`invalid_api_key`, "invalid_api_key"},
		{`{"ok":true}`, "a JSON answer without an error message (11 bytes)"},
		{"<html><body>Bad gateway</body></html>", "an answer that is not shown (37 bytes)"},
		{"line one\nAuthorization: Bearer phx_secretkey", "an answer that is not shown (44 bytes)"},
		{`{"message":"` + long + `"}`, strings.Repeat("x", tagging.MaxAnswerMessage) + "…"},
		{"", ""},
	} {
		if got := sc.Answer([]byte(c.body)); got != c.want {
			t.Errorf("Answer(%.40q) = %q, want %q", c.body, got, c.want)
		}
	}
}
