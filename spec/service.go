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
	Destinations *tagging.Destinations
	// Now tells the time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives the apply's logs. Defaults to discarding.
	Logger *slog.Logger
	// LeasePoll is how often an apply that waits for leases looks again.
	// Defaults to 1s.
	LeasePoll time.Duration
}

// PlanRequest asks for a plan of Desired in Workspace.
type PlanRequest struct {
	// Workspace names the set of objects the spec manages. Defaults to
	// DefaultWorkspace.
	Workspace string `json:"workspace"`
	// Mode is ModeNormal (the default), ModeDestroy or ModeRefreshOnly.
	Mode    string  `json:"mode"`
	Desired Desired `json:"desired"`
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
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.LeasePoll = cmp.Or(cfg.LeasePoll, time.Second)
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
