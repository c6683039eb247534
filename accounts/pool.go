package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/identity"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

const (
	activeSlotsSQL   = `SELECT slot FROM accounts WHERE role_id = $1 AND status <> 'retired'`
	retireSlotsSQL   = `UPDATE accounts SET status = 'retired', status_reason = $3, retired_at = coalesce($4::timestamptz, now()), updated_at = coalesce($4::timestamptz, now()) WHERE role_id = $1 AND status <> 'retired' AND slot > $2 RETURNING id, slot`
	retireAccountSQL = `UPDATE accounts SET status = 'retired', status_reason = $2, retired_at = coalesce($3::timestamptz, now()), updated_at = coalesce($3::timestamptz, now()) WHERE id = $1`
	nextGenSQL       = `SELECT coalesce(max(generation) + 1, 0) FROM accounts WHERE role_id = $1 AND slot = $2`
	emailTakenSQL    = `SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1)`
	insertAccountSQL = `
INSERT INTO accounts (id, environment_id, role_id, slot, generation, status, email, username, identity,
                      password_key_id, password_sealed, password_rotated_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, coalesce($13::timestamptz, now()), coalesce($13::timestamptz, now()))`
)

// ensurePool makes the active accounts of role r fill exactly the slots
// 1…r.PoolSize: accounts past the pool size are retired, missing slots get a
// new account. It runs inside the caller's transaction, with the role row
// locked, so concurrent updates of one role queue.
func (s *Service) ensurePool(ctx context.Context, tx pgx.Tx, e Environment, r Role) error {
	if _, err := retireSlots(ctx, tx, r.ID, r.PoolSize, fmt.Sprintf("pool of role %s reduced to %d", r.Name, r.PoolSize), s.clock.db()); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, activeSlotsSQL, r.ID)
	if err != nil {
		return err
	}
	slots, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return err
	}
	have := map[int]bool{}
	for _, sl := range slots {
		have[sl] = true
	}
	for slot := 1; slot <= r.PoolSize; slot++ {
		if !have[slot] {
			if err := s.createAccount(ctx, tx, e, r, slot); err != nil {
				return fmt.Errorf("creating the account in slot %d of role %s: %w", slot, r.Name, err)
			}
		}
	}
	return nil
}

// pastSQL locks the active accounts of a role in slots past $2, so a lease
// cannot start on them until the transaction ends.
const pastSQL = `SELECT a.id::text, a.email, a.slot FROM accounts a
WHERE a.role_id = $1 AND a.slot > $2 AND a.status <> 'retired'
ORDER BY a.slot FOR UPDATE OF a`

// ErrLeased is matched (errors.Is) by the refusal of a change that would
// retire a leased account (RoleChange.RefuseLeased, DeleteRoleUnleased,
// RenewPool); the error itself is an ECONFLICT naming the accounts.
var ErrLeased = errors.New("an account to retire is leased")

type leasedError struct{ err *understudy.Error }

func (e *leasedError) Error() string        { return e.err.Error() }
func (e *leasedError) Unwrap() error        { return e.err }
func (e *leasedError) Is(target error) bool { return target == ErrLeased }

// refuseLeased refuses, with ECONFLICT naming them, to retire the leased
// accounts of role roleID in the slots past keep; it locks those accounts
// until tx ends, then reads their open leases (Config.OpenLeases) in tx.
func (s *Service) refuseLeased(ctx context.Context, tx pgx.Tx, roleID string, keep int) error {
	rows, err := tx.Query(ctx, pastSQL, roleID, keep)
	if err != nil {
		return err
	}
	type past struct {
		ID    string
		Email string
		Slot  int
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[past])
	if err != nil || len(list) == 0 {
		return err
	}
	ids := make([]string, len(list))
	for i, p := range list {
		ids[i] = p.ID
	}
	open, err := s.openLeases(ctx, tx, ids)
	if err != nil {
		return err
	}
	var leased []string
	for _, p := range list {
		if l, ok := open[p.ID]; ok && l.Holder != "" {
			leased = append(leased, fmt.Sprintf("%s (slot %d, leased by %q)", p.Email, p.Slot, l.Holder))
		}
	}
	if len(leased) > 0 {
		return &leasedError{understudy.Errorf(understudy.ECONFLICT, "%d account(s) to retire are leased: %s; wait for the lease(s) to end", len(leased), strings.Join(leased, ", "))}
	}
	return nil
}

// retireSlots retires the active accounts of role roleID in slots past keep.
func retireSlots(ctx context.Context, tx pgx.Tx, roleID string, keep int, reason string, now *time.Time) (int, error) {
	rows, err := tx.Query(ctx, retireSlotsSQL, roleID, keep, reason, now)
	if err != nil {
		return 0, err
	}
	type retired struct {
		ID   string
		Slot int
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[retired])
	if err != nil {
		return 0, err
	}
	for _, x := range list {
		if err := access.Record(ctx, tx, access.Event{Action: "account.retire", TargetType: "account", TargetID: x.ID,
			Details: map[string]any{"slot": x.Slot, "reason": reason}}); err != nil {
			return 0, err
		}
	}
	return len(list), nil
}

// createAccount creates the account of slot in role r with the next
// generation whose email is free, at the environment's first domain, which
// must still be a controlled domain of this server.
func (s *Service) createAccount(ctx context.Context, tx pgx.Tx, e Environment, r Role, slot int) error {
	domain := e.EmailDomains[0]
	if !s.allowed.has(domain) {
		return understudy.Errorf(understudy.ECONFLICT, "environment %s's email domain %s is not a controlled domain of this server (allowed: %s); no account is created outside one", e.Name, domain, s.allowed)
	}
	var gen int
	if err := tx.QueryRow(ctx, nextGenSQL, r.ID, slot).Scan(&gen); err != nil {
		return err
	}
	var id identity.Identity
	for {
		id = identity.Generate(identity.Seed{Environment: e.Name, Role: r.Name, Slot: slot, Generation: gen}, domain, s.now())
		var taken bool
		if err := tx.QueryRow(ctx, emailTakenSQL, id.Email).Scan(&taken); err != nil {
			return err
		}
		if !taken {
			break
		}
		gen++ // a suffix collision: the next generation has another suffix
	}
	accountID := uuid.New()
	sealed := s.keyring.Seal([]byte(identity.NewPassword()), []byte(accountID.String()))
	hasApps := false
	if s.provisioning != nil {
		var err error
		if hasApps, err = s.provisioning.HasAppsTx(ctx, tx, e.ID); err != nil {
			return err
		}
	}
	status := StatusReady // nothing to provision into
	if hasApps {
		status = StatusPending
	}
	_, err := tx.Exec(ctx, insertAccountSQL, accountID, e.ID, r.ID, slot, gen, status, id.Email, id.Username, id,
		sealed.KeyID, sealed.Data, s.now().UTC(), s.clock.db())
	if err != nil {
		return err
	}
	if hasApps {
		if err := s.provisioning.ScheduleTx(ctx, tx, accountID.String()); err != nil {
			return err
		}
	}
	return access.Record(ctx, tx, access.Event{Action: "account.create", TargetType: "account", TargetID: accountID.String(),
		Details: map[string]any{"environment": e.Name, "role": r.Name, "slot": slot, "generation": gen, "email": id.Email}})
}

// RenewPool retires every active account of role name of environment env
// and fills its pool with new accounts, provisioned into every app with
// the role's current attributes: what a change of attributes needs, since
// apps learn them at provisioning. It refuses (ECONFLICT, naming them)
// while an account of the role is leased. Errors: ENOTFOUND, ECONFLICT.
func (rc Reconciler) RenewPool(ctx context.Context, env, name string) error {
	s := rc.s
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var r Role
		if err := s.lockRole(ctx, tx, env, name, &r); err != nil {
			return err
		}
		if err := s.refuseLeased(ctx, tx, r.ID, 0); err != nil {
			return err
		}
		if _, err := retireSlots(ctx, tx, r.ID, 0, "role "+name+" was renewed: its attributes changed", s.clock.db()); err != nil {
			return err
		}
		e, err := s.GetEnvironmentTx(ctx, tx, env)
		if err != nil {
			return err
		}
		return s.ensurePool(ctx, tx, e, r)
	})
	return pgdb.Translate(err, "", "")
}
