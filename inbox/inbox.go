package inbox

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
)

// Config configures a Service.
type Config struct {
	// DB is the pool (or, in tests that never Listen, a transaction).
	// Required.
	DB pgdb.DB
	// Keyring seals and opens the messages' bodies and raw MIME. Required.
	Keyring *secret.Keyring
	// Accounts finds the account of an address, and the server's
	// controlled domains. Required.
	Accounts *accounts.Service
	// Logger receives the listener's logs. Defaults to discarding.
	Logger *slog.Logger
	// Now tells the time a message is received at. Defaults to the
	// database's clock.
	Now func() time.Time
	// Connect opens the dedicated connection Listen holds. Defaults to
	// taking one out of DB, which must then be a *pgxpool.Pool.
	Connect func(ctx context.Context) (*pgx.Conn, error)
}

// WithDefaults returns c with its unset optional fields filled.
func (c Config) WithDefaults() Config {
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return c
}

// Validate names the first missing field of c.
func (c Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("inbox: Config.DB is required")
	case c.Keyring == nil:
		return errors.New("inbox: Config.Keyring is required")
	case c.Accounts == nil:
		return errors.New("inbox: Config.Accounts is required")
	}
	return nil
}

// Service stores the mail of synthetic accounts and hands it to the
// callers that read and wait for it. It is safe for concurrent use.
type Service struct {
	cfg       Config
	db        pgdb.DB
	hub       *hub
	listening atomic.Bool
	heartbeat time.Duration
}

var _ Receiver = (*Service)(nil)

// New returns a Service, or an error naming the bad field of cfg.
func New(cfg Config) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, db: cfg.DB, hub: newHub(), heartbeat: defaultHeartbeat}, nil
}

// now is the time a statement takes as its now: the injected clock's, or
// nil for the database's.
func (s *Service) now() *time.Time { return pgdb.Now(s.cfg.Now) }
