package apps

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/secret"
)

// Provisioning schedules the provisioning of an environment's accounts
// into a newly attached app. Package snapshot, which owns provisioning,
// implements it (snapshot.Scheduler).
type Provisioning interface {
	// ScheduleEnvironmentTx marks every active account of environment
	// envID pending and enqueues its provisioning, inside tx (the
	// transaction that attaches the app).
	ScheduleEnvironmentTx(ctx context.Context, tx pgx.Tx, envID string) error
}

// Config configures a Service.
type Config struct {
	// DB is the pool (or, in tests, a transaction). Required.
	DB pgdb.DB
	// Keyring seals and opens app secrets. Required.
	Keyring *secret.Keyring
	// Accounts owns the environments apps are attached to. Required.
	Accounts *accounts.Service
	// Provisioning schedules the provisioning of an environment's accounts
	// when an app is attached. Required.
	Provisioning Provisioning
	// Registry builds app providers. Defaults to an empty registry (no app
	// can be attached).
	Registry *providers.Registry
	// Logger receives the providers' logs. Defaults to discarding.
	Logger *slog.Logger
	// AppTimeout bounds each call to an app made here (a settings check, a
	// connection test). Defaults to 30s.
	AppTimeout time.Duration
	// Now tells the time: a connection test is timed on it, and SQL
	// statements take it as their time. Defaults to time.Now in Go and to
	// the database's clock in SQL.
	Now func() time.Time
}

// WithDefaults returns c with its unset optional fields filled.
func (c Config) WithDefaults() Config {
	if c.Registry == nil {
		c.Registry = providers.NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.AppTimeout <= 0 {
		c.AppTimeout = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate names the first missing field of c.
func (c Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("apps: Config.DB is required")
	case c.Keyring == nil:
		return errors.New("apps: Config.Keyring is required")
	case c.Accounts == nil:
		return errors.New("apps: Config.Accounts is required")
	case c.Provisioning == nil:
		return errors.New("apps: Config.Provisioning is required")
	}
	return nil
}

// Service is the apps of every environment on one database, with the live
// provider instance of each.
type Service struct {
	db           pgdb.DB
	keyring      *secret.Keyring
	accounts     *accounts.Service
	provisioning Provisioning
	registry     *providers.Registry
	logger       *slog.Logger
	appTimeout   time.Duration
	now          func() time.Time
	clock        func() time.Time // the injected clock, nil without one: see dbNow
	apps         instances
}

// New returns a Service, or an error naming the bad field of cfg.
func New(cfg Config) (*Service, error) {
	clock := cfg.Now
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, keyring: cfg.Keyring, accounts: cfg.Accounts, provisioning: cfg.Provisioning,
		registry: cfg.Registry, logger: cfg.Logger, appTimeout: cfg.AppTimeout, now: cfg.Now, clock: clock,
		apps: instances{byID: map[string]instance{}}}, nil
}

// dbNow is the time a SQL statement takes as its now, as
// coalesce($n::timestamptz, now()): the injected clock's, or nil (SQL
// NULL: the database's own clock) when Config.Now was not set.
func (s *Service) dbNow() *time.Time {
	if s.clock == nil {
		return nil
	}
	return new(s.clock())
}

var slugRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

func (s *Service) openError(err error) error {
	if uk, ok := errors.AsType[*secret.UnknownKeyError](err); ok {
		return understudy.Errorf(understudy.EINTERNAL, "cannot decrypt the stored credentials: they were sealed with key id %s, but this server's UNDERSTUDY_SECRET_KEY has id %s (set it to the key that sealed them, or list that key in UNDERSTUDY_OLD_SECRET_KEYS); nothing was changed", uk.KeyID, s.keyring.PrimaryKeyID())
	}
	return understudy.Errorf(understudy.EINTERNAL, "cannot decrypt the stored credentials: the sealed value failed authentication; nothing was changed")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
