package inbox

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// An idle client is told 421 and closed after ReadTimeout.
func TestSMTPIdleClientIsClosed(t *testing.T) {
	t.Parallel()
	_, addr := startSMTP(t, SMTPConfig{ReadTimeout: 200 * time.Millisecond}, newMemReceiver())
	c := dialSMTP(t, addr)
	c.expect("250", "EHLO app.sender.test")
	start := time.Now()
	lines := c.waitClosed(5 * time.Second)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "421 4.4.2") {
		t.Fatalf("an idle client got %q", lines)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v, before ReadTimeout", d)
	}
}

// A sender that trickles its message slower than ReadTimeout allows is
// answered 451 and closed, and nothing is stored.
func TestSMTPSlowSenderIsClosed(t *testing.T) {
	t.Parallel()
	r := newMemReceiver("buyer-1@qa.example.test")
	_, addr := startSMTP(t, SMTPConfig{ReadTimeout: 300 * time.Millisecond}, r)
	c := dialSMTP(t, addr)
	c.expect("250", "EHLO app.sender.test")
	c.expect("250", "MAIL FROM:<a@b.test>")
	c.expect("250", "RCPT TO:<buyer-1@qa.example.test>")
	c.expect("354", "DATA")
	go func() { // a byte every 50ms: each read is quick, the whole is not
		for {
			if _, err := c.conn.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	lines := c.waitClosed(5 * time.Second)
	if len(lines) > 1 || len(lines) == 1 && !strings.HasPrefix(lines[0], "451 4.3.0") {
		t.Fatalf("a slow sender got %q", lines)
	}
	if _, ds := r.snapshot(); len(ds) != 0 {
		t.Fatalf("a partial message was stored: %d", len(ds))
	}
}

// A connection lives at most SessionTimeout, even one busy with NOOPs.
func TestSMTPSessionTimeout(t *testing.T) {
	t.Parallel()
	_, addr := startSMTP(t, SMTPConfig{SessionTimeout: 300 * time.Millisecond}, newMemReceiver())
	c := dialSMTP(t, addr)
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		if code, _ := c.cmd("NOOP"); code != 250 {
			if d := time.Since(start); d < 250*time.Millisecond {
				t.Fatalf("closed after %v", d)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("a NOOP loop kept its connection past SessionTimeout")
}

// Past MaxConnsPerClient open connections, the next is 421 4.7.0 and
// closed; closing one makes room again.
func TestSMTPConnectionsPerClientAreBounded(t *testing.T) {
	t.Parallel()
	_, addr := startSMTP(t, SMTPConfig{MaxConnsPerClient: 2}, newMemReceiver())
	c1 := dialSMTP(t, addr)
	_ = dialSMTP(t, addr)
	c3 := dialRaw(t, addr)
	if lines := c3.waitClosed(5 * time.Second); len(lines) != 1 || !strings.HasPrefix(lines[0], "421 4.7.0 mx.test Too many connections from your address") {
		t.Fatalf("third connection got %q", lines)
	}
	c1.expect("221", "QUIT")
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := dialRaw(t, addr)
		code, msg := c.read()
		if code == 220 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a close: %d %s", code, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Past MaxConnsPerMinute connections in a minute, the next is 421 4.7.0;
// the bucket refills with time.
func TestSMTPConnectionRatePerClientIsBounded(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	_, addr := startSMTP(t, SMTPConfig{MaxConnsPerMinute: 3, Now: clock}, newMemReceiver())
	for range 3 {
		c := dialSMTP(t, addr)
		c.expect("221", "QUIT")
	}
	c := dialRaw(t, addr)
	if code, msg := c.read(); code != 421 || !strings.HasPrefix(msg, "4.7.0") || !strings.Contains(msg, "last minute") {
		t.Fatalf("fourth connection in a minute: %d %s", code, msg)
	}
	now.Add(int64(20 * time.Second)) // a third of a minute: one more
	dialSMTP(t, addr).expect("221", "QUIT")
	if code, _ := dialRaw(t, addr).read(); code != 421 {
		t.Fatalf("a second one after 20s: %d", code)
	}
}

// STARTTLS is offered when TLS is set, and a message sent over it is
// delivered.
func TestSMTPStartTLS(t *testing.T) {
	t.Parallel()
	cert, pool := testCertificate(t, "mx.test")
	r := newMemReceiver("buyer-1@qa.example.test")
	_, addr := startSMTP(t, SMTPConfig{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}, r)
	c, err := smtp.DialStartTLS(addr, &tls.Config{RootCAs: pool, ServerName: "mx.test"}) // fails unless STARTTLS is offered
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("app.sender.test"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.TLSConnectionState(); !ok {
		t.Fatal("not over TLS")
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Fatal("STARTTLS offered again over TLS")
	}
	if err := c.Mail("a@b.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("buyer-1@qa.example.test", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(rfc822Message("a@b.test", "buyer-1@qa.example.test", "tls", "Code 424242"))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	_, ds := r.snapshot()
	if len(ds) != 1 || ds[0].Helo != "app.sender.test" || !strings.Contains(string(ds[0].Raw), "Code 424242") {
		t.Fatalf("deliveries = %+v", ds)
	}
}

// Shutdown closes an idle connection at once, lets a message being
// delivered finish with its 250, then closes that connection too.
func TestSMTPShutdownLetsDeliveriesFinish(t *testing.T) {
	t.Parallel()
	r := newMemReceiver("buyer-1@qa.example.test")
	r.block = make(chan struct{})
	s, addr := startSMTP(t, SMTPConfig{}, r)
	idle := dialSMTP(t, addr)
	idle.expect("250", "EHLO idle.test")
	busy := dialSMTP(t, addr)
	busy.expect("250", "EHLO busy.test")
	busy.expect("250", "MAIL FROM:<a@b.test>")
	busy.expect("250", "RCPT TO:<buyer-1@qa.example.test>")
	answer := make(chan string, 1)
	go func() {
		code, msg := busy.data(rfc822Message("a@b.test", "buyer-1@qa.example.test", "hi", "hello"))
		answer <- strings.TrimSpace(strconv.Itoa(code) + " " + msg)
	}()
	<-r.received
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	idle.waitClosed(2 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v before the delivery ended", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(r.block)
	if got := <-answer; !strings.HasPrefix(got, "250 2.0.0 OK: queued as") {
		t.Fatalf("the message being delivered got %q", got)
	}
	busy.waitClosed(2 * time.Second)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
	if _, ds := r.snapshot(); len(ds) != 1 {
		t.Fatalf("deliveries = %d", len(ds))
	}
}

// When ctx ends first, Shutdown closes what is left, cancels the delivery
// and returns ctx's error.
func TestSMTPShutdownDeadline(t *testing.T) {
	t.Parallel()
	r := newMemReceiver("buyer-1@qa.example.test")
	r.block = make(chan struct{}) // never closed: the delivery waits for its ctx
	s, addr := startSMTP(t, SMTPConfig{}, r)
	c := dialSMTP(t, addr)
	c.expect("250", "EHLO busy.test")
	c.expect("250", "MAIL FROM:<a@b.test>")
	c.expect("250", "RCPT TO:<buyer-1@qa.example.test>")
	c.expect("354", "DATA")
	ended := make(chan int, 1)
	go func() {
		w := c.tp.DotWriter()
		_, _ = w.Write([]byte(rfc822Message("a@b.test", "buyer-1@qa.example.test", "hi", "hello")))
		_ = w.Close()
		code, _ := c.read()
		ended <- code
	}()
	<-r.received
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline", err)
	}
	select {
	case code := <-ended: // closed, perhaps after a 451 for the cancelled delivery
		if code != 0 && code != 451 {
			t.Fatalf("the cut delivery got %d", code)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the connection is still open after Shutdown's deadline")
	}
	if _, ds := r.snapshot(); len(ds) != 0 {
		t.Fatalf("deliveries = %d", len(ds))
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("a second Shutdown = %v", err)
	}
}

// Shutdown without Serve is fine, and Serve after Shutdown returns at once.
func TestSMTPShutdownWithoutServe(t *testing.T) {
	t.Parallel()
	s, err := NewSMTPServer(SMTPConfig{Hostname: "mx.test"}, newMemReceiver())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(l); err != nil {
		t.Fatalf("Serve after Shutdown = %v", err)
	}
	if s.Addr() != nil {
		t.Fatalf("Addr = %v after Shutdown", s.Addr())
	}
}

// testCertificate makes a self-signed certificate for host, and the pool
// that trusts it.
func testCertificate(t testing.TB, host string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
