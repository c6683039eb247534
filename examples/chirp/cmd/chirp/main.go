// Command chirp runs chirp, Understudy's example social app: it migrates
// chirp's schema, then serves its HTTP API and the webhook contract until
// SIGINT or SIGTERM.
//
//	CHIRP_DATABASE_URL=postgres://… CHIRP_WEBHOOK_SECRET=… chirp [-addr 127.0.0.1:8090]
//
// Flags override the environment: -database-url (CHIRP_DATABASE_URL,
// required), -addr (CHIRP_ADDR, default 127.0.0.1:8090), -webhook-secret
// (CHIRP_WEBHOOK_SECRET, required), -smtp-addr (CHIRP_SMTP_ADDR: the SMTP
// server chirp mails sign-in codes through; none by default),
// -mail-from (CHIRP_MAIL_FROM, default no-reply@chirp.test), -base-url
// (CHIRP_BASE_URL: where people reach chirp, for the links it mails;
// default http://<the address it listens on>) and -sign-in-code
// (CHIRP_SIGN_IN_CODE, true or false: ask for a mailed code after the
// password; default true when an SMTP server is set). With
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set,
// chirp exports a server span of every request over OTLP/HTTP, as service
// chirp (OTEL_SERVICE_NAME overrides it), in the trace of the request's
// traceparent. Exit codes: 0 after a clean stop, 1 on a failure, 2 on bad
// usage.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/tracing"
)

// shutdownTimeout bounds the wait for requests in flight after a signal.
const shutdownTimeout = 10 * time.Second

// spanFlushTimeout bounds the export of the spans still queued at exit.
const spanFlushTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// config is chirp's configuration.
type config struct {
	DatabaseURL   string
	Addr          string
	WebhookSecret string
	SMTPAddr      string
	MailFrom      string
	BaseURL       string // "": http:// and the address chirp listens on
	SignInCode    *bool  // nil: on when SMTPAddr is set
	// Tracing is where chirp's spans go (the OTEL_* variables).
	Tracing tracing.Config
}

// parseConfig reads flags, falling back to CHIRP_* environment variables.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("chirp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c config
	fs.StringVar(&c.DatabaseURL, "database-url", getenv("CHIRP_DATABASE_URL"), "PostgreSQL URL of chirp's database (CHIRP_DATABASE_URL)")
	fs.StringVar(&c.Addr, "addr", getenv("CHIRP_ADDR"), "address to listen on (CHIRP_ADDR); defaults to 127.0.0.1:8090")
	fs.StringVar(&c.WebhookSecret, "webhook-secret", getenv("CHIRP_WEBHOOK_SECRET"), "HMAC secret of the webhook contract (CHIRP_WEBHOOK_SECRET)")
	fs.StringVar(&c.SMTPAddr, "smtp-addr", getenv("CHIRP_SMTP_ADDR"), "host:port of the SMTP server chirp mails sign-in codes through (CHIRP_SMTP_ADDR); defaults to none")
	fs.StringVar(&c.MailFrom, "mail-from", getenv("CHIRP_MAIL_FROM"), "sender of chirp's mail (CHIRP_MAIL_FROM); defaults to no-reply@chirp.test")
	fs.StringVar(&c.BaseURL, "base-url", getenv("CHIRP_BASE_URL"), "where people reach chirp, for the links it mails (CHIRP_BASE_URL); defaults to http://<addr>")
	signInCode := getenv("CHIRP_SIGN_IN_CODE")
	fs.StringVar(&signInCode, "sign-in-code", signInCode, "true or false: ask for a mailed code after the password (CHIRP_SIGN_IN_CODE); defaults to true with -smtp-addr")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if signInCode != "" {
		on, err := strconv.ParseBool(signInCode)
		if err != nil {
			return c, fmt.Errorf("CHIRP_SIGN_IN_CODE (or -sign-in-code) must be true or false, not %q", signInCode)
		}
		c.SignInCode = &on
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8090"
	}
	var err error
	if c.Tracing, err = tracing.ConfigFromEnv(getenv); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.DatabaseURL == "":
		return c, errors.New("CHIRP_DATABASE_URL (or -database-url) is required")
	case c.WebhookSecret == "":
		return c, errors.New("CHIRP_WEBHOOK_SECRET (or -webhook-secret) is required")
	}
	return c, nil
}

// run parses the configuration, listens, and serves until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := parseConfig(args, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "chirp: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err == nil {
		err = serve(ctx, cfg, log, ln)
	}
	if err != nil {
		log.ErrorContext(ctx, "chirp failed", slog.Any("error", err))
		return 1
	}
	return 0
}

// serve migrates chirp's database and serves on ln until ctx is done, then
// shuts down within shutdownTimeout.
func serve(ctx context.Context, cfg config, log *slog.Logger, ln net.Listener) error {
	defer ln.Close()
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("connecting to chirp's database: %w", err)
	}
	defer pool.Close()
	if err := chirp.Migrate(ctx, pool); err != nil {
		return err
	}
	cfg.Tracing.ServiceName, cfg.Tracing.Logger = "chirp", log
	spans, err := tracing.New(ctx, cfg.Tracing)
	if err != nil {
		return err
	}
	defer func() {
		// Flushed within a bound of its own, set after the signal.
		flush, cancel := context.WithTimeout(context.Background(), spanFlushTimeout)
		defer cancel()
		if err := spans.Shutdown(flush); err != nil {
			log.Warn("some spans were not exported before the shutdown", slog.Any("error", err))
		}
	}()
	cc := chirp.Config{DB: pool, WebhookSecret: []byte(cfg.WebhookSecret), Logger: log,
		SMTPAddr: cfg.SMTPAddr, MailFrom: cfg.MailFrom, SignInCode: cfg.SignInCode,
		BaseURL: cmp.Or(cfg.BaseURL, "http://"+ln.Addr().String())}
	if spans.Endpoint() != "" {
		cc.Tracer = spans.TracerProvider().Tracer("github.com/understudy-dev/understudy/examples/chirp")
	}
	app, err := chirp.New(cc)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.InfoContext(ctx, "chirp is serving", slog.String("addr", ln.Addr().String()))
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownTimeout) // the deadline starts at the signal
	defer cancel()
	return srv.Shutdown(shutdown)
}
