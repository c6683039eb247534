package isolation

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/accounts"
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
SELECT v.id, e.name, p.name, v.surface, v.account_id::text, r.name, v.ref, v.visibility, v.evidence,
       v.first_seen_at, v.last_seen_at, v.closed_at
FROM isolation_violations v
JOIN environments e ON e.id = v.environment_id
JOIN apps p ON p.id = v.app_id
JOIN accounts a ON a.id = v.account_id
JOIN roles r ON r.id = a.role_id
WHERE ($1 = '' OR e.name = $1) AND ($2::boolean IS NULL OR (v.closed_at IS NULL) = $2)
  AND ($3 = '' OR v.account_id::text = $3)
ORDER BY v.id DESC LIMIT $4`

// ListViolations returns the newest violations matching f, newest first.
func (s *Service) ListViolations(ctx context.Context, f ViolationFilter) ([]Violation, error) {
	return listViolations(ctx, s.db, f)
}

func listViolations(ctx context.Context, db pgdb.DB, f ViolationFilter) ([]Violation, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	rows, err := db.Query(ctx, listViolationsSQL, f.Environment, f.Open, f.AccountID, limit)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Violation, error) {
		var v Violation
		err := r.Scan(&v.ID, &v.Environment, &v.App, &v.Surface, &v.AccountID, &v.Role, &v.Ref, &v.Visibility, &v.Evidence,
			&v.FirstSeenAt, &v.LastSeenAt, &v.ClosedAt)
		return v, err
	})
	return out, pgdb.Translate(err, "", "")
}

// OpenCount is the number of open violations of one surface.
type OpenCount struct {
	Environment, Surface string
	Open                 int
}

const openCountsSQL = `
SELECT e.name, v.surface, count(*) FROM isolation_violations v JOIN environments e ON e.id = v.environment_id
WHERE v.closed_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2`

// OpenCounts counts the open violations by environment and surface, for
// the metrics.
func (s *Service) OpenCounts(ctx context.Context) ([]OpenCount, error) {
	rows, err := s.db.Query(ctx, openCountsSQL)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpenCount, error) {
		var c OpenCount
		return c, r.Scan(&c.Environment, &c.Surface, &c.Open)
	})
	return out, pgdb.Translate(err, "", "")
}
