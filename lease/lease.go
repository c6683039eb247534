package lease

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/snapshot"
	"github.com/understudy-dev/understudy/tracing"
)

// Status is where a lease is: acquiring (its account is being reset),
// active, released, expired or failed (the reset failed).
type Status string

// Lease statuses. SQL statements use them through the constants below.
const (
	Acquiring Status = "acquiring"
	Active    Status = "active"
	Released  Status = "released"
	Expired   Status = "expired"
	Failed    Status = "failed"
)

// SQL fragments made from the Go names, so the two never disagree.
const (
	sqlAcquiring = `'` + string(Acquiring) + `'`
	sqlActive    = `'` + string(Active) + `'`
	sqlExpired   = `'` + string(Expired) + `'`
	sqlOpen      = `(` + sqlAcquiring + `, ` + sqlActive + `)`
)

// Lease is an exclusive, time-bounded checkout of an account by a test run.
type Lease struct {
	ID           string     `json:"id"`
	AccountID    string     `json:"account_id"`
	Environment  string     `json:"environment"`
	Role         string     `json:"role"`
	Holder       string     `json:"holder"`
	State        string     `json:"state"`
	Status       Status     `json:"status"`
	StatusReason string     `json:"status_reason"`
	AcquiredAt   time.Time  `json:"acquired_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	EndedAt      *time.Time `json:"ended_at,omitempty"`
	// RenewedAt is when the lease was last renewed, if it was. The console
	// shows it; the REST contract does not have it (yet), so it is not
	// part of the lease's JSON.
	RenewedAt *time.Time `json:"-"`
	// Traceparent is the W3C trace context of the lease: that of the span
	// that acquired it, whose trace the lease's later spans (renewal,
	// release, inbox reads) and its apps' calls join. Empty for leases
	// acquired before leases kept one.
	Traceparent string `json:"traceparent,omitempty"`
	// Run is what the lease was used for and how it ended (package run),
	// nil when it never named a run nor recorded an outcome.
	Run *run.Record `json:"run,omitempty"`

	// tokenID and tokenName name the token that acquired the lease: its owner.
	tokenID, tokenName string
	// tracestate is the tracestate that came with the acquisition's trace
	// context, if any: it travels with Traceparent.
	tracestate string
}

// Grant is what acquiring a lease hands the test run: the lease, the
// freshly reset account, its credentials and its ref in each app.
type Grant struct {
	Lease       Lease                `json:"lease"`
	Account     accounts.Account     `json:"account"`
	Credentials accounts.Credentials `json:"credentials"`
	Refs        map[string]string    `json:"refs"`
}

// Request asks for an account of a role.
type Request struct {
	Environment string
	Role        string
	// State the account is reset to. Defaults to the baseline.
	State string
	// Holder names the test run (CI job, worker index). Required.
	Holder string
	// TTL is how long the lease lasts unless renewed: 1s to 24h.
	TTL time.Duration
	// Wait is how long to wait for a free account: 0 to 10m.
	Wait time.Duration
	// IdempotencyKey makes a retried request return the same lease.
	IdempotencyKey string
	// Run names the run the lease is for; nil names none (it may be
	// named later: NameRun).
	Run *run.Naming
}

// Validate names every bad field.
func (r *Request) Validate() error {
	var f []understudy.FieldError
	if r.Holder == "" || len(r.Holder) > 200 {
		f = append(f, understudy.FieldError{Field: "holder", Detail: "is required, at most 200 characters"})
	}
	if r.TTL < time.Second || r.TTL > 24*time.Hour {
		f = append(f, understudy.FieldError{Field: "ttl_seconds", Detail: "must be from 1 to 86400"})
	}
	if r.Wait < 0 || r.Wait > 10*time.Minute {
		f = append(f, understudy.FieldError{Field: "wait_seconds", Detail: "must be from 0 to 600"})
	}
	if r.State = snapshot.StateOrBaseline(r.State); !snapshot.ValidStateName(r.State) {
		f = append(f, understudy.FieldError{Field: "state", Detail: "must be a state name such as initial or with-cart"})
	}
	if len(r.IdempotencyKey) > 200 {
		f = append(f, understudy.FieldError{Field: "Idempotency-Key", Detail: "must be at most 200 characters"})
	}
	if r.Run != nil {
		f = append(f, r.Run.Validate("run.")...)
	}
	if len(f) > 0 {
		return understudy.Invalid("invalid lease request", f...)
	}
	return nil
}

// Config configures a Service.
type Config struct {
	// DB is the pool (or, in tests, a transaction). Required.
	DB pgdb.DB
	// Accounts is the account pool leases draw from. Required.
	Accounts *accounts.Service
	// Snapshots resets an account before it is handed out. Required.
	Snapshots *snapshot.Service
	// Apps names an account's refs when a lease is replayed. Required.
	Apps *apps.Service
	// Now tells the time: waits are measured on it, and SQL statements take
	// it as their time (a lease's expiry, and how long until it). Defaults
	// to time.Now in Go and to the database's clock in SQL.
	Now func() time.Time
	// Logger receives expiries. Defaults to discarding.
	Logger *slog.Logger
	// AppTimeout is the longest an app takes for its part of a reset: an
	// acquiring lease outlives its TTL by twice that. Defaults to 30s.
	AppTimeout time.Duration
	// Tracing makes the spans of the leases' work. Defaults to
	// tracing.Local(), which exports nothing.
	Tracing *tracing.Provider
	// Runs counts the outcomes the leases record (run.Service.Observe),
	// which the server serves as metrics. Defaults to a run.Service on DB
	// whose counts nobody reads.
	Runs *run.Service
	// Captures keeps the account's state at the end of a failed, errored
	// or abandoned run: the lease's end holds the account (capturing)
	// and queues the capture, and the capture's job frees it. Defaults to
	// nil: such an account is freed at once, and its state is not kept.
	Captures *run.Captures
}

// WithDefaults returns c with its unset optional fields filled.
func (c Config) WithDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.AppTimeout <= 0 {
		c.AppTimeout = 30 * time.Second
	}
	if c.Tracing == nil {
		c.Tracing = tracing.Local()
	}
	if c.Runs == nil && c.DB != nil {
		c.Runs, _ = run.New(run.Config{DB: c.DB}) // fails only without DB
	}
	return c
}

// Validate names the first missing field of c.
func (c Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("lease: Config.DB is required")
	case c.Accounts == nil:
		return errors.New("lease: Config.Accounts is required")
	case c.Snapshots == nil:
		return errors.New("lease: Config.Snapshots is required")
	case c.Apps == nil:
		return errors.New("lease: Config.Apps is required")
	}
	return nil
}

// Service leases accounts on one database.
type Service struct {
	db         pgdb.DB
	accounts   *accounts.Service
	snapshots  *snapshot.Service
	apps       *apps.Service
	now        func() time.Time
	clock      func() time.Time // the injected clock, nil without one: see dbNow
	logger     *slog.Logger
	appTimeout time.Duration
	tracer     trace.Tracer
	runs       *run.Service
	captures   *run.Captures
}

// New returns a Service, or an error naming the bad field of cfg.
func New(cfg Config) (*Service, error) {
	clock := cfg.Now
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, accounts: cfg.Accounts, snapshots: cfg.Snapshots, apps: cfg.Apps, now: cfg.Now, clock: clock,
		logger: cfg.Logger, appTimeout: cfg.AppTimeout, tracer: cfg.Tracing.Tracer(), runs: cfg.Runs, captures: cfg.Captures}, nil
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

// leaseColumns are a lease's columns, read from leases l joined by
// leaseJoins: a lease stores its role's id, and its role's and
// environment's names are package accounts' (accounts.RoleDirectory); its
// run is package run's (run.RecordView).
const leaseColumns = `l.id, l.account_id, r.environment, r.name, l.holder, l.state, l.status, l.status_reason, l.acquired_at, l.expires_at, l.ended_at,
l.renewed_at, coalesce(l.token_id::text, ''), l.token_name, coalesce(l.traceparent, ''), coalesce(l.tracestate, ''), ` + run.JoinedColumns

// leaseJoins joins the role of lease l, as r, and its run, for
// leaseColumns.
const leaseJoins = ` JOIN ` + accounts.RoleDirectory + ` r ON r.id = l.role_id` + run.Join

const leaseFrom = ` FROM leases l` + leaseJoins

// leaseTargets are the scan targets of leaseColumns, the run's in j;
// after the scan, l.Run = j.Record().
func leaseTargets(l *Lease, j *run.Joined) []any {
	return append([]any{&l.ID, &l.AccountID, &l.Environment, &l.Role, &l.Holder, &l.State, &l.Status, &l.StatusReason,
		&l.AcquiredAt, &l.ExpiresAt, &l.EndedAt, &l.RenewedAt, &l.tokenID, &l.tokenName, &l.Traceparent, &l.tracestate}, j.Targets()...)
}

func scanLease(row pgx.Row, l *Lease) error {
	var j run.Joined
	if err := row.Scan(leaseTargets(l, &j)...); err != nil {
		return err
	}
	l.Run = j.Record()
	return nil
}

const getLeaseSQL = `SELECT ` + leaseColumns + leaseFrom + ` WHERE l.id = $1`

// Get returns the lease with id. Errors: ENOTFOUND.
func (s *Service) Get(ctx context.Context, id string) (Lease, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return Lease{}, understudy.Errorf(understudy.ENOTFOUND, "no lease has id %s", id)
	}
	return pgdb.QueryOne(ctx, s.db, scanLease, "no lease has id "+id, getLeaseSQL, uid)
}

const listLeasesSQL = `SELECT ` + leaseColumns + leaseFrom + `
WHERE ($1 = '' OR r.environment = $1) AND ($2 = '' OR r.name = $2) AND ($3 OR l.status IN ` + sqlOpen + `)
ORDER BY l.acquired_at DESC LIMIT 1000`

// List returns the open leases (or all, with all), newest first.
func (s *Service) List(ctx context.Context, env, role string, all bool) ([]Lease, error) {
	return pgdb.QueryAll(ctx, s.db, scanLease, listLeasesSQL, env, role, all)
}
