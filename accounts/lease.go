package accounts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
)

// LeaseStatus is where a lease is: acquiring (its account is being reset),
// active, released, expired or failed (the reset failed).
type LeaseStatus string

// Lease statuses.
const (
	LeaseAcquiring LeaseStatus = "acquiring"
	LeaseActive    LeaseStatus = "active"
	LeaseReleased  LeaseStatus = "released"
	LeaseExpired   LeaseStatus = "expired"
	LeaseFailed    LeaseStatus = "failed"
)

// Lease is an exclusive, time-bounded checkout of an account by a test run.
type Lease struct {
	ID           string      `json:"id"`
	AccountID    string      `json:"account_id"`
	Environment  string      `json:"environment"`
	Role         string      `json:"role"`
	Holder       string      `json:"holder"`
	State        string      `json:"state"`
	Status       LeaseStatus `json:"status"`
	StatusReason string      `json:"status_reason"`
	AcquiredAt   time.Time   `json:"acquired_at"`
	ExpiresAt    time.Time   `json:"expires_at"`
	EndedAt      *time.Time  `json:"ended_at,omitempty"`
}

// Grant is what acquiring a lease hands the test run: the lease, the
// freshly reset account, its credentials and its ref in each app.
type Grant struct {
	Lease       Lease             `json:"lease"`
	Account     Account           `json:"account"`
	Credentials Credentials       `json:"credentials"`
	Refs        map[string]string `json:"refs"`
}

// LeaseRequest asks for an account of a role.
type LeaseRequest struct {
	Environment string
	Role        string
	// State the account is reset to. Defaults to the baseline.
	State string
	// Holder names the test run (CI job, worker index). Required.
	Holder string
	// TTL is how long the lease lasts unless renewed: 1s to 24h.
	TTL time.Duration
	// Wait is how long to wait for a free account: 0 to 10m.
	Wait time.Duration
	// IdempotencyKey makes a retried request return the same lease.
	IdempotencyKey string
}

// Validate names every bad field.
func (r *LeaseRequest) Validate() error {
	var f []understudy.FieldError
	if r.Holder == "" || len(r.Holder) > 200 {
		f = append(f, understudy.FieldError{Field: "holder", Detail: "is required, at most 200 characters"})
	}
	if r.TTL < time.Second || r.TTL > 24*time.Hour {
		f = append(f, understudy.FieldError{Field: "ttl_seconds", Detail: "must be from 1 to 86400"})
	}
	if r.Wait < 0 || r.Wait > 10*time.Minute {
		f = append(f, understudy.FieldError{Field: "wait_seconds", Detail: "must be from 0 to 600"})
	}
	if r.State = stateOrBaseline(r.State); !stateRE.MatchString(r.State) {
		f = append(f, understudy.FieldError{Field: "state", Detail: "must be a state name such as initial or with-cart"})
	}
	if len(r.IdempotencyKey) > 200 {
		f = append(f, understudy.FieldError{Field: "Idempotency-Key", Detail: "must be at most 200 characters"})
	}
	if len(f) > 0 {
		return understudy.Invalid("invalid lease request", f...)
	}
	return nil
}

const leaseColumns = `l.id, l.account_id, e.name, r.name, l.holder, l.state, l.status, l.status_reason, l.acquired_at, l.expires_at, l.ended_at`
const leaseFrom = ` FROM leases l JOIN roles r ON r.id = l.role_id JOIN environments e ON e.id = r.environment_id`

func scanLease(row pgx.Row, l *Lease) error {
	return row.Scan(&l.ID, &l.AccountID, &l.Environment, &l.Role, &l.Holder, &l.State, &l.Status, &l.StatusReason,
		&l.AcquiredAt, &l.ExpiresAt, &l.EndedAt)
}

// AcquireLease leases a ready account of the role, resets it to the
// requested state and returns it with its credentials. No two leases ever
// hold one account. When every account is busy it waits up to req.Wait,
// then answers ECONFLICT with when the next lease expires.
func (s *Service) AcquireLease(ctx context.Context, req LeaseRequest) (Grant, error) {
	if err := req.Validate(); err != nil {
		return Grant{}, err
	}
	if g, found, err := s.idempotentLease(ctx, req); found || err != nil {
		return g, err
	}
	l, err := s.claimWaiting(ctx, req)
	if err != nil {
		if understudy.ErrorCode(err) == understudy.ECONFLICT && req.IdempotencyKey != "" {
			if g, found, ierr := s.idempotentLease(ctx, req); found || ierr != nil {
				return g, ierr
			}
		}
		return Grant{}, err
	}
	return s.prepareLease(ctx, l)
}

// claimWaiting claims an account, polling until req.Wait has passed. The
// role is read only when no account could be claimed at once.
func (s *Service) claimWaiting(ctx context.Context, req LeaseRequest) (Lease, error) {
	deadline := s.now().Add(req.Wait)
	pause := 20 * time.Millisecond
	var role *Role
	for contended := 0; ; {
		l, ok, err := s.claim(ctx, req)
		if err != nil || ok {
			return l, err
		}
		if role == nil { // nothing free: now the role matters (does it exist? its id, its pool)
			r, err := s.GetRole(ctx, req.Environment, req.Role)
			if err != nil {
				return Lease{}, err
			}
			role = &r
		}
		// SKIP LOCKED passes over accounts that concurrent claims hold for
		// a moment; while some account is still ready, try again at once.
		if contended < 5 && s.anyReady(ctx, role.ID) {
			contended++
			continue
		}
		// Nothing is free: end the overdue leases now rather than wait for
		// the periodic job (whose replica may be down), then try once more.
		if n, err := s.ExpireLeases(ctx); err == nil && n > 0 {
			if l, ok, err := s.claim(ctx, req); err != nil || ok {
				return l, err
			}
		}
		if !s.now().Before(deadline) {
			return Lease{}, s.busyError(ctx, *role)
		}
		select {
		case <-ctx.Done():
			return Lease{}, understudy.Errorf(understudy.EUNAVAILABLE, "gave up waiting for an account of role %s: %v", role.Name, ctx.Err())
		case <-time.After(min(pause, time.Until(deadline)+time.Millisecond)):
		}
		pause = min(pause*2, 250*time.Millisecond)
	}
}

// claimSQL marks one ready account of a role leased, records an acquiring
// lease for it and audits that, in one statement (so one round trip, and
// all or nothing). SKIP LOCKED lets concurrent claims take different
// accounts; the unique index on open leases makes sharing impossible.
// The audit row is the one access.Record writes.
const claimSQL = `
WITH picked AS (
    SELECT a.id, a.role_id FROM accounts a
    WHERE a.role_id = (SELECT r.id FROM roles r JOIN environments e ON e.id = r.environment_id
                       WHERE e.name = $1 AND r.name = $2 AND r.deleted_at IS NULL)
      AND a.status = 'ready'
    ORDER BY a.slot LIMIT 1 FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE accounts a SET status = 'leased', status_reason = '', updated_at = now()
    FROM picked WHERE a.id = picked.id RETURNING a.id, a.role_id
), lease AS (
    INSERT INTO leases (id, account_id, role_id, holder, state, status, token_name, idempotency_key, ttl_seconds, expires_at)
    SELECT $3, claimed.id, claimed.role_id, $4, $5, 'acquiring', $6, $7, $8, now() + make_interval(secs => $9) FROM claimed
    RETURNING id, account_id, holder, state, status, status_reason, acquired_at, expires_at, ended_at
), audit AS (
    INSERT INTO audit_events (actor, action, target_type, target_id, request_id, details)
    SELECT $10, 'lease.acquire', 'lease', lease.id::text, $11,
           jsonb_build_object('account_id', lease.account_id, 'holder', lease.holder, 'state', lease.state, 'ttl_seconds', $8::int)
    FROM lease
)
SELECT id, account_id, holder, state, status, status_reason, acquired_at, expires_at, ended_at FROM lease`

// claim leases one ready account of the role, or reports that none is
// free (or that the role does not exist: the caller tells which).
func (s *Service) claim(ctx context.Context, req LeaseRequest) (Lease, bool, error) {
	var key *string
	if req.IdempotencyKey != "" {
		key = &req.IdempotencyKey
	}
	// An acquiring lease outlives the reset it waits for, even if this
	// server dies; the expiry job frees the account after that.
	grace := req.TTL + 2*s.appTimeout
	caller := access.CallerFrom(ctx)
	l := Lease{Environment: req.Environment, Role: req.Role}
	err := s.db.QueryRow(ctx, claimSQL, req.Environment, req.Role, uuid.NewString(), req.Holder, req.State, caller.Actor, key,
		int(req.TTL.Seconds()), grace.Seconds(), cmp.Or(caller.Actor, "system"), caller.RequestID).
		Scan(&l.ID, &l.AccountID, &l.Holder, &l.State, &l.Status, &l.StatusReason, &l.AcquiredAt, &l.ExpiresAt, &l.EndedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Lease{}, false, nil
	case err != nil:
		return Lease{}, false, pgdb.Translate(err, "", "a lease with this Idempotency-Key already exists")
	}
	return l, true, nil
}

// activateSQL makes an acquiring lease active and reads its account and
// sealed password, in one statement.
const activateSQL = `
WITH act AS (
    UPDATE leases SET status = 'active', expires_at = now() + make_interval(secs => ttl_seconds)
    WHERE id = $1 AND status = 'acquiring' RETURNING account_id, status, expires_at
)
SELECT act.status, act.expires_at, ` + accountColumns + `, a.password_key_id, a.password_sealed
FROM act JOIN accounts a ON a.id = act.account_id JOIN environments e ON e.id = a.environment_id JOIN roles r ON r.id = a.role_id`

// prepareLease resets the claimed account and activates the lease, or
// fails both with the reason.
func (s *Service) prepareLease(ctx context.Context, l Lease) (Grant, error) {
	refs, err := s.resetApps(ctx, l.AccountID, l.State)
	if err != nil {
		s.endLease(ctx, l.ID, LeaseFailed, understudy.ErrorMessage(err))
		return Grant{}, err
	}
	g := Grant{Lease: l, Refs: make(map[string]string, len(refs))}
	for _, r := range refs {
		g.Refs[r.AppName] = r.Ref
	}
	row := s.db.QueryRow(ctx, activateSQL, l.ID)
	if err := s.scanGrant(row, &g, &g.Lease.Status, &g.Lease.ExpiresAt); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Grant{}, understudy.Errorf(understudy.ECONFLICT, "lease %s expired while its account was being reset; ask again", l.ID)
		}
		return Grant{}, pgdb.Translate(err, "", "")
	}
	return g, nil
}

// grant assembles what a lease holder gets, from the database.
func (s *Service) grant(ctx context.Context, leaseID string) (Grant, error) {
	l, err := s.GetLease(ctx, leaseID)
	if err != nil {
		return Grant{}, err
	}
	g := Grant{Lease: l}
	if g.Refs, err = s.refNames(ctx, l.AccountID); err != nil {
		return Grant{}, err
	}
	return g, s.fillGrant(ctx, &g)
}

const accountAndPasswordSQL = `SELECT ` + accountColumns + `, a.password_key_id, a.password_sealed` + accountFrom + ` WHERE a.id = $1`

// fillGrant adds the leased account and its credentials to g, read at once.
func (s *Service) fillGrant(ctx context.Context, g *Grant) error {
	err := s.scanGrant(s.db.QueryRow(ctx, accountAndPasswordSQL, g.Lease.AccountID), g)
	return pgdb.Translate(err, "no account has id "+g.Lease.AccountID, "")
}

// scanGrant scans leading (columns before the account's), the account and
// its sealed password into g, and opens the password.
func (s *Service) scanGrant(row pgx.Row, g *Grant, leading ...any) error {
	a := &g.Account
	var sealed secret.Sealed
	dest := append(leading, &a.ID, &a.Environment, &a.Role, &a.Slot, &a.Generation, &a.Status, &a.StatusReason,
		&a.Identity, &a.PasswordRotatedAt, &a.CreatedAt, &a.UpdatedAt, &a.RetiredAt, &sealed.KeyID, &sealed.Data)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	plain, err := s.keyring.Open(sealed, []byte(a.ID))
	if err != nil {
		return s.openError(err)
	}
	g.Credentials = Credentials{AccountID: a.ID, Email: a.Identity.Email, Username: a.Identity.Username,
		Password: string(plain), RotatedAt: a.PasswordRotatedAt}
	return nil
}

const refNamesSQL = `SELECT p.name, r.ref FROM account_refs r JOIN apps p ON p.id = r.app_id WHERE r.account_id = $1`

func (s *Service) refNames(ctx context.Context, accountID string) (map[string]string, error) {
	rows, err := s.db.Query(ctx, refNamesSQL, accountID)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var app, ref string
		if err := rows.Scan(&app, &ref); err != nil {
			return nil, err
		}
		out[app] = ref
	}
	return out, pgdb.Translate(rows.Err(), "", "")
}

const idempotentSQL = `SELECT l.id, l.status, l.status_reason FROM leases l WHERE l.token_name = $1 AND l.idempotency_key = $2`

// idempotentLease finds the lease an earlier request with the same key
// (and the same token) made, waiting while its account is being reset.
func (s *Service) idempotentLease(ctx context.Context, req LeaseRequest) (Grant, bool, error) {
	if req.IdempotencyKey == "" {
		return Grant{}, false, nil
	}
	for {
		var id, status, reason string
		err := s.db.QueryRow(ctx, idempotentSQL, access.CallerFrom(ctx).Actor, req.IdempotencyKey).Scan(&id, &status, &reason)
		if errors.Is(err, pgx.ErrNoRows) {
			return Grant{}, false, nil
		}
		if err != nil {
			return Grant{}, true, pgdb.Translate(err, "", "")
		}
		switch LeaseStatus(status) {
		case LeaseActive:
			g, err := s.grant(ctx, id)
			return g, true, err
		case LeaseAcquiring:
			select {
			case <-ctx.Done():
				return Grant{}, true, understudy.Errorf(understudy.EUNAVAILABLE, "lease %s is still being prepared", id)
			case <-time.After(50 * time.Millisecond):
			}
		default:
			return Grant{}, true, understudy.Errorf(understudy.ECONFLICT, "the lease made with this Idempotency-Key (%s) is %s: %s", id, status, reason)
		}
	}
}

const anyReadySQL = `SELECT EXISTS (SELECT 1 FROM accounts WHERE role_id = $1 AND status = 'ready')`

func (s *Service) anyReady(ctx context.Context, roleID string) bool {
	var ok bool
	_ = s.db.QueryRow(ctx, anyReadySQL, roleID).Scan(&ok)
	return ok
}

const nextExpirySQL = `
SELECT min(expires_at), count(*) FROM leases WHERE role_id = $1 AND status IN ('acquiring', 'active')`

// busyError says why no account could be leased, and when to try again.
func (s *Service) busyError(ctx context.Context, role Role) error {
	var next *time.Time
	var open int
	if err := s.db.QueryRow(ctx, nextExpirySQL, role.ID).Scan(&next, &open); err != nil {
		return pgdb.Translate(err, "", "")
	}
	if next == nil {
		return understudy.Errorf(understudy.ECONFLICT, "no account of role %s in environment %s is ready (none is leased: they are being provisioned, or failed; see `understudy accounts list --role %s`)", role.Name, role.Environment, role.Name)
	}
	e := understudy.Errorf(understudy.ECONFLICT, "every account of role %s in environment %s is leased (%d of a pool of %d); the next lease expires at %s",
		role.Name, role.Environment, open, role.PoolSize, next.UTC().Format(time.RFC3339))
	e.RetryAfter = max(time.Until(*next), time.Second)
	return e
}

// GetLease returns the lease with id. Errors: ENOTFOUND.
func (s *Service) GetLease(ctx context.Context, id string) (Lease, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return Lease{}, understudy.Errorf(understudy.ENOTFOUND, "no lease has id %s", id)
	}
	var l Lease
	err = scanLease(s.db.QueryRow(ctx, `SELECT `+leaseColumns+leaseFrom+` WHERE l.id = $1`, uid), &l)
	return l, pgdb.Translate(err, "no lease has id "+id, "")
}

// ListLeases returns the open leases (or all, with all), newest first.
func (s *Service) ListLeases(ctx context.Context, env, role string, all bool) ([]Lease, error) {
	return queryAll(ctx, s.db, scanLease, listLeasesSQL, env, role, all)
}

const listLeasesSQL = `SELECT ` + leaseColumns + leaseFrom + `
WHERE ($1 = '' OR e.name = $1) AND ($2 = '' OR r.name = $2) AND ($3 OR l.status IN ('acquiring', 'active'))
ORDER BY l.acquired_at DESC LIMIT 1000`

const renewSQL = `
UPDATE leases SET expires_at = now() + make_interval(secs => $2), ttl_seconds = $2
WHERE id = $1 AND status = 'active' RETURNING id`

// RenewLease extends an active lease to ttl from now. Errors: ENOTFOUND,
// ECONFLICT (not active).
func (s *Service) RenewLease(ctx context.Context, id string, ttl time.Duration) (Lease, error) {
	l, err := s.GetLease(ctx, id)
	if err != nil {
		return Lease{}, err
	}
	if ttl < time.Second || ttl > 24*time.Hour {
		return Lease{}, understudy.Invalid("invalid renewal", understudy.FieldError{Field: "ttl_seconds", Detail: "must be from 1 to 86400"})
	}
	if err := s.db.QueryRow(ctx, renewSQL, l.ID, int(ttl.Seconds())).Scan(&l.ID); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Lease{}, understudy.Errorf(understudy.ECONFLICT, "lease %s is %s; only an active lease can be renewed", l.ID, l.Status)
		}
		return Lease{}, pgdb.Translate(err, "", "")
	}
	return s.GetLease(ctx, l.ID)
}

// ReleaseLease ends a lease and frees its account; with reset, the
// account is first reset to the lease's state (a failed reset leaves it
// failed). Releasing a released lease returns it unchanged.
// Errors: ENOTFOUND, ECONFLICT (expired or failed).
func (s *Service) ReleaseLease(ctx context.Context, id string, reset bool) (Lease, error) {
	if !reset { // the common case: one statement
		if _, err := uuid.Parse(id); err == nil {
			if l, ok := s.endLeaseReturning(ctx, id, LeaseReleased, "released"); ok {
				return l, nil
			}
		}
	}
	l, err := s.GetLease(ctx, id)
	if err != nil {
		return Lease{}, err
	}
	switch l.Status {
	case LeaseReleased:
		return l, nil
	case LeaseExpired, LeaseFailed:
		return Lease{}, understudy.Errorf(understudy.ECONFLICT, "lease %s is %s already", l.ID, l.Status)
	}
	var resetErr error
	if reset {
		_, resetErr = s.resetApps(ctx, l.AccountID, l.State)
	}
	reason := "released"
	if resetErr != nil {
		reason = "released; the reset on release failed: " + understudy.ErrorMessage(resetErr)
	}
	ended := s.endLease(ctx, l.ID, LeaseReleased, reason)
	if resetErr != nil {
		return Lease{}, resetErr
	}
	if ended == nil { // it ended meanwhile (expired, or released by a retry)
		return s.GetLease(ctx, l.ID)
	}
	l.Status, l.StatusReason, l.EndedAt = LeaseReleased, reason, ended
	return l, nil
}

// endLeaseSQL closes an open lease, frees its account (a failed account
// stays failed: resetApps marked it) and audits that, in one statement.
const endLeaseSQL = `
WITH ended AS (
    UPDATE leases SET status = $2, status_reason = $3, ended_at = now()
    WHERE id = $1 AND status IN ('acquiring', 'active') RETURNING *
), freed AS (
    UPDATE accounts SET status = 'ready', updated_at = now()
    WHERE id = (SELECT account_id FROM ended) AND status = 'leased'
), audit AS (
    INSERT INTO audit_events (actor, action, target_type, target_id, request_id, details)
    SELECT $4, 'lease.' || $2, 'lease', ended.id::text, $5, jsonb_build_object('account_id', ended.account_id, 'reason', $3::text)
    FROM ended
)
SELECT ` + leaseColumns + ` FROM ended l JOIN roles r ON r.id = l.role_id JOIN environments e ON e.id = r.environment_id`

// endLease closes a lease and frees its account. It returns when the lease
// ended, or nil when it was not open.
func (s *Service) endLease(ctx context.Context, id string, status LeaseStatus, reason string) *time.Time {
	l, ok := s.endLeaseReturning(ctx, id, status, reason)
	if !ok {
		return nil
	}
	return l.EndedAt
}

// endLeaseReturning is endLease returning the ended lease, and whether it
// was open.
func (s *Service) endLeaseReturning(ctx context.Context, id string, status LeaseStatus, reason string) (Lease, bool) {
	caller := access.CallerFrom(ctx)
	var l Lease
	err := scanLease(s.db.QueryRow(ctx, endLeaseSQL, id, status, reason, cmp.Or(caller.Actor, "system"), caller.RequestID), &l)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Lease{}, false
	case err != nil:
		s.logger.ErrorContext(ctx, "ending a lease", "lease", id, "error", err)
		return Lease{}, false
	}
	return l, true
}

const expireSQL = `
WITH ended AS (
    UPDATE leases SET status = 'expired', status_reason = 'expired at ' || to_char(expires_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ended_at = now()
    WHERE status IN ('acquiring', 'active') AND expires_at < now()
    RETURNING id, account_id
), freed AS (
    UPDATE accounts SET status = 'ready', updated_at = now()
    WHERE id IN (SELECT account_id FROM ended) AND status = 'leased'
)
SELECT id::text FROM ended`

// ExpireLeases ends every lease past its expiry and frees its account. An
// account whose reset was interrupted (its server died) is freed too: every
// lease resets its account before handing it out.
func (s *Service) ExpireLeases(ctx context.Context) (int, error) {
	rows, err := s.db.Query(ctx, expireSQL)
	if err != nil {
		return 0, pgdb.Translate(err, "", "")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, pgdb.Translate(err, "", "")
	}
	for _, id := range ids {
		s.logger.InfoContext(ctx, "lease expired", "lease", id)
	}
	if len(ids) > 0 {
		err = access.Record(ctx, s.db, access.Event{Action: "lease.expire", TargetType: "lease", TargetID: fmt.Sprint(len(ids)),
			Details: map[string]any{"leases": ids}})
	}
	return len(ids), err
}
