package inbox

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// skipEnvelopeLine drops the "From sender date" line an mbox puts before a
// message, which is no header field.
func skipEnvelopeLine(raw []byte) []byte {
	if !bytes.HasPrefix(raw, []byte("From ")) {
		return raw
	}
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		return raw[i+1:]
	}
	return nil
}

// headerLimit is io.LimitedReader with a limit that can be lifted once the
// header block is read.
type headerLimit struct {
	r io.Reader
	n int64
}

func (l *headerLimit) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

var errHeaderTooLarge = errors.New("header too large")

// readHeader reads the header block, keeping the fields before a malformed
// line, and returns the reader of the body.
func (r *partReader) readHeader(raw []byte) (textproto.Header, io.Reader) {
	limit := &headerLimit{r: bytes.NewReader(raw), n: maxHeaderBytes}
	br := bufio.NewReader(limit)
	h, err := textproto.ReadHeader(br)
	limit.n = math.MaxInt64
	switch {
	case errors.Is(err, errHeaderTooLarge):
		r.note("the header is over 256 KiB")
	case err != nil:
		r.note("the header is malformed")
	}
	return h, br
}

// headerFields fills the header part of Parsed: every field (bounded),
// decoded, and the named ones parsed.
func headerFields(h textproto.Header, r *partReader) Parsed {
	var out Parsed
	mh := mail.Header{Header: message.Header{Header: h}}
	fields := mh.Fields()
	for fields.Next() {
		if len(out.Headers) == maxHeaders {
			r.note("the header has more than 200 fields")
			break
		}
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		out.Headers = append(out.Headers, Header{
			Name:  cleanLine(fields.Key(), maxHeaderName),
			Value: cleanLine(v, maxHeaderValue),
		})
	}
	out.Subject = headerValue(out.Headers, "Subject")
	if id, err := mh.MessageID(); err == nil && id != "" {
		out.MessageID = cleanLine(id, maxHeaderValue)
	} else {
		out.MessageID = strings.Trim(headerValue(out.Headers, "Message-Id"), "<> ")
	}
	if from := addresses(mh, "From"); len(from) > 0 {
		out.From = from[0]
	}
	out.To = addresses(mh, "To")
	if d, err := mh.Date(); err == nil && d.Year() >= 1970 && d.Year() <= 9999 {
		out.Date = d
	}
	return out
}

// headerValue is the first kept field of that name, or "".
func headerValue(hs []Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// addresses are the bare addresses of an address-list field, read
// leniently when the list does not parse.
func addresses(h mail.Header, key string) []string {
	var out []string
	list, err := h.AddressList(key)
	if err == nil {
		for _, a := range list {
			out = append(out, cleanLine(a.Address, maxHeaderValue))
		}
	} else {
		for _, part := range strings.Split(h.Get(key), ",") {
			if _, addr, ok := strings.Cut(part, "<"); ok {
				part, _, _ = strings.Cut(addr, ">")
			}
			if part = strings.TrimSpace(part); strings.Contains(part, "@") {
				out = append(out, cleanLine(part, maxHeaderValue))
			}
		}
	}
	if len(out) > maxAddresses {
		out = out[:maxAddresses]
	}
	return out
}

// cleanLine makes a header value safe to keep: valid UTF-8, control
// characters as spaces, at most limit bytes.
func cleanLine(s string, limit int) string {
	s = truncateUTF8(s, limit)
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return ' '
		}
		return c
	}, s)
}
