package spec

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/understudy-dev/understudy/accounts"
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
	// Accounts applies environments, roles and apps. Required.
	Accounts *accounts.Service
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

var errTODO = errors.New("spec: not built yet")

// New returns a Service. Errors: a missing required field.
func New(cfg Config) (*Service, error) { return &Service{cfg: cfg}, nil }

// Plan computes and stores the plan of req. Errors: EINVALID naming
// "<address>.<attribute>" fields, ECONFLICT (an object another workspace
// manages, prevent_destroy, a domain still in use), ENOTFOUND.
func (s *Service) Plan(ctx context.Context, req PlanRequest) (Plan, error) { return Plan{}, errTODO }

// GetPlan returns a stored plan. Errors: ENOTFOUND.
func (s *Service) GetPlan(ctx context.Context, id string) (Plan, error) { return Plan{}, errTODO }

// Apply applies the stored plan id, exactly as planned, under the
// workspace's lock, and returns it with Applied filled. Errors: ECONFLICT
// (stale plan, already applied, workspace locked, a leased account to
// retire), and any error of a change, after which Applied says what was
// done.
func (s *Service) Apply(ctx context.Context, id string, o ApplyOptions) (Plan, error) {
	return Plan{}, errTODO
}

// Workspaces lists every workspace by name.
func (s *Service) Workspaces(ctx context.Context) ([]Workspace, error) { return nil, errTODO }

// Workspace returns one workspace. Errors: ENOTFOUND.
func (s *Service) Workspace(ctx context.Context, name string) (Workspace, error) {
	return Workspace{}, errTODO
}

// LockWorkspace locks a workspace by hand, so no apply runs until it is
// unlocked. Errors: ECONFLICT naming the holder.
func (s *Service) LockWorkspace(ctx context.Context, name, holder, reason string) (Workspace, error) {
	return Workspace{}, errTODO
}

// UnlockWorkspace removes a lock taken by hand (force-unlock). An apply
// in progress cannot be unlocked: its lock ends with it.
// Errors: ENOTFOUND, ECONFLICT.
func (s *Service) UnlockWorkspace(ctx context.Context, name string) (Workspace, error) {
	return Workspace{}, errTODO
}
