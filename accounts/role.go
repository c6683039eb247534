package accounts

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Visibility is how a role's accounts appear on one surface of an app.
type Visibility string

// Visibilities of an isolation policy.
const (
	Hidden      Visibility = "hidden"       // real users never see the account
	TestersOnly Visibility = "testers_only" // only synthetic accounts see it
	Allowed     Visibility = "allowed"      // visible like any user
)

// DefaultPoolSize is the pool size of a role that does not set one.
const DefaultPoolSize = 1

// Role is a kind of user in one environment, with a pool of accounts.
type Role struct {
	ID          string `json:"id"`
	Environment string `json:"environment"`
	Name        string `json:"name" validate:"required,slug"`
	Description string `json:"description" validate:"max=1000"`
	PoolSize    int    `json:"pool_size" validate:"min=1,max=100"`
	// Attributes are passed to apps when accounts are provisioned.
	Attributes map[string]string `json:"attributes" validate:"max=100,dive,keys,min=1,max=63,endkeys,max=1000"`
	// IsolationPolicy maps a surface of the environment (BuiltinSurfaces
	// and its CustomSurfaces) to a visibility; a surface it does not set
	// is Hidden. Package isolation enforces it.
	IsolationPolicy map[string]Visibility `json:"isolation_policy" validate:"max=50,dive,keys,slugsurface,endkeys,oneof=hidden testers_only allowed"`
	// QuarantineOnViolation stops new leases of an account that has an
	// open isolation violation on a hidden surface. Defaults to true.
	QuarantineOnViolation bool `json:"quarantine_on_violation"`
	// CodePattern is an RE2 pattern that finds the role's one-time codes
	// in its accounts' mail, ranked before the default rules: its capture
	// group (at most one) or its whole match is the code. Empty for none.
	CodePattern string `json:"code_pattern,omitempty"`
	// LinkPattern is an RE2 pattern that marks the links of the role's
	// mail to rank first (a magic link's address). Empty for none.
	LinkPattern string    `json:"link_pattern,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// RoleChange is a create or an update of a role: nil fields are left as
// they are (or take their defaults on create).
type RoleChange struct {
	Description           *string
	PoolSize              *int
	Attributes            map[string]string
	IsolationPolicy       map[string]Visibility
	QuarantineOnViolation *bool
	// CodePattern and LinkPattern replace the role's patterns; "" removes
	// one.
	CodePattern *string
	LinkPattern *string
	// RefuseLeased refuses (ECONFLICT, naming them) an update that would
	// retire a leased account, instead of retiring it under its holder.
	RefuseLeased bool
}

func (c RoleChange) apply(r *Role) {
	if c.Description != nil {
		r.Description = *c.Description
	}
	if c.PoolSize != nil {
		r.PoolSize = *c.PoolSize
	}
	if c.Attributes != nil {
		r.Attributes = c.Attributes
	}
	if c.IsolationPolicy != nil {
		r.IsolationPolicy = c.IsolationPolicy
	}
	if c.QuarantineOnViolation != nil {
		r.QuarantineOnViolation = *c.QuarantineOnViolation
	}
	if c.CodePattern != nil {
		r.CodePattern = *c.CodePattern
	}
	if c.LinkPattern != nil {
		r.LinkPattern = *c.LinkPattern
	}
}

// Validate names every bad field of r at once.
func (r *Role) Validate() error {
	var fields []understudy.FieldError
	if err := validate.Struct(r); err != nil {
		fields = fieldErrors(err)
	}
	if fields = append(fields, r.patternErrors()...); len(fields) > 0 {
		return understudy.Invalid("invalid role", fields...)
	}
	return nil
}

const roleColumns = `r.id, e.name, r.name, r.description, r.pool_size, r.attributes, r.isolation_policy, r.quarantine_on_violation,
    coalesce(r.code_pattern, ''), coalesce(r.link_pattern, ''), r.created_at, r.updated_at`

func scanRole(row pgx.Row, r *Role) error {
	return row.Scan(&r.ID, &r.Environment, &r.Name, &r.Description, &r.PoolSize, &r.Attributes, &r.IsolationPolicy, &r.QuarantineOnViolation,
		&r.CodePattern, &r.LinkPattern, &r.CreatedAt, &r.UpdatedAt)
}

const (
	insertRoleSQL = `
INSERT INTO roles (environment_id, name, description, pool_size, attributes, isolation_policy, quarantine_on_violation, code_pattern, link_pattern,
                   created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, ''), nullif($9, ''), coalesce($10::timestamptz, now()), coalesce($10::timestamptz, now()))
RETURNING id, created_at, updated_at`
	getRoleSQL = `
SELECT ` + roleColumns + ` FROM roles r JOIN environments e ON e.id = r.environment_id
WHERE e.name = $1 AND r.name = $2 AND r.deleted_at IS NULL`
	// lockRoleSQL and lockRoleByIDSQL take FOR NO KEY UPDATE, as
	// lockEnvironmentSQL does, so that the foreign key checks of the
	// role's accounts and leases are not blocked.
	lockRoleSQL   = getRoleSQL + ` FOR NO KEY UPDATE OF r`
	listRolesSQL  = `SELECT ` + roleColumns + ` FROM roles r JOIN environments e ON e.id = r.environment_id WHERE e.name = $1 AND r.deleted_at IS NULL ORDER BY r.name`
	updateRoleSQL = `
UPDATE roles SET description = $2, pool_size = $3, attributes = $4, isolation_policy = $5, quarantine_on_violation = $6,
    code_pattern = nullif($8, ''), link_pattern = nullif($9, ''), updated_at = coalesce($7::timestamptz, now())
WHERE id = $1 RETURNING updated_at`
	deleteRoleSQL = `UPDATE roles SET deleted_at = coalesce($2::timestamptz, now()) WHERE id = $1`
)

// CreateRole creates the role name in environment env and fills its pool.
// Errors: EINVALID, ENOTFOUND (env), ECONFLICT.
func (s *Service) CreateRole(ctx context.Context, env, name string, c RoleChange) (Role, error) {
	r := Role{Environment: env, Name: name, PoolSize: DefaultPoolSize, Attributes: map[string]string{}, IsolationPolicy: map[string]Visibility{}, QuarantineOnViolation: true}
	c.apply(&r)
	if err := r.Validate(); err != nil {
		return Role{}, err
	}
	err := pgdb.BeginRetry(ctx, s.db, func(tx pgx.Tx) error {
		var e Environment
		if err := scanEnvironment(tx.QueryRow(ctx, lockEnvironmentSQL, env), &e); err != nil {
			return pgdb.Translate(err, "environment "+env+" does not exist", "")
		}
		if err := checkPolicy(e, r); err != nil {
			return err
		}
		row := tx.QueryRow(ctx, insertRoleSQL, e.ID, r.Name, r.Description, r.PoolSize, r.Attributes, r.IsolationPolicy, r.QuarantineOnViolation, r.CodePattern, r.LinkPattern,
			s.clock.db())
		if err := row.Scan(&r.ID, &r.CreatedAt, &r.UpdatedAt); err != nil {
			return pgdb.Translate(err, "", "role "+name+" already exists in environment "+env)
		}
		if err := access.Record(ctx, tx, access.Event{Action: "role.create", TargetType: "role", TargetID: r.ID, Details: roleDetails(r)}); err != nil {
			return err
		}
		return s.ensurePool(ctx, tx, e, r)
	})
	return r, pgdb.Translate(err, "", "")
}

// GetRole returns role name of environment env. Errors: ENOTFOUND.
func (s *Service) GetRole(ctx context.Context, env, name string) (Role, error) {
	r, found, err := pgdb.QueryMaybe(ctx, s.db, scanRole, pgdb.Conflict{}, getRoleSQL, env, name)
	if err == nil && !found {
		return Role{}, s.roleNotFound(ctx, env, name)
	}
	return r, err
}

// roleNotFound says whether the environment or the role is missing.
func (s *Service) roleNotFound(ctx context.Context, env, name string) error {
	if _, err := s.GetEnvironment(ctx, env); err != nil {
		return err
	}
	return understudy.Errorf(understudy.ENOTFOUND, "role %s does not exist in environment %s", name, env)
}

// ListRoles returns the roles of environment env, by name. Errors: ENOTFOUND.
func (s *Service) ListRoles(ctx context.Context, env string) ([]Role, error) {
	if _, err := s.GetEnvironment(ctx, env); err != nil {
		return nil, err
	}
	return pgdb.QueryAll(ctx, s.db, scanRole, listRolesSQL, env)
}

// UpdateRole changes role name of environment env and ensures its pool:
// a larger pool gets new accounts, a smaller one retires the accounts in
// the slots past it. Errors: EINVALID, ENOTFOUND.
func (s *Service) UpdateRole(ctx context.Context, env, name string, c RoleChange) (Role, error) {
	var r Role
	err := pgdb.BeginRetry(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.lockRole(ctx, tx, env, name, &r); err != nil {
			return err
		}
		if c.RefuseLeased && c.PoolSize != nil {
			if err := s.refuseLeased(ctx, tx, r.ID, *c.PoolSize); err != nil {
				return err
			}
		}
		before := roleDetails(r)
		c.apply(&r)
		if err := r.Validate(); err != nil {
			return err
		}
		e, err := s.GetEnvironmentTx(ctx, tx, env)
		if err != nil {
			return err
		}
		if err := checkPolicy(e, r); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, updateRoleSQL, r.ID, r.Description, r.PoolSize, r.Attributes, r.IsolationPolicy, r.QuarantineOnViolation, s.clock.db(),
			r.CodePattern, r.LinkPattern).Scan(&r.UpdatedAt); err != nil {
			return err
		}
		if err := access.Record(ctx, tx, access.Event{Action: "role.update", TargetType: "role", TargetID: r.ID,
			Details: map[string]any{"before": before, "after": roleDetails(r)}}); err != nil {
			return err
		}
		return s.ensurePool(ctx, tx, e, r)
	})
	return r, pgdb.Translate(err, "", "")
}

// DeleteRole deletes role name of environment env and retires its accounts
// (they stay, with their history). Errors: ENOTFOUND.
func (s *Service) DeleteRole(ctx context.Context, env, name string) error {
	return s.deleteRole(ctx, env, name, false)
}

// DeleteRoleUnleased is DeleteRole refusing (ECONFLICT, naming them) while
// an account of the role is leased, so no account is retired under its
// holder. Errors: ENOTFOUND, ECONFLICT.
func (rc Reconciler) DeleteRoleUnleased(ctx context.Context, env, name string) error {
	s := rc.s
	return s.deleteRole(ctx, env, name, true)
}

func (s *Service) deleteRole(ctx context.Context, env, name string, refuse bool) error {
	err := pgdb.BeginRetry(ctx, s.db, func(tx pgx.Tx) error {
		var r Role
		if err := s.lockRole(ctx, tx, env, name, &r); err != nil {
			return err
		}
		if refuse {
			if err := s.refuseLeased(ctx, tx, r.ID, 0); err != nil {
				return err
			}
		}
		if _, err := retireSlots(ctx, tx, r.ID, 0, "role "+name+" was deleted", s.clock.db()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, deleteRoleSQL, r.ID, s.clock.db()); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "role.delete", TargetType: "role", TargetID: r.ID, Details: map[string]any{"environment": env, "name": name}})
	})
	return pgdb.Translate(err, "", "")
}

// CheckRole validates r as CreateRole would, against environment e (which
// need not exist yet), and stores nothing. Errors: EINVALID.
func (Reconciler) CheckRole(e Environment, r Role) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return checkPolicy(e, r)
}

// GetEnvironmentTx reads an environment inside tx.
func (s *Service) GetEnvironmentTx(ctx context.Context, tx pgx.Tx, name string) (Environment, error) {
	var e Environment
	err := scanEnvironment(tx.QueryRow(ctx, getEnvironmentSQL, name), &e)
	return e, pgdb.Translate(err, "environment "+name+" does not exist", "")
}

func roleDetails(r Role) map[string]any {
	var m map[string]any
	b, _ := json.Marshal(struct {
		Environment     string                `json:"environment"`
		Name            string                `json:"name"`
		PoolSize        int                   `json:"pool_size"`
		Attributes      map[string]string     `json:"attributes"`
		IsolationPolicy map[string]Visibility `json:"isolation_policy"`
		Quarantine      bool                  `json:"quarantine_on_violation"`
		CodePattern     string                `json:"code_pattern,omitempty"`
		LinkPattern     string                `json:"link_pattern,omitempty"`
	}{r.Environment, r.Name, r.PoolSize, r.Attributes, r.IsolationPolicy, r.QuarantineOnViolation, r.CodePattern, r.LinkPattern})
	_ = json.Unmarshal(b, &m)
	return m
}

// lockRole reads role name of env into r and locks it until tx ends.
// Errors: ENOTFOUND naming the environment or the role.
func (s *Service) lockRole(ctx context.Context, tx pgx.Tx, env, name string, r *Role) error {
	locked, found, err := pgdb.QueryMaybe(ctx, tx, scanRole, pgdb.Conflict{}, lockRoleSQL, env, name)
	if err == nil && !found {
		return s.roleNotFound(ctx, env, name)
	}
	*r = locked
	return err
}
