package inbox

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
)

// What Parse reads and keeps of a message. Every limit holds whatever the
// message says, so a hostile message costs at most a small multiple of its
// own size in memory and a linear pass over it in work.
const (
	maxHeaderBytes = 256 << 10 // the header block
	maxHeaders     = 200       // header fields kept
	maxHeaderName  = 256       // bytes of a field's name
	maxHeaderValue = 4 << 10   // bytes of a field's decoded value
	maxAddresses   = 100       // addresses kept in To
	maxDepth       = 10        // nesting of multipart entities
	maxParts       = 100       // parts walked in all
	maxText        = 1 << 20   // bytes of Text
	maxHTML        = 2 << 20   // bytes of HTML, read and kept
	maxProblems    = 8         // notes in ParseError
)

// panicked is the ParseError of a message whose reading went wrong inside
// Parse itself; the fuzz test fails on it.
const panicked = "the message could not be read"

// Parse reads a raw RFC 5322 message. It never fails: what it cannot read
// it leaves out, and ParseError says (in a few words that never quote the
// message) what was left out or cut. From and To hold the bare addresses
// (the display names stay in Headers); MessageID has no angle brackets.
//
// Parse walks the multipart tree up to 10 levels deep and 100 parts, keeps
// the inline text/plain parts as Text (at most 1 MiB) and the inline
// text/html parts, sanitized, as HTML (at most 2 MiB), and skips
// attachments. Every string it returns is valid UTF-8 without NUL bytes.
// Codes and Links are found in the subject, the text and the HTML; p's
// patterns, when set, rank their matches first.
func Parse(raw []byte, p Patterns) Parsed {
	out := parseEach(raw, []Patterns{p})[0]
	out.HTML = shownHTML(out.HTML)
	return out
}

// parseEach is Parse with each of ps, reading the message once (the codes
// and links are found once per Patterns, so that a message to accounts of
// several roles costs one reading, not one per role), except that the HTML
// is left as the message wrote it. Sanitizing is most of the cost of
// reading a message (a mail template's inline styles are parsed one by
// one) and most mail is never shown, so it is done when a body is shown
// (shownHTML); the codes and links are found in the HTML's rendering,
// which skips what sanitizing drops (scripts, styles, frames, titles), so
// both find the same ones.
func parseEach(raw []byte, ps []Patterns) (each []Parsed) {
	var out Parsed
	defer func() {
		if recover() != nil {
			each = make([]Parsed, len(ps))
			for i := range each {
				each[i] = Parsed{Subject: out.Subject, MessageID: out.MessageID, ParseError: panicked}
			}
		}
	}()
	out, plain, doc := readMessage(raw, &out)
	each = make([]Parsed, len(ps))
	for i, p := range ps {
		each[i] = out
		each[i].Codes = findCodes(out.Subject, plain, doc, p.Code)
		each[i].Links = findLinks(plain, doc, headerValue(out.Headers, "List-Unsubscribe"), p.Link)
	}
	return each
}

// bodyTexts reads a raw message's text and HTML (as sent), as Parse does,
// without looking for codes and links: a stored message keeps its codes
// and links, and its text and HTML are read again from its raw MIME when
// it is shown (see Service.scan). A message Parse cannot read has none.
func bodyTexts(raw []byte) (text, html string) {
	defer func() {
		if recover() != nil {
			text, html = "", ""
		}
	}()
	var out Parsed
	out, _, _ = readMessage(raw, &out)
	return out.Text, out.HTML
}

// readMessage reads raw's headers and bodies into out (which a caller that
// recovers from a panic may read, half filled), and returns it with the
// plain text and the HTML's rendering that codes and links are found in.
func readMessage(raw []byte, out *Parsed) (Parsed, string, htmlDoc) {
	var r partReader
	h, body := r.readHeader(skipEnvelopeLine(raw))
	*out = headerFields(h, &r)
	entity, err := message.New(message.Header{Header: h}, body)
	if err != nil {
		r.note(entityProblem(err))
	}
	if entity != nil {
		r.walk(entity, 0)
	}
	if r.text.Len() == 0 && r.html.Len() == 0 && r.broken {
		// A multipart body that cannot be split is still worth reading
		// whole: the code is often in it, boundary lines and all.
		r.note("the body is kept as raw text")
		r.readRaw(skipEnvelopeLine(raw))
	}

	plain := cleanText(r.text.String())
	out.Text = plain
	var doc htmlDoc
	if r.html.Len() > 0 {
		html := strings.ReplaceAll(strings.ToValidUTF8(r.html.String(), "\uFFFD"), "\x00", "")
		out.HTML = strings.TrimSpace(html)
		doc = renderHTML(html)
		if out.Text == "" {
			out.Text = doc.text
		}
	}
	if r.textCut {
		r.note("the text body was cut at 1 MiB")
	}
	out.ParseError = strings.Join(r.problems, "; ")
	return *out, plain, doc
}

// partReader gathers the bodies of a message as its tree is walked.
type partReader struct {
	text, html strings.Builder
	textCut    bool
	broken     bool // the message's multipart body has no part that could be read
	parts      int
	problems   []string
}

// note records a problem once; every note is a fixed phrase.
func (r *partReader) note(problem string) {
	for _, p := range r.problems {
		if p == problem {
			return
		}
	}
	if len(r.problems) < maxProblems {
		r.problems = append(r.problems, problem)
	}
}

// entityProblem describes an error of message.New without its details,
// which may quote the message.
func entityProblem(err error) string {
	switch {
	case message.IsUnknownCharset(err):
		return "a part has an unknown charset"
	case message.IsUnknownEncoding(err):
		return "a part has an unknown transfer encoding"
	}
	return "a part is malformed"
}

// walk reads an entity: the parts of a multipart one, depth first, or the
// body of a text one.
func (r *partReader) walk(e *message.Entity, depth int) {
	if mr := e.MultipartReader(); mr != nil {
		if depth >= maxDepth {
			r.note("multipart nesting is deeper than 10")
			return
		}
		for read := 0; ; read++ {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return
			}
			if part == nil {
				r.note("a multipart body is malformed")
				r.broken = r.broken || (depth == 0 && read == 0)
				return
			}
			if err != nil {
				r.note(entityProblem(err))
			}
			if r.parts++; r.parts > maxParts {
				r.note("the message has more than 100 parts")
				return
			}
			r.walk(part, depth+1)
		}
	}
	if isAttachment(e.Header) {
		return
	}
	switch mediaType(e.Header) {
	case "text/plain", "":
		r.textCut = r.readInto(&r.text, e, maxText) || r.textCut
	case "text/html":
		if r.readInto(&r.html, e, maxHTML) {
			r.note("the html body was cut at 2 MiB")
		}
	}
}

// readInto appends a part's decoded body to b, up to limit bytes in all,
// and reports whether it was cut.
func (r *partReader) readInto(b *strings.Builder, e *message.Entity, limit int) (cut bool) {
	room := limit - b.Len()
	if room <= 0 {
		return true
	}
	body, err := io.ReadAll(io.LimitReader(e.Body, int64(room)+1))
	if err != nil {
		r.note("a part's body is damaged or truncated")
	}
	if len(body) > room {
		body, cut = body[:room], true
	}
	if !utf8.Valid(body) {
		if _, ok := contentParams(e.Header)["charset"]; !ok {
			// Undeclared 8-bit text is most often Windows-1252. Importing
			// charset also registers every charset with go-message, so the
			// declared ones decode.
			if dec, err := charset.Reader("windows-1252", bytes.NewReader(body)); err == nil {
				if b, err := io.ReadAll(dec); err == nil {
					body = b
				}
			}
		}
	}
	if b.Len() > 0 {
		b.WriteString("\n\n")
	}
	b.Write(body)
	if b.Len() > limit {
		s := truncateUTF8(b.String(), limit)
		b.Reset()
		b.WriteString(s)
	}
	return cut
}

// readRaw keeps the raw body of a message (what follows the first empty
// line) as its text.
func (r *partReader) readRaw(raw []byte) {
	i := bytes.Index(raw, []byte("\n\n"))
	if j := bytes.Index(raw, []byte("\n\r\n")); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	if i < 0 {
		return
	}
	body := bytes.TrimLeft(raw[i:], "\r\n")
	if len(body) > maxText {
		body, r.textCut = body[:maxText], true
	}
	r.text.Write(body)
}

// isAttachment reports whether a part is an attachment rather than a body.
func isAttachment(h message.Header) bool {
	disp, _, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	return err == nil && strings.EqualFold(disp, "attachment")
}

// mediaType is the lower-case media type of a part, read leniently: a
// Content-Type whose parameters are malformed still names its type.
func mediaType(h message.Header) string {
	v := h.Get("Content-Type")
	if v == "" {
		return "text/plain"
	}
	t, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

// contentParams are the parameters of a part's Content-Type, when they parse.
func contentParams(h message.Header) map[string]string {
	_, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return nil
	}
	return params
}

// cleanText makes a body safe to keep: valid UTF-8, LF line ends, no NUL.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\x00", "")
	return strings.TrimSpace(s)
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
