package accounts

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Member is an active (not retired) account of a role's pool, with its
// open lease if it has one: what a change to the role would touch.
type Member struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	Slot   int    `json:"slot"`
	Status Status `json:"status"`
	// LeasedBy is the holder of the account's open lease, empty when it
	// has none; LeaseExpiresAt is when that lease ends at the latest.
	LeasedBy       string     `json:"leased_by,omitempty"`
	LeaseExpiresAt *time.Time `json:"lease_expires_at,omitempty"`
}

const membersSQL = `
SELECT a.id, a.email, r.name, a.slot, a.status
FROM accounts a JOIN roles r ON r.id = a.role_id JOIN environments e ON e.id = a.environment_id
WHERE e.name = $1 AND a.status <> 'retired' AND ($2 = '' OR r.name = $2)
ORDER BY r.name, a.slot`

func scanMember(row pgx.Row, m *Member) error {
	return row.Scan(&m.ID, &m.Email, &m.Role, &m.Slot, &m.Status)
}

// Members returns the active accounts of environment env, of role when it
// is not empty, by role and slot, each with its open lease (read through
// Config.OpenLeases, in a second statement).
func (rc Reconciler) Members(ctx context.Context, env, role string) ([]Member, error) {
	s := rc.s
	list, err := pgdb.QueryAll(ctx, s.db, scanMember, membersSQL, env, role)
	if err != nil || len(list) == 0 {
		return list, err
	}
	ids := make([]string, len(list))
	for i, m := range list {
		ids[i] = m.ID
	}
	open, err := s.openLeases(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if l, ok := open[list[i].ID]; ok {
			list[i].LeasedBy, list[i].LeaseExpiresAt = l.Holder, &l.ExpiresAt
		}
	}
	return list, nil
}

const historySQL = `SELECT count(*) FROM accounts a JOIN environments e ON e.id = a.environment_id WHERE e.name = $1`

// CountAccountsEver counts the accounts environment env ever had, retired ones
// included: an environment with history cannot be deleted.
func (rc Reconciler) CountAccountsEver(ctx context.Context, env string) (int, error) {
	s := rc.s
	return pgdb.QueryOne(ctx, s.db, pgdb.Scalar[int], "", historySQL, env)
}
