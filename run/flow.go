package run

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Bounds of a flow's cadence.
const (
	MinFlowEvery = time.Minute
	MaxFlowEvery = 7 * 24 * time.Hour
)

// Flow is a named test path of an environment (checkout, sign-up), run
// with the accounts of one role, and the cadence it should pass at:
// alerts compare its last success with Every.
type Flow struct {
	ID          string `json:"id"`
	Environment string `json:"environment"`
	Name        string `json:"name"`
	// Role is the name of the role whose accounts the flow runs with.
	Role string `json:"role"`
	// Every is the cadence, as FormatEvery writes it ("15m", "1h30m",
	// "7d"); EverySeconds is the same in seconds.
	Every        string    `json:"every"`
	EverySeconds int       `json:"every_seconds"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// FlowChange is what a flow declares: both fields are required.
type FlowChange struct {
	// Role is the name of a role of the flow's environment.
	Role string
	// Every is the cadence: a Go duration ("15m", "90s", "36h") or whole
	// days ("7d"), in whole seconds, from MinFlowEvery to MaxFlowEvery.
	Every string
}

// FlowsConfig configures a Flows.
type FlowsConfig struct {
	// DB is the pool (or, in tests, a transaction). Required.
	DB pgdb.DB
	// Now tells the time in SQL: when a flow was created and updated.
	// Defaults to the database's clock.
	Now func() time.Time
}

// Flows declares, reads and deletes the flows of every environment (table
// flows).
type Flows struct {
	db    pgdb.DB
	clock func() time.Time
}

// NewFlows returns a Flows, or an error naming the missing field of cfg.
func NewFlows(cfg FlowsConfig) (*Flows, error) {
	if cfg.DB == nil {
		return nil, errors.New("run: FlowsConfig.DB is required")
	}
	return &Flows{db: cfg.DB, clock: cfg.Now}, nil
}

var flowNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

const slugDetail = "must be 1-63 lower-case letters, digits or '-', starting with a letter"

// ParseEvery reads a flow's cadence: a Go duration or whole days ("7d"),
// in whole seconds, from MinFlowEvery to MaxFlowEvery. Its error is the
// detail of a field error.
func ParseEvery(s string) (time.Duration, error) {
	d, err := accounts.ParseRetention(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration such as 5m, 15m, 1h or 1d", s)
	case d%time.Second != 0:
		return 0, fmt.Errorf("%q is not a whole number of seconds", s)
	case d < MinFlowEvery || d > MaxFlowEvery:
		return 0, fmt.Errorf("must be from 1m to 7d; got %q", s)
	}
	return d, nil
}

// FormatEvery writes a cadence of secs seconds as ParseEvery reads it, as
// short as it goes: whole days as "1d", anything else as a Go duration
// without its zero units ("15m", "1h30m", "90s" as "1m30s").
func FormatEvery(secs int) string {
	if secs > 0 && secs%86400 == 0 {
		return strconv.Itoa(secs/86400) + "d"
	}
	s := (time.Duration(secs) * time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// CheckFlow validates a flow named name as Create would, but for its
// role's existence and its environment's, and stores nothing: a spec's
// plan checks those against what the spec declares. It returns the
// cadence in seconds. Errors: EINVALID naming the field (name, role,
// every).
func CheckFlow(name string, c FlowChange) (int, error) {
	var fields []understudy.FieldError
	if !flowNameRE.MatchString(name) {
		fields = append(fields, understudy.FieldError{Field: "name", Detail: slugDetail})
	}
	switch {
	case c.Role == "":
		fields = append(fields, understudy.FieldError{Field: "role", Detail: "is required"})
	case !flowNameRE.MatchString(c.Role):
		fields = append(fields, understudy.FieldError{Field: "role", Detail: "is not a role's name: " + slugDetail})
	}
	every, err := ParseEvery(c.Every)
	if c.Every == "" {
		err = errors.New("is required")
	}
	if err != nil {
		fields = append(fields, understudy.FieldError{Field: "every", Detail: err.Error()})
	}
	if len(fields) > 0 {
		return 0, understudy.Invalid("invalid flow", fields...)
	}
	return int(every / time.Second), nil
}

// writeMode is what a write of a flow may do.
type writeMode int

const (
	createOnly writeMode = iota // a flow that exists is ECONFLICT
	updateOnly                  // a flow that does not exist is ENOTFOUND
	upsert                      // create or update
)

// Create declares flow name of environment env. Errors: EINVALID naming
// the field (role when env has no such role), ENOTFOUND (env), ECONFLICT.
func (s *Flows) Create(ctx context.Context, env, name string, c FlowChange) (Flow, error) {
	f, _, err := s.write(ctx, env, name, c, createOnly)
	return f, err
}

// Update changes flow name of environment env. Errors: EINVALID naming
// the field, ENOTFOUND (env or the flow).
func (s *Flows) Update(ctx context.Context, env, name string, c FlowChange) (Flow, error) {
	f, _, err := s.write(ctx, env, name, c, updateOnly)
	return f, err
}

// Put creates flow name of environment env, or changes it to c; created
// tells which. A flow that already is c is left as it is (not updated, not
// audited). Errors: EINVALID naming the field, ENOTFOUND (env).
func (s *Flows) Put(ctx context.Context, env, name string, c FlowChange) (Flow, bool, error) {
	return s.write(ctx, env, name, c, upsert)
}

// write creates or updates a flow, as mode allows, and audits the change
// in its transaction (flow.create, flow.update).
func (s *Flows) write(ctx context.Context, env, name string, c FlowChange, mode writeMode) (f Flow, created bool, err error) {
	every, err := CheckFlow(name, c)
	if err != nil {
		return Flow{}, false, err
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		envID, err := s.environmentAndRole(ctx, tx, env, c.Role)
		if err != nil {
			return err
		}
		cur, found, err := lockFlow(ctx, tx, envID, name)
		if err != nil {
			return err
		}
		if !found && mode != updateOnly {
			if f, created, err = insertFlow(ctx, tx, envID, name, c.Role, every, pgdb.Now(s.clock)); err != nil || created {
				return s.audited(ctx, tx, err, "flow.create", f, flowDetails(f))
			}
			// Another transaction created it since: change that one.
			if cur, found, err = lockFlow(ctx, tx, envID, name); err != nil {
				return err
			}
		}
		switch {
		case !found && mode == updateOnly:
			return understudy.Errorf(understudy.ENOTFOUND, "flow %s does not exist in environment %s", name, env)
		case !found:
			return fmt.Errorf("flow %s of %s neither inserted nor found", name, env)
		case mode == createOnly:
			return understudy.Errorf(understudy.ECONFLICT, "flow %s already exists in environment %s", name, env)
		case cur.Role == c.Role && cur.EverySeconds == every:
			f = cur
			return nil
		}
		f, err = updateFlow(ctx, tx, cur.ID, c.Role, every, pgdb.Now(s.clock))
		return s.audited(ctx, tx, err, "flow.update", f, map[string]any{"before": flowDetails(cur), "after": flowDetails(f)})
	})
	return f, created, pgdb.Translate(err, "", "")
}

// environmentAndRole returns the id of environment env, checking inside
// tx that it has role. Errors: ENOTFOUND (env), EINVALID naming role.
func (s *Flows) environmentAndRole(ctx context.Context, tx pgx.Tx, env, role string) (string, error) {
	envID, found, err := accounts.EnvironmentID(ctx, tx, env)
	if err != nil {
		return "", err
	}
	if !found {
		return "", understudy.Errorf(understudy.ENOTFOUND, "environment %s does not exist", env)
	}
	ok, err := roleExists(ctx, tx, envID, role)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", understudy.Invalid("invalid flow", understudy.FieldError{Field: "role",
			Detail: fmt.Sprintf("role %s does not exist in environment %s", role, env)})
	}
	return envID, nil
}

// audited records the audit event of a write of f that ended with err,
// unless it failed.
func (s *Flows) audited(ctx context.Context, tx pgx.Tx, err error, action string, f Flow, details map[string]any) error {
	if err != nil {
		return err
	}
	return access.Record(ctx, tx, access.Event{Action: action, TargetType: "flow", TargetID: f.ID, Details: details})
}

func flowDetails(f Flow) map[string]any {
	return map[string]any{"environment": f.Environment, "name": f.Name, "role": f.Role, "every": f.Every}
}

// Get returns flow name of environment env. Errors: ENOTFOUND (env or the
// flow).
func (s *Flows) Get(ctx context.Context, env, name string) (Flow, error) {
	envID, err := s.environmentID(ctx, env)
	if err != nil {
		return Flow{}, err
	}
	f, found, err := getFlow(ctx, s.db, envID, name)
	if err == nil && !found {
		return Flow{}, understudy.Errorf(understudy.ENOTFOUND, "flow %s does not exist in environment %s", name, env)
	}
	return f, err
}

// List returns the flows of environment env, by name. Errors: ENOTFOUND.
func (s *Flows) List(ctx context.Context, env string) ([]Flow, error) {
	envID, err := s.environmentID(ctx, env)
	if err != nil {
		return nil, err
	}
	return listFlows(ctx, s.db, envID)
}

// All returns every flow of every environment, by environment and name:
// what understudy_flow_cadence_seconds reports.
func (s *Flows) All(ctx context.Context) ([]Flow, error) {
	return listFlows(ctx, s.db, "")
}

// Delete deletes flow name of environment env, audited (flow.delete) in
// its transaction. Errors: ENOTFOUND (env or the flow).
func (s *Flows) Delete(ctx context.Context, env, name string) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		envID, found, err := accounts.EnvironmentID(ctx, tx, env)
		if err != nil {
			return err
		}
		if !found {
			return understudy.Errorf(understudy.ENOTFOUND, "environment %s does not exist", env)
		}
		f, found, err := deleteFlow(ctx, tx, envID, name)
		if err != nil {
			return err
		}
		if !found {
			return understudy.Errorf(understudy.ENOTFOUND, "flow %s does not exist in environment %s", name, env)
		}
		return access.Record(ctx, tx, access.Event{Action: "flow.delete", TargetType: "flow", TargetID: f.ID, Details: flowDetails(f)})
	})
	return pgdb.Translate(err, "", "")
}

func (s *Flows) environmentID(ctx context.Context, env string) (string, error) {
	id, found, err := accounts.EnvironmentID(ctx, s.db, env)
	if err == nil && !found {
		return "", understudy.Errorf(understudy.ENOTFOUND, "environment %s does not exist", env)
	}
	return id, err
}
