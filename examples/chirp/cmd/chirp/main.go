// Command chirp runs chirp, Understudy's example social app: it migrates
// chirp's schema, then serves its HTTP API and the webhook contract until
// SIGINT or SIGTERM.
//
//	CHIRP_DATABASE_URL=postgres://… CHIRP_WEBHOOK_SECRET=… chirp [-addr 127.0.0.1:8090]
//
// Flags override the environment: -database-url (CHIRP_DATABASE_URL,
// required), -addr (CHIRP_ADDR, default 127.0.0.1:8090), -webhook-secret
// (CHIRP_WEBHOOK_SECRET, required). Exit codes: 0 after a clean stop, 1 on
// a failure, 2 on bad usage.
package main

import (
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
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/examples/chirp"
)

// shutdownTimeout bounds the wait for requests in flight after a signal.
const shutdownTimeout = 10 * time.Second

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
}

// parseConfig reads flags, falling back to CHIRP_* environment variables.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	fs := flag.NewFlagSet("chirp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c config
	fs.StringVar(&c.DatabaseURL, "database-url", getenv("CHIRP_DATABASE_URL"), "PostgreSQL URL of chirp's database (CHIRP_DATABASE_URL)")
	fs.StringVar(&c.Addr, "addr", getenv("CHIRP_ADDR"), "address to listen on (CHIRP_ADDR); defaults to 127.0.0.1:8090")
	fs.StringVar(&c.WebhookSecret, "webhook-secret", getenv("CHIRP_WEBHOOK_SECRET"), "HMAC secret of the webhook contract (CHIRP_WEBHOOK_SECRET)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8090"
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
	app, err := chirp.New(chirp.Config{DB: pool, WebhookSecret: []byte(cfg.WebhookSecret), Logger: log})
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
