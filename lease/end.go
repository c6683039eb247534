package lease

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
)

const renewSQL = `
UPDATE leases SET expires_at = now() + make_interval(secs => $2), ttl_seconds = $2
WHERE id = $1 AND status = ` + sqlActive + ` RETURNING id`

// Renew extends an active lease to ttl from now. Errors: ENOTFOUND,
// EINVALID (ttl), ECONFLICT (not active).
func (s *Service) Renew(ctx context.Context, id string, ttl time.Duration) (Lease, error) {
	l, err := s.Get(ctx, id)
	if err != nil {
		return Lease{}, err
	}
	if ttl < time.Second || ttl > 24*time.Hour {
		return Lease{}, understudy.Invalid("invalid renewal", understudy.FieldError{Field: "ttl_seconds", Detail: "must be from 1 to 86400"})
	}
	_, found, err := pgdb.QueryMaybe(ctx, s.db, pgdb.Scalar[string], "", renewSQL, l.ID, int(ttl.Seconds()))
	switch {
	case err != nil:
		return Lease{}, err
	case !found:
		return Lease{}, understudy.Errorf(understudy.ECONFLICT, "lease %s is %s; only an active lease can be renewed", l.ID, l.Status)
	}
	return s.Get(ctx, l.ID)
}

// Release ends a lease and frees its account; with reset, the account is
// first reset to the lease's state (a failed reset leaves it failed).
// Releasing a released lease returns it unchanged.
// Errors: ENOTFOUND, ECONFLICT (expired or failed).
func (s *Service) Release(ctx context.Context, id string, reset bool) (Lease, error) {
	if !reset { // the common case: one statement
		if _, err := uuid.Parse(id); err == nil {
			if l, ok := s.end(ctx, id, Released, "released"); ok {
				return l, nil
			}
		}
	}
	l, err := s.Get(ctx, id)
	if err != nil {
		return Lease{}, err
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
	ended, ok := s.end(ctx, l.ID, Released, reason)
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
const endSQL = `
WITH ended AS (
    UPDATE leases SET status = $2, status_reason = $3, ended_at = now()
    WHERE id = $1 AND status IN ` + sqlOpen + ` RETURNING *
), freed AS (
    UPDATE accounts SET status = ` + sqlReady + `, updated_at = now()
    WHERE id = (SELECT account_id FROM ended) AND status = ` + sqlLeased + `
), audit AS (
    ` + access.InsertFrom + `
    SELECT $4, 'lease.' || $2, 'lease', ended.id::text, $5, jsonb_build_object('account_id', ended.account_id, 'reason', $3::text)
    FROM ended
)
SELECT ` + leaseColumns + ` FROM ended l JOIN roles r ON r.id = l.role_id JOIN environments e ON e.id = r.environment_id`

// end closes an open lease with status and reason, frees its account and
// returns the ended lease; false when the lease was not open (or the
// database failed, which is logged: the lease then expires on its own).
func (s *Service) end(ctx context.Context, id string, status Status, reason string) (Lease, bool) {
	caller := access.CallerFrom(ctx)
	l, found, err := pgdb.QueryMaybe(ctx, s.db, scanLease, "", endSQL, id, status, reason, cmp.Or(caller.Actor, "system"), providers.RequestID(ctx))
	if err != nil {
		s.logger.ErrorContext(ctx, "ending a lease", "lease", id, "error", err)
	}
	return l, found
}

const expireSQL = `
WITH ended AS (
    UPDATE leases SET status = ` + sqlExpired + `, status_reason = 'expired at ' || to_char(expires_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ended_at = now()
    WHERE status IN ` + sqlOpen + ` AND expires_at < now()
    RETURNING id, account_id
), freed AS (
    UPDATE accounts SET status = ` + sqlReady + `, updated_at = now()
    WHERE id IN (SELECT account_id FROM ended) AND status = ` + sqlLeased + `
)
SELECT id::text FROM ended`

// Expire ends every lease past its expiry and frees its account. An
// account whose reset was interrupted (its server died) is freed too: every
// lease resets its account before handing it out.
func (s *Service) Expire(ctx context.Context) (int, error) {
	ids, err := pgdb.QueryAll(ctx, s.db, pgdb.Scalar[string], expireSQL)
	if err != nil {
		return 0, err
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
