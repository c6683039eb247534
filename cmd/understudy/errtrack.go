package main

import (
	"log/slog"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy/internal/errtrack"
)

// errorReporter is the server's error tracking: a Reporter sending to
// Config.SentryDSN, or nil (nothing reported, nothing spent) without one.
// No event may carry the server's secret keys or the database's password.
func (m *Main) errorReporter() (*errtrack.Reporter, error) {
	c := m.Config
	if c.SentryDSN == "" {
		return nil, nil
	}
	secrets := append([]string{c.SecretKey}, c.OldSecretKeys...)
	if pc, err := pgconn.ParseConfig(c.DatabaseURL); err == nil && pc.Password != "" {
		secrets = append(secrets, pc.Password)
	}
	cfg := errtrack.Config{DSN: c.SentryDSN, Environment: c.SentryEnvironment, Release: c.SentryRelease, Secrets: secrets}.WithDefaults()
	r, err := errtrack.New(cfg)
	if err != nil {
		return nil, err
	}
	m.Logger.Info("reporting unexpected errors to Sentry", slog.String("environment", cfg.Environment), slog.String("release", cfg.Release))
	return r, nil
}
