package lease

import (
	"cmp"
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// renewSQL extends an active lease of the caller's and audits that, in
// one statement.
var renewSQL = `
WITH renewed AS (
    UPDATE leases l SET expires_at = now() + make_interval(secs => $2), ttl_seconds = $2, renewed_at = now()
    WHERE l.id = $1 AND l.status = ` + sqlActive + ` AND ` + ownerSQL("$3", "$4", "$5") + `
    RETURNING *
), audit AS (
    ` + access.InsertFrom + `
    SELECT $5, 'lease.renew', 'lease', renewed.id::text, $6,
           jsonb_build_object('account_id', renewed.account_id, 'ttl_seconds', $2::int, 'expires_at', renewed.expires_at) || $7::jsonb
    FROM renewed
)
SELECT ` + leaseColumns + ` FROM renewed l JOIN roles r ON r.id = l.role_id JOIN environments e ON e.id = r.environment_id`

// Renew extends an active lease to ttl from now. Only the token that
// acquired the lease, or an admin, may renew it; a refusal is audited.
// Errors: ENOTFOUND, EINVALID (ttl), EFORBIDDEN (another's lease),
// ECONFLICT (not active).
func (s *Service) Renew(ctx context.Context, id string, ttl time.Duration) (Lease, error) {
	l, err := s.Get(ctx, id)
	if err != nil {
		return Lease{}, err
	}
	if ttl < time.Second || ttl > 24*time.Hour {
		return Lease{}, understudy.Invalid("invalid renewal", understudy.FieldError{Field: "ttl_seconds", Detail: "must be from 1 to 86400"})
	}
	caller := access.CallerFrom(ctx)
	if !ownedBy(caller, l) {
		return Lease{}, s.refuse(ctx, l, "renew")
	}
	renewed, found, err := pgdb.QueryMaybe(ctx, s.db, scanLease, pgdb.Conflict{}, renewSQL, l.ID, int(ttl.Seconds()),
		caller.Scope == access.ScopeAdmin, optionalTokenID(caller), cmp.Or(caller.Actor, "system"), access.RequestID(ctx), access.ClientDetails(ctx))
	switch {
	case err != nil:
		return Lease{}, err
	case !found:
		return Lease{}, understudy.Errorf(understudy.ECONFLICT, "lease %s is %s; only an active lease can be renewed", l.ID, l.Status)
	}
	return renewed, nil
}

// Release ends a lease and frees its account; with reset, the account is
// first reset to the lease's state (a failed reset leaves it failed).
// Releasing a released lease returns it unchanged. Only the token that
// acquired the lease, or an admin, may release it; a refusal is audited.
// Errors: ENOTFOUND, EFORBIDDEN (another's lease), ECONFLICT (expired or
// failed).
func (s *Service) Release(ctx context.Context, id string, reset bool) (Lease, error) {
	if !reset { // the common case: one statement, which checks the owner too
		if _, err := uuid.Parse(id); err == nil {
			if l, ok := s.end(ctx, id, Released, "released", false); ok {
				return l, nil
			}
		}
	}
	l, err := s.Get(ctx, id)
	if err != nil {
		return Lease{}, err
	}
	if !ownedBy(access.CallerFrom(ctx), l) {
		return Lease{}, s.refuse(ctx, l, "release")
	}
	switch l.Status {
	case Released:
		return l, nil
	case Expired, Failed:
		return Lease{}, understudy.Errorf(understudy.ECONFLICT, "lease %s is %s already", l.ID, l.Status)
	}
	var resetErr error
	if reset {
		_, resetErr = s.snapshots.ResetApps(ctx, l.AccountID, l.State)
	}
	reason := "released"
	if resetErr != nil {
		reason = "released; the reset on release failed: " + understudy.ErrorMessage(resetErr)
	}
	ended, ok := s.end(ctx, l.ID, Released, reason, false)
	if resetErr != nil {
		return Lease{}, resetErr
	}
	if !ok { // it ended meanwhile (expired, or released by a retry)
		return s.Get(ctx, l.ID)
	}
	return ended, nil
}

// endSQL closes an open lease, frees its account (a failed account stays
// failed: the failed reset marked it) and audits that, in one statement.
var endSQL = `
WITH ended AS (
    UPDATE leases l SET status = $2, status_reason = $3, ended_at = now()
    WHERE id = $1 AND status IN ` + sqlOpen + ` AND ($6 OR ` + ownerSQL("$7", "$8", "$4") + `) RETURNING *
), freed AS (
    UPDATE accounts SET status = ` + sqlReady + `, updated_at = now()
    WHERE id = (SELECT account_id FROM ended) AND status = ` + sqlLeased + `
), audit AS (
    ` + access.InsertFrom + `
    SELECT $4, 'lease.' || $2, 'lease', ended.id::text, $5, jsonb_build_object('account_id', ended.account_id, 'reason', $3::text) || $9::jsonb
    FROM ended
)
SELECT ` + leaseColumns + ` FROM ended l JOIN roles r ON r.id = l.role_id JOIN environments e ON e.id = r.environment_id`

// end closes an open lease with status and reason, frees its account and
// returns the ended lease; false when the lease was not open, or is not
// the caller's (unless anyOwner: the server ends leases it failed), or the
// database failed (which is logged: the lease then expires on its own).
func (s *Service) end(ctx context.Context, id string, status Status, reason string, anyOwner bool) (Lease, bool) {
	caller := access.CallerFrom(ctx)
	l, found, err := pgdb.QueryMaybe(ctx, s.db, scanLease, pgdb.Conflict{}, endSQL, id, status, reason, cmp.Or(caller.Actor, "system"), access.RequestID(ctx),
		anyOwner, caller.Scope == access.ScopeAdmin, optionalTokenID(caller), access.ClientDetails(ctx))
	if err != nil {
		s.logger.ErrorContext(ctx, "ending a lease", "lease", id, "error", err)
	}
	return l, found
}

const expireSQL = `
WITH ended AS (
    UPDATE leases SET status = ` + sqlExpired + `, status_reason = 'expired at ' || to_char(expires_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ended_at = now()
    WHERE status IN ` + sqlOpen + ` AND expires_at < now()
    RETURNING id, account_id, expires_at, holder
), freed AS (
    UPDATE accounts SET status = ` + sqlReady + `, updated_at = now()
    WHERE id IN (SELECT account_id FROM ended) AND status = ` + sqlLeased + `
), audit AS (
    ` + access.InsertFrom + `
    SELECT $1, 'lease.expire', 'lease', ended.id::text, $2,
           jsonb_build_object('account_id', ended.account_id, 'holder', ended.holder, 'expires_at', ended.expires_at) || $3::jsonb
    FROM ended
)
SELECT id::text FROM ended`

// Expire ends every lease past its expiry, frees its account and audits
// each expiry, in one statement. An account whose reset was interrupted (its
// server died) is freed too: every lease resets its account before handing
// it out.
func (s *Service) Expire(ctx context.Context) (int, error) {
	ids, err := pgdb.QueryAll(ctx, s.db, pgdb.Scalar[string], expireSQL,
		cmp.Or(access.CallerFrom(ctx).Actor, "system"), access.RequestID(ctx), access.ClientDetails(ctx))
	for _, id := range ids {
		s.logger.InfoContext(ctx, "lease expired", "lease", id)
	}
	return len(ids), err
}
