package console

import (
	"context"
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/inbox"
)

// inboxLength is how many of an account's messages, the newest, its page
// lists.
const inboxLength = 20

// The HTML body of a message is shown in a frame of its own URL
// (messageHTML) rather than in an iframe's srcdoc, for three reasons:
//   - a srcdoc document takes the console page's policy, whose style-src
//     'self' would drop the inline styles the sanitizer keeps, and a page
//     policy loose enough for them ('unsafe-inline') would loosen the
//     console's own pages too; the frame's response has a policy of its
//     own, the strictest that still renders a mail (htmlFramePolicy);
//   - that policy's sandbox gives the document an opaque origin and no
//     scripts even when the URL is opened outside the frame, and the
//     iframe's sandbox="" says the same again, so either alone holds;
//   - every console page but this one keeps frame-ancestors 'none'.
//
// The HTML is sanitized by package inbox when it is read (inbox.Body's
// HTML): no scripts, frames, forms, event handlers or remote loads. The policy and the
// sandbox are defence in depth.
const htmlFramePolicy = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; " +
	"frame-ancestors 'self'; base-uri 'none'; form-action 'none'"

// summaryHeaders are the header fields a message's page shows first, in
// this order, when the message has them.
var summaryHeaders = []string{"From", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID", "Return-Path"}

// messageView is one message as its page shows it to an admin.
type messageView struct {
	Account accounts.Account
	Message inbox.Message
	// Summary are the message's summaryHeaders it has, in that order.
	Summary []inbox.Header
}

// message shows one message of an account to an admin: its headers, the
// sender checks, its codes and links, its text, and its HTML body in a
// sandboxed frame.
func (c *Console) message(w http.ResponseWriter, r *http.Request, s session) {
	if !s.Scope.Allows(needs["message"]) {
		c.refuse(w, r, &s, "Reading a message shows its codes and links, with which a test signs in: it needs scope admin. "+
			"The account's page lists its messages with their codes redacted.")
		return
	}
	a, m, err := c.messageOf(r.Context(), r.PathValue("id"), r.PathValue("mid"), true)
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	v := messageView{Account: a, Message: m}
	if m.Body != nil {
		v.Summary = summaryOf(m.Body.Headers)
	}
	// The title names the sender, not the subject: a title stays in the
	// browser's history, and a subject may carry a code.
	from := m.From
	if from == "" {
		from = "no sender"
	}
	p := pageFor(s, "Message from "+from, "accounts")
	p.Data = v
	c.render(w, r, http.StatusOK, "message", p)
}

// messageHTML answers the sanitized HTML body of a message, to an admin
// alone, as a document for the message page's sandboxed frame, under
// htmlFramePolicy.
func (c *Console) messageHTML(w http.ResponseWriter, r *http.Request, s session) {
	if !s.Scope.Allows(needs["message"]) {
		c.refuse(w, r, &s, "Reading a message's body needs scope admin.")
		return
	}
	_, m, err := c.messageOf(r.Context(), r.PathValue("id"), r.PathValue("mid"), true)
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	var body string
	if m.Body != nil {
		body = m.Body.HTML
	}
	h := w.Header()
	h.Set("Content-Security-Policy", htmlFramePolicy)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	// The body is sanitized HTML (inbox.Body.HTML), written as it is:
	// escaping it would show its markup instead of the mail.
	_, _ = w.Write([]byte(`<!doctype html><html><head><meta charset="utf-8"><title>` + template.HTMLEscapeString(m.Subject) +
		"</title></head><body>" + body + "</body></html>"))
}

// messageRaw sends a message as it was received, as an .eml file, through
// inbox.Service.Raw: to an admin alone, and audited there
// (message.read_raw).
func (c *Console) messageRaw(w http.ResponseWriter, r *http.Request, s session) {
	mid := r.PathValue("mid")
	if _, _, err := c.messageOf(r.Context(), r.PathValue("id"), mid, false); err != nil {
		c.fail(w, r, &s, err)
		return
	}
	raw, err := c.cfg.Inbox.Raw(r.Context(), mid)
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "message/rfc822")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "message-" + mid + ".eml"}))
	h.Set("Content-Length", strconv.Itoa(len(raw)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(raw)
}

// messageOf returns the account with id and its message mid (with its
// body when bodies is set and the caller may read it). A message of
// another account is not found here, so that a page never shows an
// account beside a message that is not its own.
func (c *Console) messageOf(ctx context.Context, id, mid string, bodies bool) (accounts.Account, inbox.Message, error) {
	m, err := c.cfg.Inbox.Get(ctx, mid, bodies)
	if err != nil {
		return accounts.Account{}, inbox.Message{}, err
	}
	a, err := c.cfg.Accounts.GetAccount(ctx, id)
	if err != nil {
		return accounts.Account{}, inbox.Message{}, err
	}
	if m.AccountID != a.ID {
		return accounts.Account{}, inbox.Message{}, understudy.Errorf(understudy.ENOTFOUND, "account %s has no message %s", a.ID, m.ID)
	}
	return a, m, nil
}

// mailList is a list of an account's messages as a page shows it: with
// their codes and links, and linked to their pages, when Bodies is set
// (an admin's session).
type mailList struct {
	AccountID string
	Messages  []inbox.Message
	Bodies    bool
}

// inboxOf lists the newest messages of account id, with their codes and
// links when bodies is set (an admin's session).
func (c *Console) inboxOf(ctx context.Context, id string, bodies bool) ([]inbox.Message, error) {
	return c.cfg.Inbox.List(ctx, inbox.Filter{AccountID: id, Limit: inboxLength, Bodies: bodies})
}

// summaryOf picks the summaryHeaders out of headers: the first field of
// each name, in the order of summaryHeaders.
func summaryOf(headers []inbox.Header) []inbox.Header {
	var out []inbox.Header
	for _, name := range summaryHeaders {
		for _, h := range headers {
			if strings.EqualFold(h.Name, name) {
				out = append(out, inbox.Header{Name: name, Value: h.Value})
				break
			}
		}
	}
	return out
}
