package chirp

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"net"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

// The sign-in mail: a multipart/alternative message, text and HTML, with
// the code, a magic link and the footer a real app's mail has (a year, an
// unsubscribe link), sent over SMTP to the user's address.

// SignInSubject is the subject of the mail that carries a sign-in code.
const SignInSubject = "Your chirp sign-in code"

var (
	//go:embed signin_mail.txt.tmpl
	signInText string
	//go:embed signin_mail.html.tmpl
	signInHTML string

	signInTextTmpl = texttemplate.Must(texttemplate.New("text").Parse(signInText))
	signInHTMLTmpl = htmltemplate.Must(htmltemplate.New("html").Parse(signInHTML))
)

// errNoMail: chirp has no SMTP server to send through.
var errNoMail = errors.New("chirp: no SMTP server is configured")

// signInMail is what the sign-in mail says.
type signInMail struct {
	Name, Code, Link, Unsubscribe, Help string
	Minutes, Year                       int
}

// mailer sends chirp's mail through one SMTP server, without TLS or
// authentication (Understudy's receiver, or a local relay).
type mailer struct {
	addr, from string
	timeout    time.Duration
}

// sendSignInCode mails the code and the magic link of a pending sign-in to
// the user. Errors: errNoMail, and any error of composing or sending.
func (a *App) sendSignInCode(ctx context.Context, u User, s newSignIn) error {
	link := a.baseURL + "/login/link?" + url.Values{"token": {s.LinkToken}}.Encode()
	msg, err := a.mail.compose(u, signInMail{
		Name: u.DisplayName, Code: s.Code, Link: link,
		Unsubscribe: a.baseURL + "/settings/email?unsubscribe=security",
		Help:        a.baseURL + "/help/sign-in",
		Minutes:     int(SignInTTL / time.Minute), Year: a.now().Year(),
	}, a.now())
	if err != nil {
		return fmt.Errorf("composing the sign-in mail: %w", err)
	}
	return a.mail.send(ctx, u.Email, msg)
}

// compose writes the sign-in mail to u as MIME.
func (m mailer) compose(u User, data signInMail, now time.Time) ([]byte, error) {
	var h mail.Header
	h.SetAddressList("From", []*mail.Address{{Name: "chirp", Address: m.from}})
	h.SetAddressList("To", []*mail.Address{{Name: u.DisplayName, Address: u.Email}})
	h.SetSubject(SignInSubject)
	h.SetDate(now)
	h.Set("List-Unsubscribe", "<"+data.Unsubscribe+">")
	if err := h.GenerateMessageIDWithHostname(domainOf(m.from)); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := mail.CreateInlineWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	if err := writePart(w, "text/plain", func(pw io.Writer) error { return signInTextTmpl.Execute(pw, data) }); err != nil {
		return nil, err
	}
	if err := writePart(w, "text/html", func(pw io.Writer) error { return signInHTMLTmpl.Execute(pw, data) }); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writePart writes one alternative of w, in UTF-8.
func writePart(w *mail.InlineWriter, contentType string, body func(io.Writer) error) error {
	var h mail.InlineHeader
	h.SetContentType(contentType, map[string]string{"charset": "utf-8"})
	pw, err := w.CreatePart(h)
	if err != nil {
		return err
	}
	if err := body(pw); err != nil {
		pw.Close()
		return err
	}
	return pw.Close()
}

// domainOf returns the domain of an address, for Message-IDs.
func domainOf(addr string) string {
	_, domain, _ := strings.Cut(addr, "@")
	return domain
}

// send delivers msg to one recipient, all within m.timeout (and ctx): a
// slow or silent server costs the sign-in page at most that long.
func (m mailer) send(ctx context.Context, to string, msg []byte) error {
	if m.addr == "" {
		return errNoMail
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return fmt.Errorf("reaching the SMTP server %s: %w", m.addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // a deadline the client cannot extend
	defer stop()
	c := smtp.NewClient(conn)
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = m.timeout, m.timeout
	err = c.Hello(domainOf(m.from))
	if err == nil {
		err = c.SendMail(m.from, []string{to}, bytes.NewReader(msg))
	}
	if err == nil {
		err = c.Quit()
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return fmt.Errorf("sending mail through %s: %w", m.addr, err)
	}
	return nil
}
