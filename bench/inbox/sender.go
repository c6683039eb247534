package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"sync/atomic"
	"time"
)

// sendTimeout bounds one message, from MAIL FROM to the 250 after the
// data (a 10 MiB message on loopback takes well under a second).
const sendTimeout = 60 * time.Second

// seq numbers the messages of a run, for their Message-IDs.
var seq atomic.Uint64

// sender is one SMTP client that keeps its connection and sends one
// message after another on it, as a mail queue of the app under test
// would. It is used from one goroutine at a time.
type sender struct {
	addr string // host:port of the SMTP server
	conn net.Conn
	c    *smtp.Client
	n    int // messages sent on the open connection
}

// perConnection is how many messages a sender sends on one connection
// before it opens another, as a mail queue does: Understudy's receiver
// accepts 100 on one connection (inbox.SMTPConfig.MaxMessagesPerConn).
const perConnection = 50

// newSender returns a sender to addr; it connects on its first message.
func newSender(addr string) *sender { return &sender{addr: addr} }

// send delivers raw to rcpt (MAIL FROM, RCPT TO, DATA) and returns when
// the server has answered the data with 250, and when that was. After a
// failure the connection is dropped; the next send makes a new one.
func (s *sender) send(ctx context.Context, rcpt string, raw []byte) (time.Time, error) {
	if s.n >= perConnection {
		s.Close()
	}
	if err := s.connect(ctx); err != nil {
		return time.Time{}, err
	}
	_ = s.conn.SetDeadline(time.Now().Add(sendTimeout))
	at, err := s.transaction(rcpt, raw)
	if err != nil {
		s.Close()
		return time.Time{}, fmt.Errorf("sending to %s over SMTP at %s: %w", rcpt, s.addr, err)
	}
	s.n++
	return at, nil
}

// transaction is one SMTP mail transaction on the open connection.
func (s *sender) transaction(rcpt string, raw []byte) (time.Time, error) {
	if err := s.c.Mail(benchFrom); err != nil {
		return time.Time{}, fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := s.c.Rcpt(rcpt); err != nil {
		return time.Time{}, fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := s.c.Data()
	if err != nil {
		return time.Time{}, fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return time.Time{}, fmt.Errorf("writing the message: %w", err)
	}
	if err := w.Close(); err != nil { // reads the reply to the final dot
		return time.Time{}, fmt.Errorf("end of DATA: %w", err)
	}
	return time.Now(), nil
}

// connect dials and greets the server, unless the connection is open.
func (s *sender) connect(ctx context.Context) error {
	if s.c != nil {
		return nil
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("connecting to SMTP at %s: %w", s.addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(sendTimeout))
	host, _, _ := net.SplitHostPort(s.addr)
	c, err := smtp.NewClient(conn, host)
	if err == nil {
		err = c.Hello("bench.shop.example.com")
	}
	if err != nil {
		conn.Close()
		return fmt.Errorf("greeting SMTP at %s: %w", s.addr, err)
	}
	s.conn, s.c, s.n = conn, c, 0
	return nil
}

// Close says QUIT (briefly) and closes the connection, if one is open.
func (s *sender) Close() error {
	if s.c == nil {
		return nil
	}
	_ = s.conn.SetDeadline(time.Now().Add(time.Second))
	err := s.c.Quit()
	if err != nil {
		err = errors.Join(err, s.c.Close())
	}
	s.conn, s.c = nil, nil
	return err
}

// waitSMTP waits until addr greets an SMTP client with 220, for up to
// timeout: a program's HTTP side may be ready before its SMTP side.
func waitSMTP(ctx context.Context, name, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		s := newSender(addr)
		err := s.connect(ctx)
		if err == nil {
			return s.Close()
		}
		if ctx.Err() == nil || last == nil {
			last = err // not the dial the deadline cut short
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s does not answer SMTP at %s within %s: %w", name, addr, timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
