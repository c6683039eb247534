package accounts

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
)

// Provisioning schedules the provisioning of new accounts into the apps of
// their environment. Package snapshot, which owns provisioning (its job,
// its worker, its outcome), implements it (snapshot.Scheduler); without
// one, no environment has apps and every new account is ready at once.
type Provisioning interface {
	// HasAppsTx reports, inside tx, whether environment envID has apps:
	// a new account there is pending until it is provisioned.
	HasAppsTx(ctx context.Context, tx pgx.Tx, envID string) (bool, error)
	// ScheduleTx enqueues, inside tx, the provisioning of each of
	// accountIDs, in one statement.
	ScheduleTx(ctx context.Context, tx pgx.Tx, accountIDs ...string) error
}

const (
	activeAccountsSQL = `SELECT id FROM accounts WHERE environment_id = $1 AND status <> 'retired'`
	markPendingSQL    = `UPDATE accounts SET status = 'pending', status_reason = '', updated_at = coalesce($2::timestamptz, now()) WHERE id = ANY($1::uuid[]) AND status IN ('ready', 'failed')`
	setStatusSQL      = `UPDATE accounts SET status = $2, status_reason = $3, updated_at = coalesce($5::timestamptz, now()) WHERE id = $1 AND status = ANY($4)`
	emailsSQL         = `SELECT id::text, email FROM accounts WHERE id = ANY($1::uuid[])`
)

const lockSQL = `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`

// LockTx locks the account with id until tx ends, so that writes about it
// (a capture's next version) queue one after the other.
func LockTx(ctx context.Context, tx pgx.Tx, id string) error {
	_, err := tx.Exec(ctx, lockSQL, id)
	return err
}

// PendActiveTx marks every active account of environment envID that is
// ready or failed pending, inside tx (an app was attached: each must be
// provisioned into it), and returns the ids of every active account.
// now is the caller's clock (nil: the database's).
func PendActiveTx(ctx context.Context, tx pgx.Tx, envID string, now *time.Time) ([]string, error) {
	rows, err := tx.Query(ctx, activeAccountsSQL, envID)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(ids) == 0 {
		return ids, err
	}
	_, err = tx.Exec(ctx, markPendingSQL, ids, now)
	return ids, err
}

// SetStatus moves the account to status to (with reason) when it is in one
// of from, and records e about it (unless e has no Action) in the same
// statement; it reports whether the account moved (an account in another
// status is left alone, and nothing is audited). Provisioning and resets
// (package snapshot) decide an account's status through it.
func (s *Service) SetStatus(ctx context.Context, accountID string, to Status, reason string, from []Status, e access.Event) (bool, error) {
	if e.Action == "" {
		tag, err := s.db.Exec(ctx, setStatusSQL, accountID, to, reason, from, s.clock.db())
		return err == nil && tag.RowsAffected() > 0, pgdb.Translate(err, "", "")
	}
	b := &pgx.Batch{}
	moved, err := s.QueueSetStatus(ctx, b, accountID, to, reason, from, e)
	if err != nil {
		return false, err
	}
	if err := pgdb.SendBatch(ctx, s.db, b); err != nil {
		return false, err
	}
	return moved(), nil
}

// QueueSetStatus queues in b what SetStatus sends: the move of the account
// to status to (with reason) when it is in one of from, and e about it, in
// one statement that records e only when the account moved
// (access.QueueIf). Once b has been sent, moved reports whether it moved.
func (s *Service) QueueSetStatus(ctx context.Context, b *pgx.Batch, accountID string, to Status, reason string, from []Status, e access.Event) (moved func() bool, err error) {
	e.TargetType, e.TargetID = "account", accountID
	return access.QueueIf(ctx, b, setStatusSQL+" RETURNING 1", []any{accountID, to, reason, from, s.clock.db()}, e)
}

// Emails returns the email of each account of ids that exists, by id.
func (s *Service) Emails(ctx context.Context, ids []string) (map[string]string, error) {
	type pair struct{ id, email string }
	list, err := pgdb.QueryAll(ctx, s.db, func(r pgx.Row, p *pair) error { return r.Scan(&p.id, &p.email) }, emailsSQL, ids)
	out := make(map[string]string, len(list))
	for _, p := range list {
		out[p.id] = p.email
	}
	return out, err
}

// ProviderAccount is what apps are told about account a when it is
// provisioned: its identity, password, role attributes and tags.
func (s *Service) ProviderAccount(ctx context.Context, a Account) (providers.Account, error) {
	cr, err := s.credentials(ctx, a.ID)
	if err != nil {
		return providers.Account{}, err
	}
	r, err := s.GetRole(ctx, a.Environment, a.Role)
	if err != nil {
		return providers.Account{}, err
	}
	id := a.Identity
	return providers.Account{ID: a.ID, Environment: a.Environment, Role: a.Role, Email: id.Email, Username: id.Username,
		DisplayName: id.DisplayName, GivenName: id.GivenName, FamilyName: id.FamilyName, Phone: id.Phone,
		Locale: id.Locale, TimeZone: id.TimeZone, Password: cr.Password, Attributes: r.Attributes, Tags: tagsOf(&a)}, nil
}
