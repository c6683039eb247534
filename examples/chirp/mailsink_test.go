package chirp_test

import (
	"bytes"
	"io"
	"log"
	"mime"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

// sink is a small SMTP server that keeps every message it gets: chirp's
// peer in the sign-in tests, as Understudy's receiver is in production.
type sink struct {
	addr string
	mu   sync.Mutex
	msgs []sunk
}

// sunk is one message the sink got.
type sunk struct {
	from string
	to   []string
	data []byte
}

func newSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{addr: ln.Addr().String()}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }))
	srv.Domain = "sink.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return s
}

// messages returns what the sink got so far.
func (s *sink) messages() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.msgs...)
}

// sinkSession is one SMTP session with the sink.
type sinkSession struct {
	sink *sink
	cur  sunk
}

func (s *sinkSession) Reset()        { s.cur = sunk{} }
func (s *sinkSession) Logout() error { return nil }
func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.from = from
	return nil
}
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, s.cur)
	s.sink.mu.Unlock()
	return nil
}

// readMail is a sign-in mail, read as a mail client would.
type readMail struct {
	contentType, subject, from, to string
	text, html                     string
	code, link                     string
}

var (
	codeInText = regexp.MustCompile(`Your chirp sign-in code is (\d{6})\b`)
	linkInText = regexp.MustCompile(`(?m)^(http://\S+/login/link\?token=\S+)$`)
)

// read parses the MIME of m: a multipart/alternative of text and HTML.
func (m sunk) read(t *testing.T) readMail {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(m.data))
	if err != nil {
		t.Fatalf("reading the mail: %v\n%s", err, m.data)
	}
	var out readMail
	out.contentType, _, _ = mime.ParseMediaType(r.Header.Get("Content-Type"))
	out.subject, _ = r.Header.Subject()
	out.from, out.to = r.Header.Get("From"), r.Header.Get("To")
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading a part of the mail: %v", err)
		}
		body, _ := io.ReadAll(p.Body)
		h, ok := p.Header.(*mail.InlineHeader)
		if !ok {
			t.Fatalf("the mail has an attachment")
		}
		switch ct, _, _ := h.ContentType(); ct {
		case "text/plain":
			out.text = string(body)
		case "text/html":
			out.html = string(body)
		default:
			t.Fatalf("the mail has a %s part", ct)
		}
	}
	if m := codeInText.FindStringSubmatch(out.text); m != nil {
		out.code = m[1]
	}
	if m := linkInText.FindStringSubmatch(strings.ReplaceAll(out.text, "\r\n", "\n")); m != nil {
		out.link = m[1]
	}
	return out
}
