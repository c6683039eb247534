package inbox

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	understudy "github.com/understudy-dev/understudy"
)

// A message for a synthetic account is delivered with its envelope; an
// unknown address is refused with 550 5.1.1, echoed as given.
func TestSMTPDeliversOnlyToSyntheticAccounts(t *testing.T) {
	t.Parallel()
	r := newMemReceiver("buyer-1@qa.example.test")
	_, addr := startSMTP(t, SMTPConfig{}, r)
	c := dialSMTP(t, addr)
	ehlo := c.expect("250", "EHLO app.sender.test")
	if strings.Contains(ehlo, "AUTH") || strings.Contains(ehlo, "STARTTLS") {
		t.Fatalf("EHLO offers AUTH or STARTTLS without TLS: %q", ehlo)
	}
	if !strings.Contains(ehlo, "SIZE 10485761") && !strings.Contains(ehlo, "SIZE") {
		t.Fatalf("EHLO = %q", ehlo)
	}
	c.expect("250", "MAIL FROM:<noreply@app.sender.test>")
	c.expect("550 5.1.1 <someone@gmail.com>: no such synthetic account", "RCPT TO:<someone@gmail.com>")
	c.expect("550 5.1.1 <Real.User@qa.example.test>: no such synthetic account", "RCPT TO:<Real.User@qa.example.test>")
	c.expect("250", "RCPT TO:<buyer-1+signup@qa.example.test>")
	c.expect("250", "RCPT TO:<BUYER-1+signup@qa.example.test>") // the same address twice is stored once
	body := rfc822Message("App <noreply@app.sender.test>", "buyer-1+signup@qa.example.test", "Your code", "Your code is 123456.\r\n.a dot-stuffed line")
	code, msg := c.data(body)
	if code != 250 || !strings.Contains(msg, "queued as ") || strings.Contains(msg, "stored-message") {
		t.Fatalf("end of DATA: %d %q", code, msg)
	}
	c.expect("221", "QUIT")

	_, ds := r.snapshot()
	if len(ds) != 1 {
		t.Fatalf("deliveries = %d, want 1", len(ds))
	}
	d := ds[0]
	if d.Via != "smtp" || d.EnvelopeFrom != "noreply@app.sender.test" || d.Helo != "app.sender.test" ||
		d.Client != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("delivery envelope = %+v", d)
	}
	if len(d.Recipients) != 1 || d.Recipients[0] != (Recipient{Address: "buyer-1+signup@qa.example.test", AccountID: "acct-1"}) {
		t.Fatalf("recipients = %+v", d.Recipients)
	}
	if string(d.Raw) != body {
		t.Fatalf("raw = %q, want %q", d.Raw, body)
	}
	if d.Auth != (AuthResults{}) {
		t.Fatalf("auth = %+v with the checks off", d.Auth)
	}
}

// The server never relays and offers no AUTH: AUTH is refused, and a
// recipient anywhere else is refused whatever the sender claims.
func TestSMTPNeverRelaysNorAuthenticates(t *testing.T) {
	t.Parallel()
	r := newMemReceiver("buyer-1@qa.example.test")
	_, addr := startSMTP(t, SMTPConfig{}, r)
	c := dialSMTP(t, addr)
	c.expect("250", "EHLO app.sender.test")
	if code, msg := c.cmd("AUTH PLAIN AGJ1eWVyLTEAcGFzcw=="); code/100 != 5 {
		t.Fatalf("AUTH: %d %s", code, msg)
	}
	c.expect("250", "MAIL FROM:<buyer-1@qa.example.test>")
	c.expect("550 5.1.1 <victim@example.com>: no such synthetic account", "RCPT TO:<victim@example.com>")
	c.expect("550 5.1.1 <victim@example.com>", "RCPT TO:<@relay.example.com:victim@example.com>") // a source route is dropped, never followed
	if code, msg := c.cmd("DATA"); code/100 != 5 || !strings.HasPrefix(msg, "5.5.1") {
		t.Fatalf("DATA with no accepted recipient: %d %s", code, msg)
	}
	if _, ds := r.snapshot(); len(ds) != 0 {
		t.Fatalf("deliveries = %+v", ds)
	}
}

// A Receiver failure is a temporary failure with no detail, in RCPT and in
// DATA; an invalid address is a permanent one.
func TestSMTPReceiverFailuresAreTemporaryAndSilent(t *testing.T) {
	t.Parallel()
	r := newMemReceiver("buyer-1@qa.example.test")
	r.receiveErr = errors.New("pq: connection to 10.0.0.5 refused; password=hunter2")
	_, addr := startSMTP(t, SMTPConfig{}, r)
	c := dialSMTP(t, addr)
	c.expect("250", "EHLO app.sender.test")
	c.expect("250", "MAIL FROM:<>")
	c.expect("250", "RCPT TO:<buyer-1@qa.example.test>")
	code, msg := c.data(rfc822Message("a@b.test", "buyer-1@qa.example.test", "hi", "hello"))
	if code != 451 || !strings.HasPrefix(msg, "4.3.0") || strings.Contains(msg, "10.0.0.5") || strings.Contains(msg, "hunter2") {
		t.Fatalf("Receive failure: %d %q", code, msg)
	}

	r.mu.Lock()
	r.acceptErr = errors.New("database down at 10.0.0.5")
	r.mu.Unlock()
	c.expect("250", "MAIL FROM:<>")
	if got := c.expect("451 4.3.0", "RCPT TO:<buyer-1@qa.example.test>"); strings.Contains(got, "10.0.0.5") {
		t.Fatalf("RCPT answer leaks: %q", got)
	}
	r.mu.Lock()
	r.acceptErr = understudy.Invalid("invalid address", understudy.FieldError{Field: "address", Detail: "is not an email address"})
	r.mu.Unlock()
	c.expect("550 5.1.3 <buyer-1@qa.example.test>: not a valid address", "RCPT TO:<buyer-1@qa.example.test>")
}

// Past MaxRecipients every RCPT is 452 4.5.3 without asking the Receiver:
// a thousand of them cost MaxRecipients lookups.
func TestSMTPRecipientsAreBounded(t *testing.T) {
	t.Parallel()
	r := newMemReceiver("buyer-1@qa.example.test")
	_, addr := startSMTP(t, SMTPConfig{MaxRecipients: 100}, r)
	c := dialSMTP(t, addr)
	c.expect("250", "EHLO app.sender.test")
	c.expect("250", "MAIL FROM:<a@b.test>")
	const n = 1000
	go func() { // pipelined, as a sender would
		var b strings.Builder
		for i := range n {
			if i == 0 {
				b.WriteString("RCPT TO:<buyer-1@qa.example.test>\r\n")
				continue
			}
			fmt.Fprintf(&b, "RCPT TO:<user%d@qa.example.test>\r\n", i)
		}
		_, _ = c.conn.Write([]byte(b.String()))
	}()
	counts := map[string]int{}
	for range n {
		code, msg := c.read()
		counts[fmt.Sprintf("%d %s", code, msg[:min(5, len(msg))])]++
	}
	if counts["250 2.0.0"] != 1 || counts["550 5.1.1"] != 99 || counts["452 4.5.3"] != 900 {
		t.Fatalf("answers = %v", counts)
	}
	if accepts, _ := r.snapshot(); accepts != 100 {
		t.Fatalf("Accept called %d times, want 100", accepts)
	}
	code, msg := c.data(rfc822Message("a@b.test", "buyer-1@qa.example.test", "hi", "hello"))
	if code != 250 {
		t.Fatalf("DATA after the limit: %d %s", code, msg)
	}
	if _, ds := r.snapshot(); len(ds) != 1 || len(ds[0].Recipients) != 1 {
		t.Fatalf("deliveries = %+v", ds)
	}
	// The count is per message.
	c.expect("250", "MAIL FROM:<a@b.test>")
	c.expect("250", "RCPT TO:<buyer-1@qa.example.test>")
}

// A message over MaxBytes is 552 5.3.4 and nothing is stored; one of
// exactly MaxBytes is taken; a MAIL SIZE= over it is refused at once.
func TestSMTPMessageSizeIsBounded(t *testing.T) {
	t.Parallel()
	r := newMemReceiver("buyer-1@qa.example.test")
	_, addr := startSMTP(t, SMTPConfig{MaxBytes: 1024}, r)
	c := dialSMTP(t, addr)
	c.expect("250", "EHLO app.sender.test")
	c.expect("552 5.3.4", "MAIL FROM:<a@b.test> SIZE=1025")

	head := rfc822Message("a@b.test", "buyer-1@qa.example.test", "big", "")
	exact := head + strings.Repeat("x", 1024-len(head)-2) + "\r\n"
	for _, tc := range []struct {
		body string
		want string
	}{
		{exact + "y", "552 5.3.4"},
		{exact + strings.Repeat("y\r\n", 5000), "552 5.3.4"},
		{exact, "250 2.0.0"},
	} {
		c.expect("250", "MAIL FROM:<a@b.test>")
		c.expect("250", "RCPT TO:<buyer-1@qa.example.test>")
		code, msg := c.data(tc.body)
		if got := fmt.Sprintf("%d %s", code, msg); !strings.HasPrefix(got, tc.want) {
			t.Fatalf("%d bytes: %q, want %q", len(tc.body), got, tc.want)
		}
	}
	_, ds := r.snapshot()
	if len(ds) != 1 || len(ds[0].Raw) != 1024 {
		t.Fatalf("deliveries = %d", len(ds))
	}
}

// MaxMessagesPerConn messages are served; the next MAIL is 421 4.7.0 and
// the connection is closed.
func TestSMTPMessagesPerConnectionAreBounded(t *testing.T) {
	t.Parallel()
	r := newMemReceiver("buyer-1@qa.example.test")
	_, addr := startSMTP(t, SMTPConfig{MaxMessagesPerConn: 2}, r)
	c := dialSMTP(t, addr)
	c.expect("250", "EHLO app.sender.test")
	for range 2 {
		c.expect("250", "MAIL FROM:<a@b.test>")
		c.expect("250", "RSET")
	}
	c.expect("421 4.7.0", "MAIL FROM:<a@b.test>")
	c.waitClosed(5e9)
}

func TestSMTPConfigValidate(t *testing.T) {
	t.Parallel()
	err := SMTPConfig{MaxBytes: 10, MaxRecipients: -1, ReadTimeout: -1, Hostname: "bad host"}.WithDefaults().Validate()
	for _, want := range []string{"SMTPConfig.MaxBytes", "SMTPConfig.MaxRecipients", "SMTPConfig.ReadTimeout", "SMTPConfig.Hostname"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Validate() = %v, want it to name %s", err, want)
		}
	}
	d := SMTPConfig{}.WithDefaults()
	if d.MaxBytes != 10<<20 || d.MaxRecipients != 100 || d.MaxMessagesPerConn != 100 || d.ReadTimeout.Seconds() != 60 ||
		d.WriteTimeout.Seconds() != 60 || d.MaxConnsPerClient != 10 || d.MaxConnsPerMinute != 120 || !*d.CheckSenders ||
		d.Hostname == "" || d.CheckTimeout.Seconds() != 2 {
		t.Fatalf("defaults = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSMTPServer(SMTPConfig{}, nil); err == nil {
		t.Fatal("NewSMTPServer without a Receiver succeeded")
	}
}
