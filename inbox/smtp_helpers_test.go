package inbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	understudy "github.com/understudy-dev/understudy"
)

// memReceiver is an in-memory Receiver: the addresses it knows are
// synthetic accounts. It is a test double of the contract, not a database.
type memReceiver struct {
	mu         sync.Mutex
	accounts   map[string]string // lower-case address → account id
	acceptErr  error             // returned by Accept for every known address when set
	receiveErr error
	block      chan struct{} // when set, Receive waits for it (or ctx)
	keepRaw    bool
	accepts    int
	deliveries []Delivery
	received   chan struct{} // signalled when Receive starts
}

func newMemReceiver(addrs ...string) *memReceiver {
	r := &memReceiver{accounts: map[string]string{}, keepRaw: true, received: make(chan struct{}, 100)}
	for i, a := range addrs {
		r.accounts[strings.ToLower(a)] = fmt.Sprintf("acct-%d", i+1)
	}
	return r
}

var _ Receiver = (*memReceiver)(nil)

func (r *memReceiver) Accept(_ context.Context, address string) (Recipient, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accepts++
	if r.acceptErr != nil {
		return Recipient{}, r.acceptErr
	}
	local, domain, _ := strings.Cut(strings.ToLower(address), "@")
	local, _, _ = strings.Cut(local, "+") // plus-tags reach the account
	id, ok := r.accounts[local+"@"+domain]
	if !ok {
		return Recipient{}, understudy.Errorf(understudy.ENOTFOUND, "no synthetic account has the address %s", address)
	}
	return Recipient{Address: address, AccountID: id}, nil
}

func (r *memReceiver) Receive(ctx context.Context, d Delivery) ([]string, error) {
	r.received <- struct{}{}
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.receiveErr != nil {
		return nil, r.receiveErr
	}
	if !r.keepRaw {
		d.Raw = nil
	}
	r.deliveries = append(r.deliveries, d)
	ids := make([]string, len(d.Recipients))
	for i := range ids {
		ids[i] = fmt.Sprintf("stored-message-%d-%d", len(r.deliveries), i)
	}
	return ids, nil
}

func (r *memReceiver) snapshot() (int, []Delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepts, append([]Delivery(nil), r.deliveries...)
}

// startSMTP serves cfg on a fresh port and shuts the server down when the
// test ends.
func startSMTP(t testing.TB, cfg SMTPConfig, r Receiver) (*SMTPServer, string) {
	t.Helper()
	cfg.Hostname = "mx.test"
	if cfg.CheckSenders == nil {
		cfg.CheckSenders = new(false)
	}
	s, err := NewSMTPServer(cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, l.Addr().String()
}

// smtpConn is a raw SMTP client over net/textproto, so that every answer
// is seen as the server wrote it.
type smtpConn struct {
	t    testing.TB
	conn net.Conn
	tp   *textproto.Conn
}

// dialSMTP connects and reads the greeting.
func dialSMTP(t testing.TB, addr string) *smtpConn {
	t.Helper()
	c := dialRaw(t, addr)
	if code, msg := c.read(); code != 220 {
		t.Fatalf("greeting: %d %s", code, msg)
	}
	return c
}

func dialRaw(t testing.TB, addr string) *smtpConn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	return &smtpConn{t: t, conn: conn, tp: textproto.NewConn(conn)}
}

// read reads one answer; code 0 means the connection ended.
func (c *smtpConn) read() (int, string) {
	code, msg, err := c.tp.ReadResponse(0)
	var perr textproto.ProtocolError
	if err != nil && !errors.As(err, &perr) && code == 0 {
		return 0, err.Error()
	}
	return code, msg
}

// cmd sends a command and reads its answer.
func (c *smtpConn) cmd(format string, args ...any) (int, string) {
	c.t.Helper()
	if err := c.tp.PrintfLine(format, args...); err != nil {
		return 0, err.Error()
	}
	return c.read()
}

// expect sends a command and fails the test unless the answer starts with
// want (a code, and optionally the enhanced code and text).
func (c *smtpConn) expect(want, format string, args ...any) string {
	c.t.Helper()
	code, msg := c.cmd(format, args...)
	if got := fmt.Sprintf("%d %s", code, msg); !strings.HasPrefix(got, want) {
		c.t.Fatalf("%s: got %q, want %q…", fmt.Sprintf(format, args...), got, want)
	}
	return msg
}

// data sends DATA, the body (dot-stuffed) and the end, and returns the
// answer to the end.
func (c *smtpConn) data(body string) (int, string) {
	c.t.Helper()
	if code, msg := c.cmd("DATA"); code != 354 {
		c.t.Fatalf("DATA: %d %s", code, msg)
	}
	w := c.tp.DotWriter()
	if _, err := w.Write([]byte(body)); err != nil {
		return 0, err.Error()
	}
	if err := w.Close(); err != nil {
		return 0, err.Error()
	}
	return c.read()
}

// waitClosed fails the test unless the server closes the connection within
// d, after any answers it still sends.
func (c *smtpConn) waitClosed(d time.Duration) []string {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	var lines []string
	for {
		line, err := c.tp.ReadLine()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("the connection is still open after %v (read %q)", d, lines)
			}
			return lines
		}
		lines = append(lines, line)
	}
}

// rfc822Message is a small RFC 5322 message.
func rfc822Message(from, to, subject, body string) string {
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nMessage-ID: <m1@sender.test>\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n\r\n" + body + "\r\n"
}
