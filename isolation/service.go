package isolation

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/understudy-dev/understudy/accounts"

	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/tagging"
)

// MaxSubjects is the most subjects one Check decides.
const MaxSubjects = 10_000

// Config configures a Service.
type Config struct {
	// DB holds the exclusion lists, roles and signing keys. Required.
	DB pgdb.DB
	// Keyring seals the private signing keys at rest. Required.
	Keyring *secret.Keyring
	// Now is the clock that stamps lists (issued_at) and audits. Defaults
	// to time.Now.
	Now func() time.Time
	// Apps opens the apps that Audit asks what their surfaces show.
	// Required by Audit only.
	Apps *apps.Service
	// Accounts lists the environments AuditAll audits. Required by
	// AuditAll only.
	Accounts *accounts.Service
	// AppTimeout bounds each question Audit asks an app. Defaults to 30s.
	AppTimeout time.Duration
	// Logger receives what the audit cannot return. Defaults to discarding.
	Logger *slog.Logger
}

// WithDefaults returns c with its optional fields filled.
func (c Config) WithDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.AppTimeout <= 0 {
		c.AppTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate names the first missing field.
func (c Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("isolation: Config.DB is required")
	case c.Keyring == nil:
		return errors.New("isolation: Config.Keyring is required")
	}
	return nil
}

// Service decides visibility, serves the signed list and keeps its keys.
type Service struct {
	db         pgdb.DB
	keyring    *secret.Keyring
	now        func() time.Time
	apps       *apps.Service
	accounts   *accounts.Service
	appTimeout time.Duration
	logger     *slog.Logger
}

// New returns a Service, or an error naming the bad field of cfg.
func New(cfg Config) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, keyring: cfg.Keyring, now: cfg.Now, apps: cfg.Apps, accounts: cfg.Accounts, appTimeout: cfg.AppTimeout, logger: cfg.Logger}, nil
}

// environment is what the isolation API needs of an environment.
type environment struct {
	ID             string
	Name           string
	EmailDomains   []string
	CustomSurfaces []string
	// ListVersion is the version of its exclusion list.
	ListVersion int64
}

// getEnvironment reads environment name and the head of its exclusion
// list, through package tagging, which owns the list. Errors: ENOTFOUND.
func getEnvironment(ctx context.Context, db pgdb.DB, name string) (environment, error) {
	h, err := tagging.ReadHead(ctx, db, name)
	return environment{ID: h.EnvironmentID, Name: h.Environment, EmailDomains: h.EmailDomains,
		CustomSurfaces: h.CustomSurfaces, ListVersion: h.Version}, err
}
