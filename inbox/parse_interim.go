package inbox

// This file is a stand-in for the extraction (parse.go), so that the store
// can be built and tested beside it: it reads the headers and the
// text/plain body, and finds a six-digit code after "Your code is". It is
// deleted when parse.go lands.

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"

	"github.com/emersion/go-message/mail"
)

const (
	interimMaxText    = 1 << 20
	interimMaxHeaders = 200
	interimMaxValue   = 8 << 10
)

var interimCodeRE = regexp.MustCompile(`(?i)your code is:?\s*(\d{6})\b`)

// Parse reads raw into a Parsed message. It never fails: what it cannot
// read is named in ParseError.
func Parse(raw []byte, p Patterns) Parsed {
	var out Parsed
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if r == nil {
		out.ParseError = "the message's header cannot be read: " + err.Error()
		return out
	}
	h := r.Header
	fields := h.Fields()
	for fields.Next() && len(out.Headers) < interimMaxHeaders {
		v, _ := fields.Text()
		out.Headers = append(out.Headers, Header{Name: fields.Key(), Value: interimClip(v, interimMaxValue)})
	}
	out.Subject, _ = h.Subject()
	out.Subject = interimClip(out.Subject, interimMaxValue)
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		out.From = from[0].Address
	}
	if to, err := h.AddressList("To"); err == nil {
		for _, a := range to {
			out.To = append(out.To, a.Address)
		}
	}
	out.Date, _ = h.Date()
	out.MessageID, _ = h.MessageID()
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if part == nil {
			out.ParseError = "a part of the message cannot be read: " + err.Error()
			break
		}
		ih, ok := part.Header.(*mail.InlineHeader)
		if !ok {
			continue
		}
		if t, _, _ := ih.ContentType(); t == "text/plain" && out.Text == "" {
			b, _ := io.ReadAll(io.LimitReader(part.Body, interimMaxText))
			out.Text = string(b)
		}
	}
	code := interimCodeRE
	if p.Code != nil {
		code = p.Code
	}
	for _, src := range []struct{ name, text string }{{"subject", out.Subject}, {"text", out.Text}} {
		for _, m := range code.FindAllStringSubmatch(src.text, 10) {
			v := m[0]
			if len(m) > 1 {
				v = m[1]
			}
			out.Codes = append(out.Codes, Code{Value: v, Source: src.name, Score: 1})
		}
	}
	return out
}

// interimClip cuts s to at most n bytes, on a rune boundary.
func interimClip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
