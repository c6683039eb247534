package lease

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Acquire leases a ready account of the role, resets it to the requested
// state and returns it with its credentials. No two leases ever hold one
// account. When every account is busy it waits up to req.Wait, then
// answers ECONFLICT with when the next lease expires.
func (s *Service) Acquire(ctx context.Context, req Request) (Grant, error) {
	if err := req.Validate(); err != nil {
		return Grant{}, err
	}
	if g, found, err := s.idempotentGrant(ctx, req); found || err != nil {
		return g, err
	}
	l, err := s.claimWaiting(ctx, req)
	if err != nil {
		if understudy.ErrorCode(err) == understudy.ECONFLICT && req.IdempotencyKey != "" {
			if g, found, ierr := s.idempotentGrant(ctx, req); found || ierr != nil {
				return g, ierr
			}
		}
		return Grant{}, err
	}
	return s.resetAndActivate(ctx, l)
}

// claimWaiting claims an account, polling until req.Wait has passed on the
// injected clock. The role is read only when no account could be claimed
// at once.
func (s *Service) claimWaiting(ctx context.Context, req Request) (Lease, error) {
	deadline := s.now().Add(req.Wait)
	pause := 20 * time.Millisecond
	var role *accounts.Role
	for contended := 0; ; {
		l, ok, err := s.claim(ctx, req)
		if err != nil || ok {
			return l, err
		}
		if role == nil { // nothing free: now the role matters (does it exist? its id, its pool)
			r, err := s.accounts.GetRole(ctx, req.Environment, req.Role)
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
		if n, err := s.Expire(ctx); err == nil && n > 0 {
			if l, ok, err := s.claim(ctx, req); err != nil || ok {
				return l, err
			}
		}
		left := deadline.Sub(s.now())
		if left <= 0 {
			return Lease{}, s.busyError(ctx, *role)
		}
		t := time.NewTimer(min(pause, left+time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return Lease{}, understudy.Errorf(understudy.EUNAVAILABLE, "gave up waiting for an account of role %s: %v", role.Name, ctx.Err())
		case <-t.C:
		}
		pause = min(pause*2, 250*time.Millisecond)
	}
}

// sqlQuarantined is true of account a when its role quarantines on
// violations and a has an open isolation violation on a hidden surface.
const sqlQuarantined = `(EXISTS (SELECT 1 FROM isolation_violations v JOIN roles q ON q.id = a.role_id
        WHERE v.account_id = a.id AND v.closed_at IS NULL AND v.visibility = 'hidden' AND q.quarantine_on_violation))`

// claimSQL marks one ready account of a role leased, not quarantined, records an acquiring
// lease for it and audits that, in one statement (so one round trip, and
// all or nothing). SKIP LOCKED lets concurrent claims take different
// accounts; the unique index on open leases makes sharing impossible.
const claimSQL = `
WITH picked AS (
    SELECT a.id, a.role_id FROM accounts a
    WHERE a.role_id = (SELECT r.id FROM roles r JOIN environments e ON e.id = r.environment_id
                       WHERE e.name = $1 AND r.name = $2 AND r.deleted_at IS NULL)
      AND a.status = ` + sqlReady + ` AND NOT ` + sqlQuarantined + `
    ORDER BY a.slot LIMIT 1 FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE accounts a SET status = ` + sqlLeased + `, status_reason = '', updated_at = now()
    FROM picked WHERE a.id = picked.id RETURNING a.id, a.role_id
), lease AS (
    INSERT INTO leases (id, account_id, role_id, holder, state, status, token_name, idempotency_key, ttl_seconds, expires_at,
                        token_id, request_fingerprint)
    SELECT $3, claimed.id, claimed.role_id, $4, $5, ` + sqlAcquiring + `, $6, $7, $8, now() + make_interval(secs => $9), $12, $13 FROM claimed
    RETURNING id, account_id, holder, state, status, status_reason, acquired_at, expires_at, ended_at
), audit AS (
    ` + access.InsertFrom + `
    SELECT $10, 'lease.acquire', 'lease', lease.id::text, $11,
           jsonb_build_object('account_id', lease.account_id, 'holder', lease.holder, 'state', lease.state, 'ttl_seconds', $8::int) || $14::jsonb
    FROM lease
)
SELECT id, account_id, holder, state, status, status_reason, acquired_at, expires_at, ended_at FROM lease`

// claim leases one ready account of the role, or reports that none is
// free (or that the role does not exist: the caller tells which).
func (s *Service) claim(ctx context.Context, req Request) (Lease, bool, error) {
	var key *string
	if req.IdempotencyKey != "" {
		key = &req.IdempotencyKey
	}
	// An acquiring lease outlives the reset it waits for, even if this
	// server dies; the expiry job frees the account after that.
	grace := req.TTL + 2*s.appTimeout
	caller := access.CallerFrom(ctx)
	scan := func(row pgx.Row, l *Lease) error {
		l.Environment, l.Role = req.Environment, req.Role
		return row.Scan(&l.ID, &l.AccountID, &l.Holder, &l.State, &l.Status, &l.StatusReason, &l.AcquiredAt, &l.ExpiresAt, &l.EndedAt)
	}
	return pgdb.QueryMaybe(ctx, s.db, scan, pgdb.Conflict{Message: "a lease with this Idempotency-Key already exists"}, claimSQL,
		req.Environment, req.Role, uuid.NewString(), req.Holder, req.State, caller.Actor, key,
		int(req.TTL.Seconds()), grace.Seconds(), cmp.Or(caller.Actor, "system"), access.RequestID(ctx),
		optionalTokenID(caller), fingerprint(req), access.ClientDetails(ctx))
}

// activateSQL makes an acquiring lease active and reads its account and
// sealed password, in one statement.
const activateSQL = `
WITH act AS (
    UPDATE leases SET status = ` + sqlActive + `, expires_at = now() + make_interval(secs => ttl_seconds)
    WHERE id = $1 AND status = ` + sqlAcquiring + ` RETURNING account_id, status, expires_at
)
SELECT act.status, act.expires_at, ` + accounts.CredentialColumns + `
FROM act JOIN ` + accounts.AccountJoins + ` ON a.id = act.account_id`

// resetAndActivate resets the claimed account and activates the lease, or
// fails both with the reason.
func (s *Service) resetAndActivate(ctx context.Context, l Lease) (Grant, error) {
	refs, err := s.snapshots.ResetApps(ctx, l.AccountID, l.State)
	if err != nil {
		s.end(ctx, l.ID, Failed, understudy.ErrorMessage(err), true)
		return Grant{}, err
	}
	g := Grant{Lease: l, Refs: make(map[string]string, len(refs))}
	for _, r := range refs {
		g.Refs[r.AppName] = r.Ref
	}
	g, found, err := pgdb.QueryMaybe(ctx, s.db, func(row pgx.Row, x *Grant) (err error) {
		*x = g
		x.Account, x.Credentials, err = s.accounts.ScanWithCredentials(row, &x.Lease.Status, &x.Lease.ExpiresAt)
		return err
	}, pgdb.Conflict{}, activateSQL, l.ID)
	switch {
	case err != nil:
		return Grant{}, err
	case !found:
		return Grant{}, understudy.Errorf(understudy.ECONFLICT, "lease %s expired while its account was being reset; ask again", l.ID)
	}
	return g, nil
}

const accountWithCredentialsSQL = `SELECT ` + accounts.CredentialColumns + ` FROM ` + accounts.AccountJoins + ` WHERE a.id = $1`

// grantOf reads what the holder of an active lease was handed.
func (s *Service) grantOf(ctx context.Context, leaseID string) (Grant, error) {
	l, err := s.Get(ctx, leaseID)
	if err != nil {
		return Grant{}, err
	}
	g := Grant{Lease: l}
	if g.Refs, err = s.accounts.RefNames(ctx, l.AccountID); err != nil {
		return Grant{}, err
	}
	return pgdb.QueryOne(ctx, s.db, func(row pgx.Row, x *Grant) (err error) {
		*x = g
		x.Account, x.Credentials, err = s.accounts.ScanWithCredentials(row)
		return err
	}, "no account has id "+l.AccountID, accountWithCredentialsSQL, l.AccountID)
}

// idempotentSQL finds the lease the caller's token made with a key, and
// whether the key is still inside IdempotencyWindow. An active lease past
// its expiry reads as expired even before the expiry job ends it: a replay
// must not hand out credentials that no open lease covers any more.
const idempotentSQL = `
SELECT l.id,
       CASE WHEN l.status = ` + sqlActive + ` AND l.expires_at <= now() THEN ` + sqlExpired + ` ELSE l.status END,
       CASE WHEN l.status = ` + sqlActive + ` AND l.expires_at <= now()
            THEN 'expired at ' || to_char(l.expires_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ELSE l.status_reason END,
       l.request_fingerprint, l.acquired_at > now() - make_interval(secs => $4)
FROM leases l WHERE l.idempotency_key = $2 AND (l.token_id = $1::uuid OR (l.token_id IS NULL AND $1::uuid IS NULL AND l.token_name = $3))`

// forgetKeySQL frees a key past IdempotencyWindow for a new request.
const forgetKeySQL = `UPDATE leases SET idempotency_key = NULL WHERE id = $1`

type keyed struct {
	Lease
	fingerprint []byte
	fresh       bool
}

// idempotentGrant finds the lease an earlier request with the same key
// (and the same token) made, waiting while its account is being reset. A
// key used with a different request is refused (EINVALID); a key past
// IdempotencyWindow is forgotten.
func (s *Service) idempotentGrant(ctx context.Context, req Request) (Grant, bool, error) {
	if req.IdempotencyKey == "" {
		return Grant{}, false, nil
	}
	caller := access.CallerFrom(ctx)
	want := fingerprint(req)
	for {
		l, found, err := pgdb.QueryMaybe(ctx, s.db, func(row pgx.Row, k *keyed) error {
			return row.Scan(&k.ID, &k.Status, &k.StatusReason, &k.fingerprint, &k.fresh)
		}, pgdb.Conflict{}, idempotentSQL, optionalTokenID(caller), req.IdempotencyKey, caller.Actor, IdempotencyWindow.Seconds())
		if err != nil || !found {
			return Grant{}, found, err
		}
		if !l.fresh {
			_, err := pgdb.Exec(ctx, s.db, "", forgetKeySQL, l.ID)
			return Grant{}, false, err
		}
		if l.fingerprint != nil && !bytes.Equal(l.fingerprint, want) {
			return Grant{}, true, understudy.Invalid(fmt.Sprintf("Idempotency-Key %q was first used with a different request (lease %s); "+
				"a key names one request: use a new key for a different one", req.IdempotencyKey, l.ID),
				understudy.FieldError{Field: "Idempotency-Key", Detail: "was used with a different request body in the last 24 hours"})
		}
		switch l.Status {
		case Active:
			g, err := s.grantOf(ctx, l.ID)
			return g, true, err
		case Acquiring:
			t := time.NewTimer(50 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return Grant{}, true, understudy.Errorf(understudy.EUNAVAILABLE, "lease %s is still being prepared", l.ID)
			case <-t.C:
			}
		default:
			return Grant{}, true, understudy.Errorf(understudy.ECONFLICT, "the lease made with this Idempotency-Key (%s) is %s: %s", l.ID, l.Status, l.StatusReason)
		}
	}
}

const anyReadySQL = `SELECT EXISTS (SELECT 1 FROM accounts a WHERE a.role_id = $1 AND a.status = ` + sqlReady + ` AND NOT ` + sqlQuarantined + `)`

func (s *Service) anyReady(ctx context.Context, roleID string) bool {
	ok, _ := pgdb.QueryOne(ctx, s.db, pgdb.Scalar[bool], "", anyReadySQL, roleID)
	return ok
}

const nextExpirySQL = `
SELECT min(expires_at), count(*) FROM leases WHERE role_id = $1 AND status IN ` + sqlOpen

// busyError says why no account could be leased, and when to try again.
func (s *Service) busyError(ctx context.Context, role accounts.Role) error {
	type expiry struct {
		next *time.Time
		open int
	}
	if err := s.quarantineError(ctx, role); err != nil {
		return err
	}
	x, err := pgdb.QueryOne(ctx, s.db, func(row pgx.Row, x *expiry) error { return row.Scan(&x.next, &x.open) }, "", nextExpirySQL, role.ID)
	if err != nil {
		return err
	}
	if x.next == nil {
		return understudy.Errorf(understudy.ECONFLICT, "no account of role %s in environment %s is ready (none is leased: they are being provisioned, or failed; see `understudy accounts list --role %s`)", role.Name, role.Environment, role.Name)
	}
	e := understudy.Errorf(understudy.ECONFLICT, "every account of role %s in environment %s is leased (%d of a pool of %d); the next lease expires at %s",
		role.Name, role.Environment, x.open, role.PoolSize, x.next.UTC().Format(time.RFC3339))
	e.RetryAfter = max(x.next.Sub(s.now()), time.Second)
	return e
}

// quarantinedSQL names the role's ready accounts held back by a
// violation, each with its oldest open violation on a hidden surface.
const quarantinedSQL = `
SELECT DISTINCT ON (a.slot) a.id::text, v.id, v.surface, p.name
FROM accounts a JOIN isolation_violations v ON v.account_id = a.id JOIN apps p ON p.id = v.app_id
WHERE a.role_id = $1 AND a.status = ` + sqlReady + ` AND ` + sqlQuarantined + `
  AND v.closed_at IS NULL AND v.visibility = 'hidden'
ORDER BY a.slot, v.id`

// quarantineError returns ECONFLICT naming the accounts of role that are
// ready but quarantined, and why, or nil when there are none (or when they
// cannot be read: the busy error then says what it can).
func (s *Service) quarantineError(ctx context.Context, role accounts.Role) error {
	rows, err := s.db.Query(ctx, quarantinedSQL, role.ID)
	if err != nil {
		return nil
	}
	var why []string
	var account, surface, app string
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&account, &id, &surface, &app}, func() error {
		why = append(why, fmt.Sprintf("account %s was seen by real viewers on hidden surface %s of app %s (violation %d)", account, surface, app, id))
		return nil
	})
	if err != nil || len(why) == 0 {
		return nil
	}
	return understudy.Errorf(understudy.ECONFLICT, "no account of role %s in environment %s can be leased: %d quarantined by isolation violations: %s; fix the leak and audit again (`understudy isolation audit --environment %s`), or set quarantine_on_violation to false on the role",
		role.Name, role.Environment, len(why), strings.Join(why, "; "), role.Environment)
}
