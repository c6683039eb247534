package inbox

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTPConfig configures the SMTP receiver, the MX of the controlled
// domains. It accepts mail only for the addresses its Receiver accepts,
// never relays and offers no AUTH.
type SMTPConfig struct {
	// Addr is where ListenAndServe listens. Defaults to ":25".
	Addr string
	// Hostname is the server's name in its greeting and EHLO answer.
	// Defaults to os.Hostname, or "localhost" when it has none.
	Hostname string
	// MaxBytes bounds one message: a larger one is answered 552 5.3.4 and
	// nothing of it is stored. From 1 KiB to 100 MiB. Defaults to 10 MiB.
	MaxBytes int64
	// MaxRecipients bounds the RCPT commands of one message, accepted or
	// not; each further one is answered 452 4.5.3 without a lookup.
	// Defaults to 100.
	MaxRecipients int
	// MaxMessagesPerConn bounds the messages (MAIL commands) of one
	// connection; the next is answered 421 4.7.0 and the connection is
	// closed. Defaults to 100.
	MaxMessagesPerConn int
	// MaxConcurrentMessages bounds the messages read and delivered at once
	// across all connections, so the memory they take stays under about
	// 1.5 × MaxConcurrentMessages × MaxBytes; a message that finds no room
	// within half of ReadTimeout is answered 451 4.3.2. Defaults to 16.
	MaxConcurrentMessages int
	// ReadTimeout bounds the wait for each command line (so it is the idle
	// timeout too) and for a whole message after DATA: a client that sends
	// nothing, or too slowly, for this long is answered 421 and closed.
	// Defaults to 60s.
	ReadTimeout time.Duration
	// WriteTimeout bounds the writing of each answer. Defaults to 60s.
	WriteTimeout time.Duration
	// SessionTimeout bounds a connection's whole life, whatever it does, so
	// that a client looping on NOOP cannot keep its slot. Defaults to 10m.
	SessionTimeout time.Duration
	// MaxConnsPerClient bounds the open connections of one client address
	// (an IPv6 client's /64); beyond it a connection is answered 421 4.7.0
	// and closed. Defaults to 10.
	MaxConnsPerClient int
	// MaxConnsPerMinute bounds the connections one client address (an IPv6
	// client's /64) opens per minute, as a token bucket; beyond it a
	// connection is answered 421 4.7.0 and closed. Defaults to 120.
	MaxConnsPerMinute int
	// MaxConns bounds the open connections of all clients together.
	// Defaults to 1000.
	MaxConns int
	// TLS, when set, lets a client upgrade with STARTTLS; the command is
	// offered only then. Defaults to nil: no STARTTLS.
	TLS *tls.Config
	// CheckSenders runs SPF, DKIM and DMARC on every message and records
	// the results in Delivery.Auth; no message is refused for them.
	// Defaults to true.
	CheckSenders *bool
	// Resolver answers the DNS questions of the sender checks. Defaults to
	// net.DefaultResolver.
	Resolver Resolver
	// CheckTimeout bounds all the sender checks of one message together.
	// Defaults to 2s.
	CheckTimeout time.Duration
	// DeliverTimeout bounds each call to the Receiver. Defaults to 30s.
	DeliverTimeout time.Duration
	// Logger receives the deliveries (queue id, counts, never a body) and
	// the Receiver's failures. Defaults to discarding.
	Logger *slog.Logger
	// Now tells the time for the per-client rate. Defaults to time.Now.
	Now func() time.Time
}

// WithDefaults returns c with its unset fields filled.
func (c SMTPConfig) WithDefaults() SMTPConfig {
	c.Addr = cmp.Or(c.Addr, ":25")
	if c.Hostname == "" {
		h, _ := os.Hostname()
		c.Hostname = cmp.Or(h, "localhost")
	}
	c.MaxBytes = cmp.Or(c.MaxBytes, 10<<20)
	c.MaxRecipients = cmp.Or(c.MaxRecipients, 100)
	c.MaxMessagesPerConn = cmp.Or(c.MaxMessagesPerConn, 100)
	c.MaxConcurrentMessages = cmp.Or(c.MaxConcurrentMessages, 16)
	c.ReadTimeout = cmp.Or(c.ReadTimeout, 60*time.Second)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, 60*time.Second)
	c.SessionTimeout = cmp.Or(c.SessionTimeout, 10*time.Minute)
	c.MaxConnsPerClient = cmp.Or(c.MaxConnsPerClient, 10)
	c.MaxConnsPerMinute = cmp.Or(c.MaxConnsPerMinute, 120)
	c.MaxConns = cmp.Or(c.MaxConns, 1000)
	if c.CheckSenders == nil {
		c.CheckSenders = new(true)
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	c.CheckTimeout = cmp.Or(c.CheckTimeout, 2*time.Second)
	c.DeliverTimeout = cmp.Or(c.DeliverTimeout, 30*time.Second)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate names every bad field of c (after WithDefaults).
func (c SMTPConfig) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("inbox: SMTPConfig.%s %s", field, fmt.Sprintf(format, args...)))
	}
	if c.MaxBytes < 1<<10 || c.MaxBytes > 100<<20 {
		bad("MaxBytes", "must be from 1024 (1 KiB) to 104857600 (100 MiB), got %d", c.MaxBytes)
	}
	if strings.ContainsAny(c.Hostname, " \t\r\n") || len(c.Hostname) > 253 {
		bad("Hostname", "must be a host name of at most 253 characters without spaces, got %q", bounded(c.Hostname, 64))
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"MaxRecipients", c.MaxRecipients}, {"MaxMessagesPerConn", c.MaxMessagesPerConn},
		{"MaxConcurrentMessages", c.MaxConcurrentMessages}, {"MaxConnsPerClient", c.MaxConnsPerClient},
		{"MaxConnsPerMinute", c.MaxConnsPerMinute}, {"MaxConns", c.MaxConns}} {
		if f.n < 1 {
			bad(f.name, "must be at least 1, got %d", f.n)
		}
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"ReadTimeout", c.ReadTimeout}, {"WriteTimeout", c.WriteTimeout}, {"SessionTimeout", c.SessionTimeout},
		{"CheckTimeout", c.CheckTimeout}, {"DeliverTimeout", c.DeliverTimeout}} {
		if f.d <= 0 {
			bad(f.name, "must be positive, got %v", f.d)
		}
	}
	return errors.Join(errs...)
}

// SMTPServer is the SMTP receiver. It is safe for concurrent use; Shutdown
// may be called without Serve, and twice.
type SMTPServer struct {
	cfg      SMTPConfig
	receiver Receiver
	checks   *senderChecks // nil when CheckSenders is off
	srv      *smtp.Server
	limits   *clientLimits
	slots    chan struct{} // MaxConcurrentMessages
	logger   *slog.Logger

	// ctx is the parent of every Receiver call; cancel ends them when
	// Shutdown runs out of time.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	listener net.Listener
	conns    map[*trackedConn]struct{}
	shutdown bool
}

// NewSMTPServer returns a server that delivers to r, or an error naming
// the bad field of cfg.
func NewSMTPServer(cfg SMTPConfig, r Receiver) (*SMTPServer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("inbox: NewSMTPServer needs a Receiver")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &SMTPServer{
		cfg: cfg, receiver: r, logger: cfg.Logger, ctx: ctx, cancel: cancel,
		limits: newClientLimits(cfg.MaxConnsPerClient, cfg.MaxConnsPerMinute, cfg.MaxConns),
		slots:  make(chan struct{}, cfg.MaxConcurrentMessages),
		conns:  map[*trackedConn]struct{}{},
	}
	if *cfg.CheckSenders {
		s.checks = &senderChecks{resolver: cfg.Resolver, timeout: cfg.CheckTimeout}
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = cfg.Hostname
	srv.TLSConfig = cfg.TLS
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.WriteTimeout
	// go-smtp's reader refuses the byte that would reach its limit, so it is
	// given one more; the session enforces MaxBytes to the byte, and
	// refuses a MAIL SIZE= over it.
	srv.MaxMessageBytes = cfg.MaxBytes + 1
	// The recipient limit is the session's, so that refused recipients
	// count too (go-smtp counts only accepted ones).
	srv.MaxRecipients = 0
	srv.ErrorLog = smtpLog{cfg.Logger}
	s.srv = srv
	return s, nil
}

// Serve accepts connections on l until Shutdown. It returns nil after
// Shutdown, and the listener's error otherwise.
func (s *SMTPServer) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.listener = l
	s.mu.Unlock()
	return s.srv.Serve(&limitListener{Listener: l, s: s})
}

// ListenAndServe listens on cfg.Addr and serves, as Serve.
func (s *SMTPServer) ListenAndServe() error {
	l, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp: listening on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(l)
}

// Addr is the address the server listens on, nil before Serve.
func (s *SMTPServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return nil
	}
	return s.listener.Addr()
}

// Shutdown stops accepting connections, closes the idle ones at once, and
// lets each message being received finish (its answer written) until ctx
// ends; then it closes what is left, cancels the Receiver calls still
// running and returns ctx's error.
func (s *SMTPServer) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return nil
	}
	s.shutdown = true
	s.mu.Unlock()
	for _, c := range s.openConns() {
		c.drain()
	}
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	if ctx.Err() != nil {
		s.cancel()
		for _, c := range s.openConns() {
			c.Close()
		}
		return ctx.Err()
	}
	s.cancel()
	return err
}

// openConns lists the connections open now.
func (s *SMTPServer) openConns() []*trackedConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns
}

// smtpLog passes go-smtp's own reports to the logger: a panic as an
// error, a broken connection as debug (the internet sends many).
type smtpLog struct{ l *slog.Logger }

// Printf implements smtp.Logger.
func (s smtpLog) Printf(format string, v ...any) { s.log(fmt.Sprintf(format, v...)) }

// Println implements smtp.Logger.
func (s smtpLog) Println(v ...any) { s.log(strings.TrimSuffix(fmt.Sprintln(v...), "\n")) }

func (s smtpLog) log(msg string) {
	if strings.HasPrefix(msg, "panic") {
		s.l.Error("smtp: " + msg)
		return
	}
	s.l.Debug("smtp: " + msg)
}
