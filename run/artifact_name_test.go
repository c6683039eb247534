package run_test

import (
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/run"
)

// badArtifactNames are names that could escape their run, each with what
// its refusal must say.
var badArtifactNames = []struct{ name, says string }{
	{"", "it is empty"},
	{strings.Repeat("a", 201), "it is 201"},
	{strings.Repeat("é", 101), "it is 202"},
	{".", "must not be . or .."},
	{"..", "must not be . or .."},
	{"../etc/passwd", "hold / (at byte 2)"},
	{"a/b.png", "hold / (at byte 1)"},
	{"/abs", "hold / (at byte 0)"},
	{`..\win.ini`, `hold \ (at byte 2)`},
	{"a\\b", `hold \ (at byte 1)`},
	{"line\nbreak", "control character (U+000A at byte 4)"},
	{"nul\x00", "control character (U+0000 at byte 3)"},
	{"tab\there", "control character (U+0009"},
	{"del\x7f", "control character (U+007F"},
	{"c1\u0085", "control character (U+0085"},
	{"gpj.\u202eexe", "bidirectional control character (U+202E at byte 4)"},
	{"isolate\u2066x", "bidirectional control character (U+2066"},
	{"bad\xffutf8", "not UTF-8"},
}

func TestArtifactNamesThatCouldEscapeAreRefused(t *testing.T) {
	t.Parallel()
	for _, c := range badArtifactNames {
		err := run.ValidateArtifactName(c.name)
		e := domaintest.WantCode(t, err, understudy.EMALFORMED)
		if len(e.Fields) != 1 || e.Fields[0].Field != "name" || !strings.Contains(e.Fields[0].Detail, c.says) {
			t.Errorf("name %q: fields %+v, want name saying %q", c.name, e.Fields, c.says)
		}
	}
}

func TestArtifactNamesThatStayInTheirRunAreAccepted(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a", "trace.zip", "screenshots__login failed.png", "...", ".hidden", "a..b", "x.attrs",
		"naïve résumé.txt", "日本語.log", "emoji 🎭.png", strings.Repeat("b", 200), strings.Repeat("é", 100), `quote"d;name=x`} {
		if err := run.ValidateArtifactName(name); err != nil {
			t.Errorf("name %q refused: %v", name, err)
		}
	}
}

func TestServedContentTypeIsNeverActive(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"image/png":                  "image/png",
		"IMAGE/PNG":                  "image/png",
		"text/plain; charset=latin1": "text/plain; charset=utf-8",
		"application/json":           "application/json",
		"application/zip":            "application/zip",
		"text/html":                  "application/octet-stream",
		"text/html; charset=utf-8":   "application/octet-stream",
		"image/svg+xml":              "application/octet-stream",
		"application/xhtml+xml":      "application/octet-stream",
		"application/pdf":            "application/octet-stream",
		"text/javascript":            "application/octet-stream",
		"application/xml":            "application/octet-stream",
		"":                           "application/octet-stream",
		"not a type":                 "application/octet-stream",
	} {
		if got := run.ServedContentType(in); got != want {
			t.Errorf("ServedContentType(%q) = %q, want %q", in, got, want)
		}
	}
	if got := run.NormalizeContentType("Text/HTML; charset=UTF-8"); got != "text/html" {
		t.Errorf("NormalizeContentType kept %q, want text/html", got)
	}
	if got := run.NormalizeContentType(""); got != run.DefaultContentType {
		t.Errorf("NormalizeContentType of nothing = %q", got)
	}
}

func TestAttachmentDispositionEncodesEveryName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"trace.zip":        `attachment; filename="trace.zip"; filename*=UTF-8''trace.zip`,
		"login failed.png": `attachment; filename="login failed.png"; filename*=UTF-8''login%20failed.png`,
		"naïve.txt":        `attachment; filename="na_ve.txt"; filename*=UTF-8''na%C3%AFve.txt`,
		`a"b%c'd.txt`:      `attachment; filename="a_b_c_d.txt"; filename*=UTF-8''a%22b%25c%27d.txt`,
	} {
		if got := run.AttachmentDisposition(name); got != want {
			t.Errorf("AttachmentDisposition(%q)\n got %s\nwant %s", name, got, want)
		}
	}
}
