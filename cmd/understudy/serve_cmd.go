package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/tracing"
)

func (a *cli) serveCommand() *cobra.Command {
	var flags Config
	var configPath string
	var migrate, dev bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Understudy server",
		Long: `Run the Understudy server until SIGINT or SIGTERM.

With --dev (what "make run" uses), anything not configured gets a development
default: a private PostgreSQL cluster under .understudy/ when no database URL is
set, a development secret key kept in .understudy/secret.key, the email domain
qa.example.test, the schema migrated, and a new admin token and runner token
printed once.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(flags, configPath, a.getenv)
			if err != nil {
				return &codedError{code: exitUsage, err: err}
			}
			tc, err := tracing.ConfigFromEnv(a.getenv)
			if err != nil {
				return &codedError{code: exitUsage, err: err}
			}
			logger := a.serverLogger(cfg.LogLevel, dev)
			m := &Main{Config: cfg, Migrate: migrate || dev, Logger: logger, Tracing: tc}
			var stopDev func(context.Context) error
			if dev {
				if stopDev, err = a.devDefaults(cmd.Context(), m); err != nil {
					return err
				}
			}
			return a.serve(cmd.Context(), m, dev, stopDev)
		},
	}
	serverFlags(cmd.Flags(), &flags, &configPath)
	cmd.Flags().BoolVar(&migrate, "migrate", false, "apply pending migrations before serving")
	cmd.Flags().BoolVar(&dev, "dev", false, "development defaults for anything not configured (see above)")
	return cmd
}

// serve runs m until ctx ends, then shuts down with a deadline that starts
// at the signal, not at start-up.
func (a *cli) serve(ctx context.Context, m *Main, dev bool, stopDev func(context.Context) error) (err error) {
	defer func() {
		if stopDev != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if serr := stopDev(stopCtx); serr != nil && err == nil {
				err = serr
			}
		}
	}()
	if err := m.Run(ctx); err != nil {
		_ = m.Close(context.Background())
		return err
	}
	if dev {
		if err := a.printDevWelcome(ctx, m); err != nil {
			_ = m.Close(context.Background())
			return err
		}
	}
	<-ctx.Done()
	m.Logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return m.Close(shutdownCtx)
}

func (a *cli) logger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(access.LogHandler(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: l})))
}

// serverLogger is the server's logger: JSON lines, except with --dev on a
// terminal, where a person reads them and text is easier on the eye.
func (a *cli) serverLogger(level string, dev bool) *slog.Logger {
	if !dev || !isTerminal(a.stderr) {
		return a.logger(level)
	}
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(access.LogHandler(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: l})))
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// minLevel passes on only the records at or above min: River logs its
// producers' job counts every few seconds at INFO, which would bury what
// matters, so its logger keeps to warnings unless asked for more.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
