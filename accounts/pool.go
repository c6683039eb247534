package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/identity"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
)

const (
	activeSlotsSQL   = `SELECT slot FROM accounts WHERE role_id = $1 AND status <> 'retired'`
	retireSlotsSQL   = `UPDATE accounts SET status = 'retired', status_reason = $3, retired_at = coalesce($4::timestamptz, now()), updated_at = coalesce($4::timestamptz, now()) WHERE role_id = $1 AND status <> 'retired' AND slot > $2 RETURNING id, slot`
	retireAccountSQL = `UPDATE accounts SET status = 'retired', status_reason = $2, retired_at = coalesce($3::timestamptz, now()), updated_at = coalesce($3::timestamptz, now()) WHERE id = $1`
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
	var missing []int
	for slot := 1; slot <= r.PoolSize; slot++ {
		if !have[slot] {
			missing = append(missing, slot)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := s.fillSlots(ctx, tx, e, r, missing); err != nil {
		return fmt.Errorf("creating the %d account(s) of slots %s of role %s (none was created): %w", len(missing), slotList(missing), r.Name, err)
	}
	return nil
}

// slotList names slots compactly: "1-100", "3, 7-9".
func slotList(slots []int) string {
	var parts []string
	for i := 0; i < len(slots); {
		j := i
		for j+1 < len(slots) && slots[j+1] == slots[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(slots[i]))
		} else {
			parts = append(parts, strconv.Itoa(slots[i])+"-"+strconv.Itoa(slots[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
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
	events := make([]access.Event, len(list))
	for i, x := range list {
		events[i] = access.Event{Action: "account.retire", TargetType: "account", TargetID: x.ID,
			Details: map[string]any{"slot": x.Slot, "reason": reason}}
	}
	return len(list), access.RecordMany(ctx, tx, events)
}

// newAccount is one account of a pool's fill, before its insert.
type newAccount struct {
	id       uuid.UUID
	slot     int
	gen      int
	identity identity.Identity
	sealed   secret.Sealed
}

const (
	// nextGensSQL gives each slot of $2 the next generation of role $1.
	nextGensSQL = `SELECT s.slot, coalesce(max(a.generation) + 1, 0)
FROM unnest($2::int[]) AS s (slot) LEFT JOIN accounts a ON a.role_id = $1 AND a.slot = s.slot
GROUP BY s.slot`
	// takenEmailsSQL lists which of the emails $1 an account has.
	takenEmailsSQL = `SELECT email FROM accounts WHERE email = ANY($1::text[])`
)

// fillSlots creates the accounts of slots in role r, each with the next
// generation whose email is free, at the environment's first domain,
// which must still be a controlled domain of this server. It writes them
// with one COPY (the exclusions trigger runs once for all of them), and
// schedules and audits them with one statement each: a handful of round
// trips whatever the number of slots. It runs in the caller's
// transaction, so a failure leaves no account of the fill behind.
func (s *Service) fillSlots(ctx context.Context, tx pgx.Tx, e Environment, r Role, slots []int) error {
	domain := e.EmailDomains[0]
	if !s.allowed.has(domain) {
		return understudy.Errorf(understudy.ECONFLICT, "environment %s's email domain %s is not a controlled domain of this server (allowed: %s); no account is created outside one", e.Name, domain, s.allowed)
	}
	batch, err := s.freeIdentities(ctx, tx, e, r, domain, slots)
	if err != nil {
		return err
	}
	hasApps := false
	if s.provisioning != nil {
		if hasApps, err = s.provisioning.HasAppsTx(ctx, tx, e.ID); err != nil {
			return err
		}
	}
	status := StatusReady // nothing to provision into
	if hasApps {
		status = StatusPending
	}
	for i := range batch {
		a := &batch[i]
		a.id = uuid.New()
		a.sealed = s.keyring.Seal([]byte(identity.NewPassword()), []byte(a.id.String()))
	}
	if err := s.copyAccounts(ctx, tx, e, r, status, batch); err != nil {
		return err
	}
	ids := make([]string, len(batch))
	events := make([]access.Event, len(batch))
	for i, a := range batch {
		ids[i] = a.id.String()
		events[i] = access.Event{Action: "account.create", TargetType: "account", TargetID: ids[i],
			Details: map[string]any{"environment": e.Name, "role": r.Name, "slot": a.slot, "generation": a.gen, "email": a.identity.Email}}
	}
	if hasApps {
		if err := s.provisioning.ScheduleTx(ctx, tx, ids...); err != nil {
			return err
		}
	}
	return access.RecordMany(ctx, tx, events)
}

// freeIdentities generates the identity of each slot at its next
// generation; where the email is taken (by any account, retired ones
// too, or by another slot of the fill: a suffix collision), the slot
// takes the generation after, which has another suffix.
func (s *Service) freeIdentities(ctx context.Context, tx pgx.Tx, e Environment, r Role, domain string, slots []int) ([]newAccount, error) {
	rows, err := tx.Query(ctx, nextGensSQL, r.ID, slots)
	if err != nil {
		return nil, err
	}
	type slotGen struct{ Slot, Gen int }
	gens, err := pgx.CollectRows(rows, pgx.RowToStructByPos[slotGen])
	if err != nil {
		return nil, err
	}
	now := s.now()
	batch := make([]newAccount, len(gens))
	for i, g := range gens {
		batch[i] = newAccount{slot: g.Slot, gen: g.Gen}
	}
	slices.SortFunc(batch, func(a, b newAccount) int { return a.slot - b.slot })
	redo := make([]int, len(batch)) // indexes of batch whose identity is (re)generated
	for i := range batch {
		redo[i] = i
	}
	for len(redo) > 0 {
		emails := make([]string, len(redo))
		for k, i := range redo {
			a := &batch[i]
			a.identity = identity.Generate(identity.Seed{Environment: e.Name, Role: r.Name, Slot: a.slot, Generation: a.gen}, domain, now)
			emails[k] = a.identity.Email
		}
		rows, err := tx.Query(ctx, takenEmailsSQL, emails)
		if err != nil {
			return nil, err
		}
		taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		redo = collisions(batch, taken)
		for _, i := range redo {
			batch[i].gen++
		}
	}
	return batch, nil
}

// collisions returns the indexes of batch whose email is taken, or is
// the email of an earlier account of batch.
func collisions(batch []newAccount, taken []string) []int {
	used := make(map[string]bool, len(batch)+len(taken))
	for _, t := range taken {
		used[t] = true
	}
	var out []int
	for i, a := range batch {
		if used[a.identity.Email] {
			out = append(out, i)
			continue
		}
		used[a.identity.Email] = true
	}
	return out
}

// accountColumnsCopied are the columns fillSlots writes; created_at and
// updated_at follow when the clock is injected (else they take the
// database's now(), their default).
var accountColumnsCopied = []string{"id", "environment_id", "role_id", "slot", "generation", "status", "email", "username", "identity",
	"password_key_id", "password_sealed", "password_rotated_at"}

// copyAccounts writes batch with one COPY.
func (s *Service) copyAccounts(ctx context.Context, tx pgx.Tx, e Environment, r Role, status Status, batch []newAccount) error {
	// pgtype.UUID: pgx encodes it directly, where a uuid.UUID goes
	// through a failed plan and its driver.Valuer, for each row.
	var envID, roleID pgtype.UUID
	if err := envID.Scan(e.ID); err != nil {
		return fmt.Errorf("environment %s's id %q: %w", e.Name, e.ID, err)
	}
	if err := roleID.Scan(r.ID); err != nil {
		return fmt.Errorf("role %s's id %q: %w", r.Name, r.ID, err)
	}
	cols := accountColumnsCopied
	at := s.clock.db()
	if at != nil {
		cols = append(slices.Clip(cols), "created_at", "updated_at")
	}
	rotated := s.now().UTC()
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"accounts"}, cols, pgx.CopyFromSlice(len(batch), func(i int) ([]any, error) {
		a := &batch[i]
		row := []any{pgtype.UUID{Bytes: a.id, Valid: true}, envID, roleID, a.slot, a.gen, string(status), a.identity.Email, a.identity.Username, a.identity,
			a.sealed.KeyID, a.sealed.Data, rotated}
		if at != nil {
			row = append(row, *at, *at)
		}
		return row, nil
	}))
	if err != nil {
		return err
	}
	if int(n) != len(batch) {
		return fmt.Errorf("copying %d accounts of role %s wrote %d", len(batch), r.Name, n)
	}
	return nil
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
