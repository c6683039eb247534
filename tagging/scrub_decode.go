package tagging

import (
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxDecodes is how many encodings deep a word is decoded to look for a
// secret: a key in base64 (found without decoding), then percent-encoded
// or hex-encoded, then inside a base64 dump of a header.
const maxDecodes = 2

// isWordBreak reports whether c ends a word that scrubEncodedWords
// decodes: space, quotes and brackets, never a character an encoding
// uses.
func isWordBreak(c byte) bool {
	return c <= ' ' || strings.IndexByte(`"'<>()[]{},`, c) >= 0
}

// scrubEncodedWords replaces each word of text that holds a secret in a
// form Scrub did not find by matching (see holds).
func (s *Scrubber) scrubEncodedWords(text string) string {
	var b strings.Builder
	for i := 0; i < len(text); {
		if isWordBreak(text[i]) {
			b.WriteByte(text[i])
			i++
			continue
		}
		j := i
		for j < len(text) && !isWordBreak(text[j]) {
			j++
		}
		if word := text[i:j]; word != Redacted && s.holds(word, 0) {
			b.WriteString(Redacted)
		} else {
			b.WriteString(word)
		}
		i = j
	}
	return b.String()
}

// holds reports whether text holds a secret in any case, a base64 core of
// one, or, decoded up to maxDecodes-depth more times, either or a match of
// a shape (Scrub replaces the matches in the text as it is).
func (s *Scrubber) holds(text string, depth int) bool {
	if len(text) < MinScrubbedSecret {
		return false
	}
	if depth > 0 {
		for _, sh := range s.shapes {
			if sh.MatchString(text) {
				return true
			}
		}
	}
	lower := strings.ToLower(text)
	for _, p := range s.lower {
		if strings.Contains(lower, p) {
			return true
		}
	}
	for _, core := range s.inWord {
		if strings.Contains(text, core) {
			return true
		}
	}
	if depth >= maxDecodes {
		return false
	}
	for _, d := range decodings(text) {
		if d != text && s.holds(d, depth+1) {
			return true
		}
	}
	return false
}

// decodings returns what text decodes to under each encoding it is
// valid in.
func decodings(text string) []string {
	var out []string
	if strings.Contains(text, "%") {
		if d, err := url.PathUnescape(text); err == nil {
			out = append(out, d)
		}
	}
	if strings.Contains(text, `\`) {
		if d, err := strconv.Unquote(`"` + strings.ReplaceAll(text, `\/`, "/") + `"`); err == nil {
			out = append(out, d)
		}
	}
	if strings.Contains(text, "&") {
		out = append(out, html.UnescapeString(text))
	}
	if len(text) >= 8 && len(text)%2 == 0 {
		if d, err := hex.DecodeString(text); err == nil {
			out = append(out, string(d))
		}
	}
	if len(text) >= 8 {
		trimmed := strings.TrimRight(text, "=")
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if d, err := enc.DecodeString(trimmed); err == nil {
				out = append(out, string(d))
				break
			}
		}
	}
	return out
}

// scrubWrapped replaces base64 that holds a secret's core but is wrapped
// across lines or spaces: the run from the base64 word where the core
// starts to the one where it ends, whitespace included.
func (s *Scrubber) scrubWrapped(text string) string {
	if !strings.ContainsAny(text, " \t\r\n") {
		return text
	}
	// joined is text without its whitespace; at[i] is where joined[i] is
	// in text.
	var joined strings.Builder
	at := make([]int, 0, len(text))
	for i := 0; i < len(text); i++ {
		if c := text[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			joined.WriteByte(c)
			at = append(at, i)
		}
	}
	j := joined.String()
	type span struct{ from, to int }
	var spans []span
	for _, core := range s.inWord {
		for off := 0; ; {
			k := strings.Index(j[off:], core)
			if k < 0 {
				break
			}
			from, to := at[off+k], at[off+k+len(core)-1]+1
			for from > 0 && isBase64Word(text[from-1]) {
				from--
			}
			for to < len(text) && isBase64Word(text[to]) {
				to++
			}
			spans = append(spans, span{from, to})
			off += k + len(core)
		}
	}
	if len(spans) == 0 {
		return text
	}
	// Replace in order, merging spans that overlap.
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.from, b.from) })
	var b strings.Builder
	last := 0
	for i := 0; i < len(spans); {
		from, to := spans[i].from, spans[i].to
		for i++; i < len(spans) && spans[i].from <= to; i++ {
			to = max(to, spans[i].to)
		}
		b.WriteString(text[last:from])
		b.WriteString(Redacted)
		last = to
	}
	b.WriteString(text[last:])
	return b.String()
}
