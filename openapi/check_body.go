package openapi

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/isolation"
)

// POST /v1/isolation/check is the call an app makes in its own request
// path, with up to 10,000 subjects. The general way through the gate reads
// such a body four times (readBody's null and text checks, kin-openapi's
// validation, the handler's decoding), each building every subject anew:
// for 1,000 subjects that was over half of the server's time. The check's
// body is simple (three strings and an array of strings), so a body in its
// plain form (ASCII strings without escapes, each key once) is read here in
// one pass, and checked against the schema of IsolationCheck in
// openapi.yaml, with the subjects as substrings of one copy of the body.
// Any other body, valid or not, takes the general way, which decides and
// words the refusal as before: this path only ever accepts what that one
// accepts (TestCheckBodyAcceptsWhatTheGateAccepts, FuzzCheckBody).

// checkBodyKey is where the gate leaves a check body it has read and
// checked, for CheckIsolation.
const checkBodyKey = "openapi.isolationCheck"

// checkOperation is the operationId of POST /v1/isolation/check.
const checkOperation = "checkIsolation"

// Bounds of IsolationCheck in openapi.yaml (TestCheckBodyBoundsAreTheSpec).
const (
	checkSurfaceMax = 63
	checkViewerMax  = 500
	checkSubjectMax = 500
)

// readCheckBody reads req's body and, when it is a plain check body that
// the contract accepts, returns it decoded. Otherwise it puts the body
// back as it was read (and the read's error after it), so that the general
// way sees the same request, and returns false.
func readCheckBody(req *http.Request) (*IsolationCheck, bool) {
	if req.URL.RawQuery != "" || req.Header.Get(echo.HeaderContentType) != echo.MIMEApplicationJSON ||
		req.Body == nil || req.Body == http.NoBody {
		return nil, false
	}
	raw, err := readSized(req.Body, req.ContentLength)
	if err != nil {
		req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(raw), errReader{err}))
		return nil, false
	}
	if in, ok := parseCheckBody(string(raw)); ok {
		return in, true
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	return nil, false
}

// readSized is io.ReadAll with room for size bytes from the start (the
// declared length, when the body has one within the limit), so a body of
// 1,000 subjects is read into one buffer rather than seven growing ones.
// The room is at most sizedRoom: a declared length is the client's word,
// and one that declares a MiB and sends nothing must not hold a MiB.
func readSized(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 || size > maxBody {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, min(size, sizedRoom)+1) // the +1 holds the read that sees EOF
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// sizedRoom bounds what readSized takes before the body arrives: the
// body of a check of 1,000 email addresses is some 30 KB.
const sizedRoom = 128 << 10

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// parseCheckBody decodes s when it is one JSON object with exactly the
// keys environment, surface, viewer (strings) and subjects (an array of
// strings), each once, in any order, every string printable ASCII without
// an escape, and within the schema's lengths. The strings are substrings
// of s.
func parseCheckBody(s string) (*IsolationCheck, bool) {
	p := checkParser{s: s}
	var in IsolationCheck
	var seen [4]bool
	if !p.byte('{') {
		return nil, false
	}
	for n := 0; ; n++ {
		if n > 0 && !p.byte(',') {
			break
		}
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return nil, false
		}
		var i int
		switch key {
		case "environment":
			in.Environment, ok = p.bounded(1, -1)
		case "surface":
			i = 1
			in.Surface, ok = p.bounded(1, checkSurfaceMax)
		case "viewer":
			i = 2
			in.Viewer, ok = p.bounded(1, checkViewerMax)
		case "subjects":
			i = 3
			in.Subjects, ok = p.subjects()
		default:
			return nil, false
		}
		if !ok || seen[i] {
			return nil, false
		}
		seen[i] = true
	}
	if !p.byte('}') || !p.end() || seen != [4]bool{true, true, true, true} {
		return nil, false
	}
	return &in, true
}

// checkParser reads s from i.
type checkParser struct {
	s string
	i int
}

func (p *checkParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// byte skips white space, then reads b.
func (p *checkParser) byte(b byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == b {
		p.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (p *checkParser) end() bool {
	p.space()
	return p.i == len(p.s)
}

// str reads a string of printable ASCII without an escape.
func (p *checkParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	from := p.i
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return p.s[from : p.i-1], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", false
		}
		p.i++
	}
	return "", false
}

// bounded reads a string of min to max characters (no maximum when max
// is negative); the strings str reads are ASCII, a byte a character.
func (p *checkParser) bounded(min, max int) (string, bool) {
	v, ok := p.str()
	return v, ok && len(v) >= min && (max < 0 || len(v) <= max)
}

// subjects reads an array of strings of at most checkSubjectMax
// characters each.
func (p *checkParser) subjects() ([]string, bool) {
	if !p.byte('[') {
		return nil, false
	}
	out := make([]string, 0, p.count())
	if p.byte(']') {
		return out, true
	}
	for {
		v, ok := p.bounded(0, checkSubjectMax)
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if p.byte(']') {
			return out, true
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}

// count guesses how many strings the array at p holds, to size it once:
// one more than its commas up to the first ']' (a string may hold either,
// so it is a guess), at most one more than a check decides.
func (p *checkParser) count() int {
	n := 1
	for i := p.i; i < len(p.s) && p.s[i] != ']' && n <= isolation.MaxSubjects; i++ {
		if p.s[i] == ',' {
			n++
		}
	}
	return n
}

// writeCheckResults answers 200 with results as {"results": [...]}: byte
// for byte what c.JSON writes for it (TestCheckResultsMatchEncodingJSON),
// without reflection, and c.JSON itself where it would write something
// else (plainJSON).
func writeCheckResults(c echo.Context, results []isolation.CheckResult) error {
	if !plainJSON(c) {
		return c.JSON(http.StatusOK, map[string]any{"results": nonNil(results)})
	}
	buf := checkBufs.Get().(*[]byte)
	*buf = appendCheckResults((*buf)[:0], results)
	err := c.Blob(http.StatusOK, echo.MIMEApplicationJSON, *buf)
	if cap(*buf) <= maxPooledCheckBuf {
		checkBufs.Put(buf)
	}
	return err
}

// checkBufs recycles the answers' buffers (about 70 bytes a subject); one
// larger than maxPooledCheckBuf is left to the garbage collector.
var checkBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledCheckBuf = 1 << 20

// appendCheckResults appends {"results": results} as encoding/json
// writes it (the Encoder's newline included).
func appendCheckResults(b []byte, results []isolation.CheckResult) []byte {
	n := 16
	for i := range results {
		n += 48 + len(results[i].Subject) + len(results[i].Reason)
	}
	b = slices.Grow(b, n)
	b = append(b, `{"results":[`...)
	for i := range results {
		r := &results[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"subject":`...)
		b = appendJSONString(b, r.Subject)
		b = append(b, `,"visible":`...)
		b = strconv.AppendBool(b, r.Visible)
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, string(r.Reason))
		b = append(b, '}')
	}
	return append(b, "]}\n"...)
}
