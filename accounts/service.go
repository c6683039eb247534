package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
)

// Config configures a Service.
type Config struct {
	// DB is the pool (or, in tests, a transaction). Required.
	DB pgdb.DB
	// Keyring seals and opens account passwords. Required.
	Keyring *secret.Keyring
	// EmailDomains is the allowlist of controlled email domains. Required:
	// without it no environment can be created.
	EmailDomains []string
	// Now tells the time: identities are generated and passwords rotated
	// at it, and SQL statements take it as their time. Defaults to
	// time.Now in Go and to the database's clock in SQL.
	Now func() time.Time
	// Provisioning schedules the provisioning of new accounts where their
	// environment has apps (package snapshot's Scheduler). Defaults to
	// none: no environment has apps, every new account is ready.
	Provisioning Provisioning
	// Logger receives background work's logs. Defaults to discarding.
	Logger *slog.Logger
	// OpenLeases reads the open leases of accounts (package lease's
	// OpenLeases: lease owns the leases table and imports this package).
	// Required: members show their lease, and a change that would retire
	// a leased account is refused.
	OpenLeases OpenLeases
}

// OpenLeases reads, through db (the caller's transaction when it holds
// locks), the open lease of each of the accounts ids that has one, by
// account id.
type OpenLeases func(ctx context.Context, db pgdb.DB, ids []string) (map[string]OpenLease, error)

// OpenLease is an account's open lease as this package shows it.
type OpenLease struct {
	Holder    string
	ExpiresAt time.Time
}

// WithDefaults returns c with its unset optional fields filled.
func (c Config) WithDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate names the first missing or bad field of c.
func (c Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("accounts: Config.DB is required")
	case c.Keyring == nil:
		return errors.New("accounts: Config.Keyring is required")
	case c.OpenLeases == nil:
		return errors.New("accounts: Config.OpenLeases is required")
	}
	for _, d := range c.EmailDomains {
		if !domainRE.MatchString(d) {
			return fmt.Errorf("accounts: Config.EmailDomains: %q is not a domain name", d)
		}
	}
	return nil
}

// Service is the accounts domain on one database.
type Service struct {
	db           pgdb.DB
	keyring      *secret.Keyring
	allowed      allowlist
	now          func() time.Time
	clock        clock
	provisioning Provisioning
	logger       *slog.Logger
	openLeases   OpenLeases
}

// New returns a Service, or an error naming the bad field of cfg.
func New(cfg Config) (*Service, error) {
	clock := cfg.Now
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	allowed := make([]string, len(cfg.EmailDomains))
	for i, d := range cfg.EmailDomains {
		allowed[i] = strings.ToLower(d)
	}
	return &Service{db: cfg.DB, keyring: cfg.Keyring, allowed: allowed, now: cfg.Now, clock: clock,
		provisioning: cfg.Provisioning, logger: cfg.Logger, openLeases: cfg.OpenLeases}, nil
}

// clock is the injected clock, nil without one.
type clock func() time.Time

// db is the time a SQL statement takes as its now, as
// coalesce($n::timestamptz, now()): the injected clock's, or nil (SQL
// NULL: the database's own clock) when Config.Now was not set.
func (c clock) db() *time.Time {
	if c == nil {
		return nil
	}
	return new(c())
}

// AllowedDomains returns the server's allowlist of controlled email domains.
func (s *Service) AllowedDomains() []string { return slices.Clone(s.allowed) }

var (
	slugRE    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	surfaceRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	stateRE   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	domainRE  = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)
	validate  = newValidator()
)

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	_ = v.RegisterValidation("slug", func(fl validator.FieldLevel) bool { return slugRE.MatchString(fl.Field().String()) })
	_ = v.RegisterValidation("slugsurface", func(fl validator.FieldLevel) bool { return surfaceRE.MatchString(fl.Field().String()) })
	_ = v.RegisterValidation("domain", func(fl validator.FieldLevel) bool { return domainRE.MatchString(fl.Field().String()) })
	return v
}

// fieldErrors turns validator errors into field errors named by JSON path
// (`email_domains[1]`), each with a sentence a person can act on.
func fieldErrors(err error) []understudy.FieldError {
	verrs, ok := errors.AsType[validator.ValidationErrors](err)
	if !ok {
		return []understudy.FieldError{{Field: "body", Detail: err.Error()}}
	}
	out := make([]understudy.FieldError, 0, len(verrs))
	for _, fe := range verrs {
		_, path, _ := strings.Cut(fe.Namespace(), ".")
		out = append(out, understudy.FieldError{Field: path, Detail: describe(fe)})
	}
	return out
}

func describe(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "slug":
		return "must be 1-63 lower-case letters, digits or '-', starting with a letter"
	case "domain":
		return "must be a domain name such as qa.example.com"
	case "min":
		if fe.Kind() == reflect.Slice || fe.Kind() == reflect.Map {
			return "must have at least " + fe.Param() + " item(s)"
		}
		if fe.Kind() == reflect.String {
			return "must be at least " + fe.Param() + " characters"
		}
		return "must be at least " + fe.Param()
	case "max":
		if fe.Kind() == reflect.Slice || fe.Kind() == reflect.Map {
			return "must have at most " + fe.Param() + " item(s)"
		}
		if fe.Kind() == reflect.String {
			return "must be at most " + fe.Param() + " characters"
		}
		return "must be at most " + fe.Param()
	case "oneof":
		return "must be one of " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "slugsurface":
		return "must be a surface name: lower-case letters, digits or '_', starting with a letter"
	case "unique":
		return "must not repeat a value"
	}
	return "is not valid (" + fe.Tag() + ")"
}
