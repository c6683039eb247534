package openapi

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/tracing"
)

// inboundRoute is POST /v1/inbound/mime as echo names it: its body is a
// mail message, bounded by the SMTP receiver's limit rather than maxBody.
var inboundRoute = [2]string{http.MethodPost, "/v1/inbound/mime"}

// ReceiveInboundMime stores a message posted by a forwarder for each of its
// recipients, all or none.
func (s *Server) ReceiveInboundMime(c echo.Context, p ReceiveInboundMimeParams) error {
	req := c.Request()
	ctx := req.Context()
	if err := checkMessageType(req.Header.Get(echo.HeaderContentType)); err != nil {
		return err
	}
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		if tl := tooLargeFrom(err); tl != nil {
			return tl
		}
		return understudy.Errorf(understudy.EMALFORMED, "the request body could not be read")
	}
	if len(raw) == 0 {
		return understudy.Invalid("invalid message", understudy.FieldError{Field: "body", Detail: "must hold the RFC 5322 message; it is empty"})
	}
	sender := deref(p.Sender)
	if sender != "" {
		// The envelope sender is shown and may be used as an address: it
		// must be one, as SMTP's MAIL FROM is, with no control characters.
		if a, err := mail.ParseAddress(sender); err != nil || a.Name != "" || a.Address != sender || len(sender) > 254 {
			return understudy.Invalid("invalid message", understudy.FieldError{Field: "sender", Detail: "must be a bare email address such as noreply@app.example.com, at most 254 characters"})
		}
	}
	recipients, err := s.acceptAll(ctx, p.Recipient)
	if err != nil {
		return err
	}
	client, _ := netip.ParseAddr(clientAddr(req))
	ids, err := s.inbox.Receive(ctx, inbox.Delivery{Via: "https", EnvelopeFrom: sender, Recipients: recipients,
		Raw: raw, Client: client.Unmap()})
	if err != nil {
		return err
	}
	out := InboundReceipt{Messages: make([]struct {
		Id        string `json:"id"`
		Recipient string `json:"recipient"`
	}, len(ids))}
	for i, id := range ids {
		out.Messages[i].Id, out.Messages[i].Recipient = id, recipients[i].Address
	}
	return c.JSON(http.StatusAccepted, out)
}

// checkMessageType accepts the media types of a raw message. Errors:
// EMALFORMED naming the header.
func checkMessageType(header string) error {
	mt, _, err := mime.ParseMediaType(header)
	if err == nil && (mt == "message/rfc822" || mt == "application/octet-stream") {
		return nil
	}
	return &understudy.Error{Code: understudy.EMALFORMED, Message: "the request does not match the API contract",
		Fields: []understudy.FieldError{{Field: "Content-Type", Detail: "must be message/rfc822 or application/octet-stream"}}}
}

// acceptAll asks the inbox to accept each distinct recipient (case aside)
// and refuses the delivery when any is refused, naming each refused one:
// a message is stored for all of its recipients or for none. Errors:
// EINVALID, and the inbox's own (a database that is down).
func (s *Server) acceptAll(ctx context.Context, addresses []string) ([]inbox.Recipient, error) {
	var out []inbox.Recipient
	var refused []understudy.FieldError
	seen := map[string]bool{}
	for i, a := range addresses {
		if seen[strings.ToLower(a)] {
			continue
		}
		seen[strings.ToLower(a)] = true
		r, err := s.inbox.Accept(ctx, a)
		switch understudy.ErrorCode(err) {
		case "":
			out = append(out, r)
		case understudy.ENOTFOUND:
			refused = append(refused, understudy.FieldError{Field: fmt.Sprintf("recipient[%d]", i), Detail: strconv.Quote(a) + " is not the address of a synthetic account"})
		case understudy.EINVALID:
			refused = append(refused, understudy.FieldError{Field: fmt.Sprintf("recipient[%d]", i), Detail: "is not an address local@domain of at most 254 characters"})
		default:
			return nil, err
		}
	}
	if len(refused) > 0 {
		return nil, understudy.Invalid(fmt.Sprintf("the message is refused: %d of its recipients are not synthetic accounts; nothing was stored, and retrying will not change that", len(refused)), refused...)
	}
	return out, nil
}

// maxWaitParam is the longest wait a caller may ask of a lease's inbox.
const maxWaitParam = inbox.MaxWait

// parseWait reads the wait parameter: seconds ("30") or a Go duration
// ("30s", "1m"), 0 to 60 s. Errors: EINVALID naming wait.
func parseWait(p *string) (time.Duration, error) {
	v := strings.TrimSpace(deref(p))
	if v == "" {
		return 0, nil
	}
	var d time.Duration
	n, err := strconv.Atoi(v)
	if err == nil && n >= 0 && n <= int(maxWaitParam/time.Second) {
		d = time.Duration(n) * time.Second
	} else if err == nil {
		d = maxWaitParam + 1
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, understudy.Invalid("invalid wait", understudy.FieldError{Field: "wait", Detail: "must be seconds (30) or a duration (30s, 1m); got " + strconv.Quote(v)})
	}
	if d < 0 || d > maxWaitParam {
		return 0, understudy.Invalid("invalid wait", understudy.FieldError{Field: "wait", Detail: fmt.Sprintf("must be 0 to %s; got %s", maxWaitParam, v)})
	}
	return d, nil
}

// leaseInbox is what a read of a lease's inbox reads: the lease's account,
// from the lease's start to its end; ended is set once it has ended, when
// there is nothing left to wait for.
//
// The read runs in a span named name of the lease's trace, which the
// returned context carries; the caller ends it with the read's error.
func (s *Server) leaseInbox(ctx context.Context, id, from, subject, name string) (_ context.Context, _ func(error), f inbox.Filter, ended bool, err error) {
	l, err := s.leases.Owned(ctx, id, "inbox_read")
	if err != nil {
		return ctx, nil, inbox.Filter{}, false, err
	}
	ctx, span := s.leases.Span(ctx, l, name)
	f = inbox.Filter{AccountID: l.AccountID, Since: l.AcquiredAt, From: from, Subject: subject, Bodies: true}
	if l.EndedAt != nil {
		f.Until = *l.EndedAt
	}
	return ctx, endSpan(span), f, l.EndedAt != nil, nil
}

// endSpan returns the end of span: it records the error the work ended
// with, if any.
func endSpan(span trace.Span) func(error) {
	return func(err error) {
		tracing.Fail(span, err)
		span.End()
	}
}

// ListLeaseMessages reads, or waits for, the mail of a lease's account.
func (s *Server) ListLeaseMessages(c echo.Context, id LeaseID, p ListLeaseMessagesParams) (err error) {
	wait, err := parseWait(p.Wait)
	if err != nil {
		return err
	}
	// The wait the caller asked for, then the usual bound for the reads.
	ctx, cancel := context.WithTimeout(c.Request().Context(), wait+s.requestTimeout)
	defer cancel()
	ctx, end, f, ended, err := s.leaseInbox(ctx, id, deref(p.From), deref(p.Subject), "lease.inbox_read")
	if err != nil {
		return err
	}
	defer func() { end(err) }()
	f.After, f.Limit = deref(p.After), deref(p.Limit)
	if ended {
		wait = 0
	}
	list, err := s.inbox.Wait(ctx, f, wait)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{"items": filledMessages(list)})
}

// GetLeaseCode waits for the newest message of a lease's account that has
// a code (or a link) and answers its most likely one.
func (s *Server) GetLeaseCode(c echo.Context, id LeaseID, p GetLeaseCodeParams) (err error) {
	wait, err := parseWait(p.Wait)
	if err != nil {
		return err
	}
	kind := string(deref(p.Kind))
	if kind == "" {
		kind = "code"
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), wait+s.requestTimeout)
	defer cancel()
	ctx, end, f, ended, err := s.leaseInbox(ctx, id, deref(p.From), deref(p.Subject), "lease.code_read")
	if err != nil {
		return err
	}
	defer func() { end(err) }()
	f.Limit = inbox.MaxLimit
	f.After = deref(p.After)
	f.SkipTexts = true // the answer is a code or a link, stored as found
	// The wall clock bounds the caller's wait, as Wait's own timer does.
	deadline := time.Now().Add(wait)
	for {
		left := time.Until(deadline)
		if ended || left < 0 {
			left = 0
		}
		list, err := s.inbox.Wait(ctx, f, left)
		if err != nil {
			return err
		}
		for _, m := range list {
			if a, ok := codeAnswer(m, kind); ok {
				c.Response().Header().Set("Cache-Control", "no-store")
				return c.JSON(http.StatusOK, a)
			}
		}
		if len(list) > 0 {
			f.After = list[0].ID // only what comes after the newest read
		}
		if left == 0 || time.Until(deadline) <= 0 {
			return noMessage(id, kind, wait, ended)
		}
	}
}

// codeAnswer is m's most likely code and link, when m has what kind asks
// for: a code, or a link that is not an unsubscribe link.
func codeAnswer(m inbox.Message, kind string) (MessageCode, bool) {
	if m.Body == nil {
		return MessageCode{}, false
	}
	b := filledBody(*m.Body)
	a := MessageCode{MessageId: m.ID, ReceivedAt: m.ReceivedAt, Codes: make([]MessageCodeCandidate, len(b.Codes)), Links: make([]MessageLink, len(b.Links))}
	for i, x := range b.Codes {
		a.Codes[i] = MessageCodeCandidate{Value: x.Value, Source: x.Source, Score: x.Score}
	}
	if len(b.Codes) > 0 {
		a.Code = new(b.Codes[0].Value)
	}
	for i, x := range b.Links {
		a.Links[i] = MessageLink{Url: x.URL, Kind: x.Kind, Score: x.Score}
		if x.Tracking {
			a.Links[i].Tracking = new(true)
		}
		if x.Target != "" {
			a.Links[i].Target = new(x.Target)
		}
		if a.Link == nil && x.Kind != "unsubscribe" {
			a.Link = new(x.URL)
			if x.Tracking && x.Target != "" {
				a.Link = new(x.Target)
			}
		}
	}
	if kind == "link" {
		return a, a.Link != nil
	}
	return a, a.Code != nil
}

// noMessage is the 404 of a code that did not arrive.
func noMessage(id, kind string, wait time.Duration, ended bool) error {
	if ended {
		// Waiting longer cannot help: a type of its own tells a client to
		// stop rather than call again.
		e := understudy.Errorf(understudy.ENOTFOUND, "no message with a %s arrived for lease %s while it was open; it has ended", kind, id)
		e.Type = "lease-ended"
		return e
	}
	e := understudy.Errorf(understudy.ENOTFOUND, "no message with a %s arrived for lease %s within the wait of %s; call again to keep waiting", kind, id, wait)
	e.Type = "no-message"
	return e
}

// ListAccountMessages lists an account's mail: summaries, and bodies for
// an admin who asks for them.
func (s *Server) ListAccountMessages(c echo.Context, id AccountID, p ListAccountMessagesParams) error {
	ctx := c.Request().Context()
	if _, err := s.accounts.GetAccount(ctx, id); err != nil {
		return err
	}
	// A runner reads the bodies of what it leases, by lease, not by account.
	bodies := deref(p.Bodies) && access.CallerFrom(ctx).Scope == access.ScopeAdmin
	list, err := s.inbox.List(ctx, inbox.Filter{AccountID: id, After: deref(p.After), Limit: deref(p.Limit), Bodies: bodies})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{"items": filledMessages(list)})
}

// GetMessage reads a message with its body.
func (s *Server) GetMessage(c echo.Context, id MessageID) error {
	m, err := s.inbox.Get(c.Request().Context(), id, true)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, filledMessages([]inbox.Message{m})[0])
}

// GetMessageRaw downloads a message as it was received (audited by the
// inbox).
func (s *Server) GetMessageRaw(c echo.Context, id MessageID) error {
	raw, err := s.inbox.Raw(c.Request().Context(), id)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	// The id is a UUID (Raw found it), so the file name needs no quoting.
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": id + ".eml"}))
	return c.Blob(http.StatusOK, "message/rfc822", raw)
}

// filledMessages gives each body empty lists rather than none, as the
// contract's arrays are never null.
func filledMessages(list []inbox.Message) []inbox.Message {
	out := nonNil(list)
	for i := range out {
		if out[i].Body != nil {
			b := filledBody(*out[i].Body)
			out[i].Body = &b
		}
	}
	return out
}

func filledBody(b inbox.Body) inbox.Body {
	b.Headers, b.Codes, b.Links = nonNil(b.Headers), nonNil(b.Codes), nonNil(b.Links)
	return b
}
