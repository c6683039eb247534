package tagging

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Scrubber removes a destination's secrets from text that may hold them:
// what a vendor answered (some echo the request, Authorization header
// included), and every message built from it. It removes each secret in
// every form a request carries it:
//
//   - raw, trimmed of spaces, JSON- or Go-quoted, and query- or
//     path-escaped (also with '/' escaped as JSON may);
//   - base64, in the standard and URL alphabets, with or without padding,
//     alone or inside a longer encoded value (user:secret, secret:,
//     :secret, key:secret), whatever is encoded beside it: the whole
//     encoded word that holds it is removed, also when query-escaped;
//   - the value of any Basic or Bearer credential, whatever it holds;
//   - any word that holds a secret in any case, or that, once decoded
//     (percent-encoding of any byte, hex, base64, JSON or Go escapes,
//     HTML entities) up to twice, holds one of the forms above: the word
//     is removed whole;
//   - base64 wrapped across lines or spaces (as MIME wraps it): the
//     wrapped run that holds a secret is removed whole.
//
// A Scrubber made WithShapes also removes what matches a shape: a secret
// whose value is not known in advance but whose form is (a token's
// prefix, the value of a password field), plainly or in a word that,
// decoded as above, holds a match.
//
// Secrets shorter than MinScrubbedSecret are not looked for: replacing
// them would take words apart, and no vendor issues keys that short.
type Scrubber struct {
	plain  []string // replaced where found
	lower  []string // plain, lower-cased: a word holding one in any case is replaced
	inWord []string // the whole base64 word around them is replaced
	shapes []*regexp.Regexp
}

// MinScrubbedSecret is the length under which a secret is not looked for.
const MinScrubbedSecret = 4

// credentialRE matches an HTTP credential (Basic or Bearer) and its value.
var credentialRE = regexp.MustCompile(`(?i)\b(basic|bearer)(\s+|%20|\+)[^\s"'\\,;]+`)

// NewScrubber returns a Scrubber of secrets.
func NewScrubber(secrets ...string) *Scrubber {
	s := &Scrubber{}
	for _, raw := range secrets {
		for _, sec := range []string{raw, strings.TrimSpace(raw)} {
			if len(sec) < MinScrubbedSecret {
				continue
			}
			quoted := strconv.Quote(sec)
			jsonQuoted, _ := json.Marshal(sec)
			jsonForm := string(jsonQuoted[1 : len(jsonQuoted)-1])
			s.plain = append(s.plain, sec, url.QueryEscape(sec), url.PathEscape(sec), quoted[1:len(quoted)-1],
				jsonForm, strings.ReplaceAll(jsonForm, "/", `\/`)) // some encoders escape '/'

			for _, core := range base64Cores(sec) {
				s.inWord = append(s.inWord, core, url.QueryEscape(core))
			}
		}
	}
	// Longest first, so a form that holds another is replaced whole.
	byLength := func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) }
	s.plain = slices.Compact(slices.SortedFunc(slices.Values(s.plain), byLength))
	s.inWord = slices.Compact(slices.SortedFunc(slices.Values(s.inWord), byLength))
	for _, p := range s.plain {
		s.lower = append(s.lower, strings.ToLower(p))
	}
	return s
}

// base64Cores returns, for each of the three byte offsets at which sec can
// start inside an encoded value and for both alphabets, the run of
// characters that encode sec's bytes alone: whatever is encoded before or
// after sec (a user name and ':', a trailing ':'), its encoding holds one
// of these.
func base64Cores(sec string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for k := range 3 {
			full := enc.EncodeToString(append(make([]byte, k), sec...))
			// Character i encodes bits [6i, 6i+6); sec's bits are [8k, 8k+8n).
			from, to := (8*k+5)/6, (8*k+8*len(sec))/6
			if to-from >= MinScrubbedSecret {
				out = append(out, full[from:to])
			}
		}
	}
	return out
}

// isBase64Word reports whether c can be part of a base64 word, plain,
// URL-alphabet or query-escaped.
func isBase64Word(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || c == '%'
}

// WithShapes returns a copy of s that also removes what each shape
// matches. A shape with a group named "secret" loses that group alone,
// the rest of its match naming what was removed ("password=[redacted]");
// a shape without one loses its whole match. A match whose secret is
// already Redacted is left as it is, so scrubbing twice changes nothing.
func (s *Scrubber) WithShapes(shapes ...*regexp.Regexp) *Scrubber {
	c := *s
	c.shapes = append(slices.Clip(s.shapes), shapes...)
	return &c
}

// Scrub returns text with every form of every secret, every Basic or
// Bearer credential and every match of a shape replaced by Redacted.
func (s *Scrubber) Scrub(text string) string {
	if s != nil {
		for _, form := range s.plain {
			text = strings.ReplaceAll(text, form, Redacted)
		}
		for _, core := range s.inWord {
			text = replaceWords(text, core)
		}
		text = s.scrubEncodedWords(text)
		text = s.scrubWrapped(text)
	}
	text = credentialRE.ReplaceAllString(text, "$1 "+Redacted)
	if s != nil {
		for _, sh := range s.shapes {
			text = replaceShape(sh, text)
		}
	}
	return text
}

// replaceShape replaces in text the secret of each match of sh: its
// "secret" group, or the whole match when it has none.
func replaceShape(sh *regexp.Regexp, text string) string {
	group := max(sh.SubexpIndex("secret"), 0)
	matches := sh.FindAllStringSubmatchIndex(text, -1)
	if matches == nil {
		return text
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		from, to := m[2*group], m[2*group+1]
		if from < 0 || strings.HasPrefix(text[from:], Redacted) {
			continue
		}
		b.WriteString(text[last:from])
		b.WriteString(Redacted)
		last = to
	}
	b.WriteString(text[last:])
	return b.String()
}

// replaceWords replaces each base64 word of text that holds core.
func replaceWords(text, core string) string {
	for {
		i := strings.Index(text, core)
		if i < 0 {
			return text
		}
		from, to := i, i+len(core)
		for from > 0 && isBase64Word(text[from-1]) {
			from--
		}
		for to < len(text) && isBase64Word(text[to]) {
			to++
		}
		text = text[:from] + Redacted + text[to:]
	}
}

// MaxAnswerMessage is the most of a vendor's message that is kept.
const MaxAnswerMessage = 200

// Message is a message that came from a vendor (its error field, a
// detail in a 2xx answer), fit to keep: secrets scrubbed, control
// characters turned to spaces, cut to MaxAnswerMessage bytes.
func (s *Scrubber) Message(msg string) string {
	msg = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(msg, "?"))
	msg = strings.Join(strings.Fields(msg), " ")
	// Scrub before and after cutting: a cut must not leave the start of a
	// secret's form behind, nor split a redaction marker.
	msg = s.Scrub(msg)
	if len(msg) > MaxAnswerMessage {
		cut := MaxAnswerMessage
		for cut > 0 && !utf8RuneStart(msg[cut]) {
			cut--
		}
		msg = strings.TrimRight(msg[:cut], " ") + "…"
	}
	return msg
}

// Answer describes a vendor's answer body without keeping it: the error
// code and message of its documented error shape when it has one (JSON
// with code, type, error, message, detail or errors[0]), or a short
// one-line text; anything else is described by its size only. Every
// secret is scrubbed (see Scrubber). It returns "" for an empty body.
func (s *Scrubber) Answer(body []byte) string {
	text := strings.TrimSpace(string(body))
	if text == "" {
		return ""
	}
	var doc any
	if json.Unmarshal([]byte(text), &doc) == nil {
		code, msg := errorShape(doc, 0)
		switch {
		case code != "" && msg != "":
			return s.Message(code + ": " + msg)
		case code != "" || msg != "":
			return s.Message(code + msg)
		}
		return "a JSON answer without an error message (" + strconv.Itoa(len(body)) + " bytes)"
	}
	if len(text) <= 120 && plainTextRE.MatchString(text) {
		return s.Message(text)
	}
	return "an answer that is not shown (" + strconv.Itoa(len(body)) + " bytes)"
}

// plainTextRE matches a short text answer worth keeping: one line of words.
var plainTextRE = regexp.MustCompile(`^[A-Za-z0-9 _.,:;'()/-]+$`)

// errorShape finds the code and message of the vendors' error shapes:
// PostHog's {type, code, detail}, Amplitude's {code, error} and
// {error: {type, message}}, Mixpanel's {status, error}, Segment's
// {errors: [{type, message}]}, and {code, message} in general.
func errorShape(doc any, depth int) (code, msg string) {
	if depth > 3 {
		return "", ""
	}
	switch v := doc.(type) {
	case map[string]any:
		for _, k := range []string{"code", "error_code", "type"} {
			if c := scalar(v[k]); c != "" {
				code = c
				break
			}
		}
		for _, k := range []string{"message", "detail", "error_description", "error", "description"} {
			if m, ok := v[k].(string); ok && m != "" {
				msg = m
				break
			}
		}
		if msg == "" {
			for _, k := range []string{"error", "errors"} {
				if inner, ok := v[k]; ok {
					if c, m := errorShape(inner, depth+1); c != "" || m != "" {
						return cmp.Or(c, code), m
					}
				}
			}
		}
		return code, msg
	case []any:
		if len(v) > 0 {
			return errorShape(v[0], depth+1)
		}
	case string:
		return "", v
	}
	return "", ""
}

// scalar is a JSON string or number as text ("" for anything else). A code
// longer than 64 bytes is not a code.
func scalar(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	}
	if len(s) > 64 {
		return ""
	}
	return s
}
