package spec

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/tagging"
)

// Config configures a Service.
type Config struct {
	// DB is the pool. Required: an apply holds a connection for its
	// workspace lock.
	DB *pgxpool.Pool
	// Keyring seals the secrets of a stored plan and keys the digests of
	// secrets. Required.
	Keyring *secret.Keyring
	// Accounts applies environments and roles. Required.
	Accounts *accounts.Service
	// Apps applies apps. Required.
	Apps *apps.Service
	// Destinations applies destinations. Optional: without it a spec
	// with a destination block is refused.
	Destinations *tagging.Service
	// Flows applies flows. Optional: without it a spec with a flow block
	// is refused.
	Flows *run.Flows
	// Now tells the time, in Go and in SQL: statements take its value as
	// coalesce($n, now()) (see pgdb.Now), so a plan's times, its
	// objects' applied_at and a workspace's lock share one clock.
	// Defaults to time.Now.
	Now func() time.Time
	// Logger receives the apply's logs. Defaults to discarding.
	Logger *slog.Logger
	// LeasePoll is how often an apply that waits for leases looks again.
	// Defaults to 1s.
	LeasePoll time.Duration
	// RetainUnapplied is how long a plan never applied is kept before
	// Prune deletes it. Defaults to DefaultRetainUnapplied (7 days).
	RetainUnapplied time.Duration
	// RetainApplied is how long a plan is kept after its apply ended,
	// applied or failed. Defaults to DefaultRetainApplied (30 days).
	RetainApplied time.Duration
}

// PlanRequest asks for a plan of Desired in Workspace.
type PlanRequest struct {
	// Workspace names the set of objects the spec manages. Defaults to
	// DefaultWorkspace.
	Workspace string `json:"workspace"`
	// Mode is ModeNormal (the default), ModeDestroy or ModeRefreshOnly.
	Mode    string  `json:"mode"`
	Desired Desired `json:"desired"`
	// Targets limit the plan to the objects at these addresses, and to
	// what they need, as Terraform's -target does: a declared object's
	// environment, and for an object the plan deletes, the objects in it
	// that it deletes too. An address is the JSON plan's
	// (understudy_role.buyer, understudy_role.team["a"]) or the spec's
	// (role.buyer); one without an instance key names every instance of a
	// for_each block. Empty plans every object.
	Targets []string `json:"targets,omitempty"`
	// Replace forces the objects at these addresses to be replaced (deleted,
	// then created) even when nothing of them changed, as Terraform's
	// -replace does. Only in ModeNormal, and only declared objects.
	Replace []string `json:"replace,omitempty"`
}

// ApplyOptions tune an apply.
type ApplyOptions struct {
	// WaitLeases is how long the apply waits for a lease on an account it
	// must retire to end; 0 refuses at once, naming the leases.
	WaitLeases time.Duration
	// Holder names who applies, shown to whoever finds the workspace
	// locked. Defaults to the caller's actor.
	Holder string
	// Interrupt, once closed, stops the apply before its next change and
	// ends a wait for leases; the change in progress completes. The apply
	// then fails with what it made listed in Applied, as any apply that
	// stops on an error. Nil never interrupts.
	Interrupt <-chan struct{}
}

// Workspace is a set of objects one spec manages.
type Workspace struct {
	Name string `json:"name"`
	// Serial counts the applies that changed the workspace's state.
	Serial        int64      `json:"serial"`
	Objects       int        `json:"objects"`
	Lock          *Lock      `json:"lock,omitempty"`
	LastAppliedAt *time.Time `json:"last_applied_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	// Managed lists the objects, by Address, when one workspace is read
	// (not in a list of workspaces).
	Managed []ManagedObject `json:"managed,omitempty"`
}

// Lock is who holds a workspace, since when and why: an apply in
// progress, or a lock taken by hand.
type Lock struct {
	Holder string    `json:"holder"`
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"`
	// PlanID is the plan being applied, for an apply's lock.
	PlanID string `json:"plan_id,omitempty"`
}

// Service plans and applies specs.
type Service struct {
	cfg Config
}

// New returns a Service. Errors: a missing required field.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.DB == nil:
		return nil, errors.New("spec: Config.DB is required")
	case cfg.Keyring == nil:
		return nil, errors.New("spec: Config.Keyring is required")
	case cfg.Apps == nil:
		return nil, errors.New("spec: Config.Apps is required")
	case cfg.Accounts == nil:
		return nil, errors.New("spec: Config.Accounts is required")
	case cfg.RetainUnapplied < 0, cfg.RetainApplied < 0:
		return nil, errors.New("spec: Config.RetainUnapplied and RetainApplied must not be negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.LeasePoll = cmp.Or(cfg.LeasePoll, time.Second)
	cfg.RetainUnapplied = cmp.Or(cfg.RetainUnapplied, DefaultRetainUnapplied)
	cfg.RetainApplied = cmp.Or(cfg.RetainApplied, DefaultRetainApplied)
	return &Service{cfg: cfg}, nil
}

// Plan computes and stores the plan of req. Errors: EINVALID naming
// "<address>.<attribute>" fields, ECONFLICT (an object another workspace
// manages, an object that exists unmanaged and is not imported,
// prevent_destroy, a domain still in use), ENOTFOUND.
func (s *Service) Plan(ctx context.Context, req PlanRequest) (Plan, error) {
	req.Workspace = cmp.Or(req.Workspace, DefaultWorkspace)
	req.Mode = cmp.Or(req.Mode, ModeNormal)
	pl, err := s.compute(ctx, req)
	if err != nil {
		return Plan{}, err
	}
	if err := s.save(ctx, &pl.plan, req); err != nil {
		return Plan{}, err
	}
	return pl.plan, nil
}

// GetPlan returns a stored plan, with what its apply did. Errors: ENOTFOUND.
func (s *Service) GetPlan(ctx context.Context, id string) (Plan, error) {
	sp, err := s.stored(ctx, id)
	return sp.Plan, err
}
