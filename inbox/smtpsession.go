package inbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	understudy "github.com/understudy-dev/understudy"
)

// maxAddress bounds an envelope address (RFC 5321 section 4.5.3.1.3 allows
// a path of 256 octets, brackets included).
const maxAddress = 254

// SMTP answers. None carries an internal detail.
var (
	errTempFailure    = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again later"}
	errBusy           = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Too busy, try again later"}
	errTooManyRcpts   = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3}, Message: "Too many recipients"}
	errTooManyMsgs    = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many messages on one connection, closing"}
	errTooLarge       = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too large"}
	errNoRecipients   = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "No valid recipients"}
	errAddressTooLong = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Address too long"}
)

// session is one SMTP conversation's transaction state; go-smtp calls its
// methods one at a time.
type session struct {
	s     *SMTPServer
	conn  *trackedConn
	smtpc *smtp.Conn

	helo     string
	from     string
	size     int64 // the MAIL SIZE= hint, 0 without
	rcpts    []Recipient
	attempts int // RCPT commands of this message, accepted or not
}

var _ smtp.Session = (*session)(nil)

// newSession starts a session on an admitted connection.
func (s *SMTPServer) newSession(c *smtp.Conn) (smtp.Session, error) {
	tc := tracked(c)
	if tc == nil {
		return nil, errTempFailure
	}
	return &session{s: s, conn: tc, smtpc: c}, nil
}

// Mail starts a message. The connection's MaxMessagesPerConn+1st is
// refused and the connection closed.
func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	ss.Reset()
	if ss.conn.messages.Add(1) > int64(ss.s.cfg.MaxMessagesPerConn) {
		ss.conn.closeAfterAnswer()
		return errTooManyMsgs
	}
	if opts != nil && opts.Size > ss.s.cfg.MaxBytes {
		return errTooLarge
	}
	if len(from) > maxAddress {
		return errAddressTooLong
	}
	ss.helo = ss.smtpc.Hostname()
	ss.from = from
	if opts != nil {
		ss.size = opts.Size
	}
	return nil
}

// Rcpt asks the Receiver whether to is a synthetic account's address.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.attempts++
	if ss.attempts > ss.s.cfg.MaxRecipients {
		return errTooManyRcpts
	}
	if len(to) > maxAddress {
		return errAddressTooLong
	}
	for _, r := range ss.rcpts {
		if strings.EqualFold(r.Address, to) {
			return nil // once is enough
		}
	}
	ctx, cancel := context.WithTimeout(ss.s.ctx, ss.s.cfg.DeliverTimeout)
	defer cancel()
	r, err := ss.s.receiver.Accept(ctx, to)
	switch code := understudy.ErrorCode(err); code {
	case "":
		ss.rcpts = append(ss.rcpts, r)
		return nil
	case understudy.ENOTFOUND:
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + printable(to) + ">: no such synthetic account"}
	case understudy.EINVALID, understudy.EMALFORMED:
		// A permanent fault of the address: a 4xx would make the sender
		// retry it for days.
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "<" + printable(to) + ">: not a valid address"}
	default:
		ss.s.logger.Warn("smtp: accepting a recipient failed", "client", ss.conn.client.String(), "code", code, "err", err)
		return errTempFailure
	}
}

// Data reads the message, at most MaxBytes, checks its sender and hands
// it to the Receiver.
func (ss *session) Data(r io.Reader) error {
	if len(ss.rcpts) == 0 {
		return errNoRecipients
	}
	if err := ss.s.takeSlot(); err != nil {
		return err
	}
	defer ss.s.freeSlot()
	ss.conn.startData()
	raw, err := readBounded(r, ss.s.cfg.MaxBytes, ss.size)
	switch {
	case errors.Is(err, errTooLarge), errors.Is(err, smtp.ErrDataTooLarge):
		return errTooLarge
	case err != nil:
		ss.conn.closeAfterAnswer() // the client is gone or too slow
		return errTempFailure
	}
	queue := queueID()
	d := Delivery{Via: "smtp", EnvelopeFrom: ss.from, Recipients: ss.rcpts, Raw: raw, Client: ss.conn.client, Helo: ss.helo}
	if ss.s.checks != nil {
		d.Auth = ss.s.checks.check(ss.s.ctx, raw, envelope{client: d.Client, helo: d.Helo, from: d.EnvelopeFrom})
	}
	ctx, cancel := context.WithTimeout(ss.s.ctx, ss.s.cfg.DeliverTimeout)
	defer cancel()
	ids, err := ss.s.receiver.Receive(ctx, d)
	if err != nil {
		ss.s.logger.Warn("smtp: delivering a message failed", "queue_id", queue, "client", d.Client.String(),
			"code", understudy.ErrorCode(err), "err", err)
		return errTempFailure
	}
	ss.s.logger.Info("smtp: message received", "queue_id", queue, "client", d.Client.String(), "bytes", len(raw),
		"recipients", len(d.Recipients), "messages", ids, "spf", d.Auth.SPF, "dkim", d.Auth.DKIM, "dmarc", d.Auth.DMARC)
	// go-smtp writes an error's code as it is: this 250 carries the queue
	// id, never the stored messages' ids.
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK: queued as " + queue}
}

// Reset forgets the message being prepared.
func (ss *session) Reset() {
	ss.from, ss.size, ss.rcpts, ss.attempts = "", 0, nil, 0
}

// Logout ends the session; nothing is held.
func (ss *session) Logout() error { return nil }

// takeSlot waits for one of the MaxConcurrentMessages slots, at most half
// of ReadTimeout: the message must still be read within it.
func (s *SMTPServer) takeSlot() error {
	t := time.NewTimer(s.cfg.ReadTimeout / 2)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-t.C:
		return errBusy
	case <-s.ctx.Done():
		return errBusy
	}
}

func (s *SMTPServer) freeSlot() { <-s.slots }

// readBounded reads r to its end, keeping at most max bytes: with more it
// returns errTooLarge, having read max+1. The buffer starts at the size
// the sender announced (MAIL SIZE=, plus room for the trace lines a relay
// adds) or 16 KiB, and doubles, never past max+1: a small message takes
// little (a sign-in mail is 5 to 30 KiB; a buffer of 64 KiB for each was
// a third of the receiver's allocation and so of its collection), and an
// announced one is read without copies.
func readBounded(r io.Reader, max, hint int64) ([]byte, error) {
	limit := max + 1
	initial := int64(16 << 10)
	if hint > 0 {
		initial = hint + 4<<10
	}
	buf := make([]byte, 0, min(limit, initial))
	for {
		if int64(len(buf)) == limit {
			return nil, errTooLarge
		}
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(limit, 2*int64(cap(buf))))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > max {
				return nil, errTooLarge
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// queueID names one received message in the logs and in the 250 answer.
func queueID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// printable is an address fit to repeat in an answer: printable ASCII
// only, at most maxAddress bytes.
func printable(s string) string {
	b := []byte(s[:min(len(s), maxAddress)])
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
