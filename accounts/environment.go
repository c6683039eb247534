package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Environment is where accounts live (production, staging). Accounts are
// created at its first email domain.
type Environment struct {
	ID           string   `json:"id"`
	Name         string   `json:"name" validate:"required,slug"`
	EmailDomains []string `json:"email_domains" validate:"required,min=1,max=20,unique,dive,domain"`
	// CustomSurfaces are the surfaces the environment's apps have beyond
	// BuiltinSurfaces; isolation policies may name them.
	CustomSurfaces []string `json:"custom_surfaces" validate:"max=50,unique,dive,slugsurface"`
	// InboxRetentionSeconds is how long the environment's accounts keep
	// the mail they receive (an hour to 365 days). Zero on create takes
	// the default, a week.
	InboxRetentionSeconds int `json:"inbox_retention_seconds"`
	// InboxMaxMessages is how many messages each of the environment's
	// accounts keeps at most, the oldest going first (1 to 10000). Zero
	// on create takes the default, 200.
	InboxMaxMessages int `json:"inbox_max_messages"`
	// CaptureRetentionSeconds is how long the environment keeps the
	// captured account states of its failed runs (an hour to 365 days).
	// Zero on create takes the default, 30 days.
	CaptureRetentionSeconds int       `json:"capture_retention_seconds"`
	CreatedAt               time.Time `json:"created_at"`
	UpdatedAt               time.Time `json:"updated_at"`
}

// EnvironmentChange is an update of an environment: a nil field is left
// as it is.
type EnvironmentChange struct {
	EmailDomains            []string
	CustomSurfaces          []string
	InboxRetentionSeconds   *int
	InboxMaxMessages        *int
	CaptureRetentionSeconds *int
}

// Validate checks e's fields and that each domain is in the allowlist,
// naming every bad field at once.
func (s *Service) validateEnvironment(e *Environment) error {
	for i, d := range e.EmailDomains {
		e.EmailDomains[i] = strings.ToLower(strings.TrimSpace(d))
	}
	if e.CustomSurfaces == nil {
		e.CustomSurfaces = []string{}
	}
	var fields []understudy.FieldError
	if err := validate.Struct(e); err != nil {
		fields = fieldErrors(err)
	}
	fields = append(fields, surfaceErrors(e.CustomSurfaces)...)
	fields = append(fields, e.inboxErrors()...)
	fields = append(fields, e.captureErrors()...)
	for i, d := range e.EmailDomains {
		if domainRE.MatchString(d) && !s.allowed.has(d) {
			fields = append(fields, understudy.FieldError{
				Field:  fmt.Sprintf("email_domains[%d]", i),
				Detail: fmt.Sprintf("%s is not a controlled domain of this server (allowed: %s; see UNDERSTUDY_EMAIL_DOMAINS)", d, s.allowed),
			})
		}
	}
	if len(fields) > 0 {
		return understudy.Invalid("invalid environment", fields...)
	}
	return nil
}

// CheckEnvironment validates e as CreateEnvironment would (fields and the
// domain allowlist) and stores nothing. Errors: EINVALID.
func (rc Reconciler) CheckEnvironment(e Environment) error {
	s := rc.s
	e.EmailDomains = slices.Clone(e.EmailDomains)
	e.withDefaults()
	return s.validateEnvironment(&e)
}

// allowlist is the server's controlled email domains, in lower case.
type allowlist []string

func (l allowlist) has(d string) bool { return slices.Contains(l, strings.ToLower(d)) }

// String lists the domains for an error message.
func (l allowlist) String() string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// withDefaults gives the settings that e leaves at zero (inbox, capture
// retention) their defaults.
func (e *Environment) withDefaults() {
	e.withInboxDefaults()
	e.withCaptureDefaults()
}

const environmentColumns = `id, name, email_domains, custom_surfaces, inbox_retention_seconds, inbox_max_messages, capture_retention_seconds, created_at, updated_at`

func scanEnvironment(row pgx.Row, e *Environment) error {
	return row.Scan(&e.ID, &e.Name, &e.EmailDomains, &e.CustomSurfaces, &e.InboxRetentionSeconds, &e.InboxMaxMessages, &e.CaptureRetentionSeconds,
		&e.CreatedAt, &e.UpdatedAt)
}

const createEnvironmentSQL = `INSERT INTO environments (name, email_domains, custom_surfaces, inbox_retention_seconds, inbox_max_messages, capture_retention_seconds,
    created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, coalesce($7::timestamptz, now()), coalesce($7::timestamptz, now())) RETURNING ` + environmentColumns

// CreateEnvironment creates e; inbox settings and a capture retention left
// at zero take their defaults. Errors: EINVALID, ECONFLICT.
func (s *Service) CreateEnvironment(ctx context.Context, e Environment) (Environment, error) {
	e.withDefaults()
	if err := s.validateEnvironment(&e); err != nil {
		return Environment{}, err
	}
	var out Environment
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := scanEnvironment(tx.QueryRow(ctx, createEnvironmentSQL, e.Name, e.EmailDomains, e.CustomSurfaces, e.InboxRetentionSeconds, e.InboxMaxMessages,
			e.CaptureRetentionSeconds, s.clock.db()), &out); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "environment.create", TargetType: "environment", TargetID: out.Name,
			Details: map[string]any{"email_domains": out.EmailDomains, "custom_surfaces": out.CustomSurfaces,
				"inbox_retention_seconds": out.InboxRetentionSeconds, "inbox_max_messages": out.InboxMaxMessages,
				"capture_retention_seconds": out.CaptureRetentionSeconds}})
	})
	return out, pgdb.Translate(err, "", "environment "+e.Name+" already exists")
}

const getEnvironmentSQL = `SELECT ` + environmentColumns + ` FROM environments WHERE name = $1`

// GetEnvironment returns the environment named name. Errors: ENOTFOUND.
func (s *Service) GetEnvironment(ctx context.Context, name string) (Environment, error) {
	var e Environment
	err := scanEnvironment(s.db.QueryRow(ctx, getEnvironmentSQL, name), &e)
	return e, pgdb.Translate(err, "environment "+name+" does not exist", "")
}

const listEnvironmentsSQL = `SELECT ` + environmentColumns + ` FROM environments ORDER BY name`

// ListEnvironments returns every environment, by name.
func (s *Service) ListEnvironments(ctx context.Context) ([]Environment, error) {
	return pgdb.QueryAll(ctx, s.db, scanEnvironment, listEnvironmentsSQL)
}

const (
	// lockEnvironmentSQL serializes the writers of an environment and of
	// its roles. FOR NO KEY UPDATE, not FOR UPDATE: it must not block the
	// key-share locks of foreign key checks, which another transaction
	// takes on the environment while it holds the exclusion list (a
	// provisioning's writes), or the two deadlock.
	lockEnvironmentSQL   = `SELECT ` + environmentColumns + ` FROM environments WHERE name = $1 FOR NO KEY UPDATE`
	updateEnvironmentSQL = `UPDATE environments SET email_domains = $2, custom_surfaces = $3, inbox_retention_seconds = $4, inbox_max_messages = $5,
    capture_retention_seconds = $6, updated_at = coalesce($7::timestamptz, now()) WHERE id = $1 RETURNING ` + environmentColumns
	// surfaceInUseSQL names the roles whose policy sets one of the surfaces $2.
	surfaceInUseSQL = `SELECT r.name, k FROM roles r, jsonb_object_keys(r.isolation_policy) k
WHERE r.environment_id = $1 AND r.deleted_at IS NULL AND k = ANY($2) ORDER BY r.name, k`
	countOutsideSQL = `SELECT count(*) FROM accounts WHERE environment_id = $1 AND status <> 'retired' AND NOT (split_part(email, '@', 2) = ANY($2))`
)

// UpdateEnvironment changes the email domains, custom surfaces, inbox
// settings and capture retention of the environment named name. A domain still used by an active account, or a
// surface a role's isolation policy sets, cannot be removed.
// Errors: EINVALID, ENOTFOUND, ECONFLICT.
func (s *Service) UpdateEnvironment(ctx context.Context, name string, c EnvironmentChange) (Environment, error) {
	var out Environment
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var cur Environment
		if err := scanEnvironment(tx.QueryRow(ctx, lockEnvironmentSQL, name), &cur); err != nil {
			return err
		}
		e := c.applyTo(cur)
		if err := s.validateEnvironment(&e); err != nil {
			return err
		}
		if err := checkSurfacesUnused(ctx, tx, cur, e.CustomSurfaces); err != nil {
			return err
		}
		var outside int
		if err := tx.QueryRow(ctx, countOutsideSQL, cur.ID, e.EmailDomains).Scan(&outside); err != nil {
			return err
		}
		if outside > 0 {
			return understudy.Errorf(understudy.ECONFLICT, "%d active account(s) of environment %s use a domain that the update removes; retire them first", outside, name)
		}
		if err := scanEnvironment(tx.QueryRow(ctx, updateEnvironmentSQL, cur.ID, e.EmailDomains, e.CustomSurfaces,
			e.InboxRetentionSeconds, e.InboxMaxMessages, e.CaptureRetentionSeconds, s.clock.db()), &out); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "environment.update", TargetType: "environment", TargetID: name,
			Details: map[string]any{"email_domains": out.EmailDomains, "previous_email_domains": cur.EmailDomains,
				"custom_surfaces": out.CustomSurfaces, "previous_custom_surfaces": cur.CustomSurfaces,
				"inbox_retention_seconds": out.InboxRetentionSeconds, "previous_inbox_retention_seconds": cur.InboxRetentionSeconds,
				"inbox_max_messages": out.InboxMaxMessages, "previous_inbox_max_messages": cur.InboxMaxMessages,
				"capture_retention_seconds": out.CaptureRetentionSeconds, "previous_capture_retention_seconds": cur.CaptureRetentionSeconds}})
	})
	return out, pgdb.Translate(err, "environment "+name+" does not exist", "")
}

// applyTo returns cur changed by c: a nil field keeps cur's value.
func (c EnvironmentChange) applyTo(cur Environment) Environment {
	e := cur
	if c.EmailDomains != nil {
		e.EmailDomains = c.EmailDomains
	}
	if c.CustomSurfaces != nil {
		e.CustomSurfaces = c.CustomSurfaces
	}
	if c.InboxRetentionSeconds != nil {
		e.InboxRetentionSeconds = *c.InboxRetentionSeconds
	}
	if c.InboxMaxMessages != nil {
		e.InboxMaxMessages = *c.InboxMaxMessages
	}
	if c.CaptureRetentionSeconds != nil {
		e.CaptureRetentionSeconds = *c.CaptureRetentionSeconds
	}
	return e
}

// checkSurfacesUnused refuses to drop a custom surface of cur that a role's
// isolation policy still sets. Errors: ECONFLICT naming role and surface.
func checkSurfacesUnused(ctx context.Context, tx pgx.Tx, cur Environment, keep []string) error {
	var dropped []string
	for _, sf := range cur.CustomSurfaces {
		if !slices.Contains(keep, sf) {
			dropped = append(dropped, sf)
		}
	}
	if len(dropped) == 0 {
		return nil
	}
	var role, surface string
	err := tx.QueryRow(ctx, surfaceInUseSQL, cur.ID, dropped).Scan(&role, &surface)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return understudy.Errorf(understudy.ECONFLICT, "role %s of environment %s sets surface %s in its isolation policy; remove it from the policy first", role, cur.Name, surface)
}

const (
	countRolesSQL        = `SELECT count(*) FROM roles WHERE environment_id = $1 AND deleted_at IS NULL`
	deleteEnvironmentSQL = `DELETE FROM environments WHERE id = $1`
	countAccountsSQL     = `SELECT count(*) FROM accounts WHERE environment_id = $1`
)

// DeleteEnvironment deletes the environment named name. It refuses while
// the environment has roles, or accounts whose history must stay.
// Errors: ENOTFOUND, ECONFLICT.
func (s *Service) DeleteEnvironment(ctx context.Context, name string) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var e Environment
		if err := scanEnvironment(tx.QueryRow(ctx, lockEnvironmentSQL, name), &e); err != nil {
			return err
		}
		var roles, accounts int
		if err := tx.QueryRow(ctx, countRolesSQL, e.ID).Scan(&roles); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, countAccountsSQL, e.ID).Scan(&accounts); err != nil {
			return err
		}
		if roles > 0 || accounts > 0 {
			return understudy.Errorf(understudy.ECONFLICT, "environment %s has %d role(s) and %d account(s), retired ones included; delete its roles first (account history is kept, so an environment that ever had accounts stays)", name, roles, accounts)
		}
		if _, err := tx.Exec(ctx, deleteEnvironmentSQL, e.ID); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "environment.delete", TargetType: "environment", TargetID: name})
	})
	return pgdb.Translate(err, "environment "+name+" does not exist", "")
}
