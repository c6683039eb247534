package isolation

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Violation is a synthetic account that a real viewer saw on a surface
// that its role's policy keeps from real viewers (hidden, or
// testers_only). It is open from the first audit that saw it until the
// first audit of its surface that no longer does.
type Violation struct {
	ID          int64               `json:"id"`
	Environment string              `json:"environment"`
	App         string              `json:"app"`
	Surface     string              `json:"surface"`
	AccountID   string              `json:"account_id"`
	Role        string              `json:"role"`
	Ref         string              `json:"ref"`
	Visibility  accounts.Visibility `json:"visibility"`
	Evidence    Evidence            `json:"evidence"`
	FirstSeenAt time.Time           `json:"first_seen_at"`
	LastSeenAt  time.Time           `json:"last_seen_at"`
	// ClosedAt is when an audit last failed to see it; nil while open.
	ClosedAt *time.Time `json:"closed_at,omitempty"`
}

// QuarantineView is this package's view of the violations that
// quarantine their account (migration 000022): the open ones on a hidden
// surface, with the columns id, environment_id, app_id, surface,
// account_id and first_seen_at. Which violations quarantine is decided
// here; whether a role quarantines on them is package accounts' to decide,
// and its lease claim reads this view by name, accounts.QuarantineView (in
// the statement that locks the account, so a claim stays one statement;
// accounts cannot import this package, which depends on it). A test holds
// the two names equal.
const QuarantineView = "quarantining_violations"

// Open reports whether v is open.
func (v Violation) Open() bool { return v.ClosedAt == nil }

// Evidence is what the audit that last saw a violation saw.
type Evidence struct {
	// Position is the ref's first place (from 0) in the app's answer.
	Position int `json:"position"`
	// Seen is how many refs the app answered for the surface.
	Seen int `json:"seen"`
	// RequestID is the audit's correlation id, sent to the app.
	RequestID string `json:"request_id,omitempty"`
}

// ViolationFilter narrows ListViolations. Zero fields match everything.
type ViolationFilter struct {
	Environment string
	// Open, when not nil, keeps open (true) or closed (false) violations.
	Open *bool
	// AccountID keeps one account's violations.
	AccountID string
	// Limit defaults to 100, at most 1000.
	Limit int
}

const listViolationsSQL = `
SELECT v.id, v.environment_id::text, v.app_id::text, v.surface, v.account_id::text, v.ref, v.visibility, v.evidence,
       v.first_seen_at, v.last_seen_at, v.closed_at
FROM isolation_violations v
WHERE ($1::uuid IS NULL OR v.environment_id = $1) AND ($2::boolean IS NULL OR (v.closed_at IS NULL) = $2)
  AND ($3 = '' OR v.account_id::text = $3)
ORDER BY v.id DESC LIMIT $4`

// ListViolations returns the newest violations matching f, newest first.
func (s *Service) ListViolations(ctx context.Context, f ViolationFilter) ([]Violation, error) {
	return listViolations(ctx, s.db, f)
}

// listViolations reads a page of violations, then the names behind its
// ids through their owners: one statement for the environments and roles
// (accounts), one for the apps (apps).
func listViolations(ctx context.Context, db pgdb.DB, f ViolationFilter) ([]Violation, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var envID *string
	if f.Environment != "" {
		id, found, err := accounts.EnvironmentID(ctx, db, f.Environment)
		switch {
		case err != nil:
			return nil, err
		case !found:
			return []Violation{}, nil
		}
		envID = &id
	}
	rows, err := db.Query(ctx, listViolationsSQL, envID, f.Open, f.AccountID, limit)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	var envIDs, appIDs []string
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Violation, error) {
		var v Violation
		var env, app string
		err := r.Scan(&v.ID, &env, &app, &v.Surface, &v.AccountID, &v.Ref, &v.Visibility, &v.Evidence,
			&v.FirstSeenAt, &v.LastSeenAt, &v.ClosedAt)
		envIDs, appIDs = append(envIDs, env), append(appIDs, app)
		return v, err
	})
	if err != nil || len(out) == 0 {
		return out, pgdb.Translate(err, "", "")
	}
	accountIDs := make([]string, len(out))
	for i, v := range out {
		accountIDs[i] = v.AccountID
	}
	names, err := accounts.NamesOf(ctx, db, envIDs, accountIDs)
	if err != nil {
		return nil, err
	}
	appNames, err := apps.Names(ctx, db, appIDs)
	if err != nil {
		return nil, err
	}
	appName := make(map[string]string, len(appNames))
	for _, a := range appNames {
		appName[a.ID] = a.Name
	}
	for i := range out {
		out[i].Environment, out[i].App, out[i].Role = names.Environments[envIDs[i]], appName[appIDs[i]], names.Roles[out[i].AccountID]
	}
	return out, nil
}

// OpenCount is the number of open violations of one surface.
type OpenCount struct {
	Environment, Surface string
	Open                 int
}

const openCountsSQL = `
SELECT v.environment_id::text, v.surface, count(*) FROM isolation_violations v
WHERE v.closed_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2`

// OpenCounts counts the open violations by environment and surface, for
// the metrics, ordered by environment name (read through accounts) and
// surface.
func (s *Service) OpenCounts(ctx context.Context) ([]OpenCount, error) {
	rows, err := s.db.Query(ctx, openCountsSQL)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	var envIDs []string
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpenCount, error) {
		var c OpenCount
		var env string
		err := r.Scan(&env, &c.Surface, &c.Open)
		envIDs = append(envIDs, env)
		return c, err
	})
	if err != nil || len(out) == 0 {
		return out, pgdb.Translate(err, "", "")
	}
	names, err := accounts.NamesOf(ctx, s.db, envIDs, nil)
	if err != nil {
		return nil, err
	}
	type keyed struct {
		rank int
		c    OpenCount
	}
	ks := make([]keyed, len(out))
	for i, c := range out {
		c.Environment = names.Environments[envIDs[i]]
		ks[i] = keyed{names.EnvironmentRank[envIDs[i]], c}
	}
	// SQL ordered the surfaces of each environment; keep that order within
	// an environment.
	slices.SortStableFunc(ks, func(a, b keyed) int { return a.rank - b.rank })
	for i, k := range ks {
		out[i] = k.c
	}
	return out, nil
}
