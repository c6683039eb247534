package lease

import (
	"context"

	"github.com/google/uuid"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// LeaseRequiredType names the problem of a runner that asks for the
// credentials of an account it holds no open lease on.
const LeaseRequiredType = "lease-required"

// heldSQL is true when the token $2 holds an open lease on account $1:
// active (its account was reset and handed out) and not past its expiry,
// even if the expiry job has not ended it yet. Only the token id counts: a
// lease from before token ids were recorded, owned by a token's name, does
// not give a later token of that name its credentials.
const heldSQL = `
SELECT EXISTS (SELECT 1 FROM leases l
               WHERE l.account_id = $1 AND l.token_id = $2::uuid AND l.status = ` + sqlActive + ` AND l.expires_at > coalesce($3::timestamptz, now()))`

// Holds reports whether the caller's token holds an open lease on the
// account with id: one it acquired, active and not past its expiry. A
// caller without a token holds nothing.
func (s *Service) Holds(ctx context.Context, accountID string) (bool, error) {
	c := access.CallerFrom(ctx)
	uid, err := uuid.Parse(accountID)
	if err != nil || c.TokenID == "" {
		return false, nil
	}
	return pgdb.QueryOne(ctx, s.db, pgdb.Scalar[bool], "", heldSQL, uid, c.TokenID, s.dbNow())
}

// Credentials returns the credentials of the account with id (and audits
// the read), to an admin, or to a runner whose token holds an open lease on
// that account (see Holds): a leaked runner token exposes only the accounts
// its runner holds. Every door that hands out credentials outside a lease's
// acquisition goes through here. A refused runner is audited
// (account.read_credentials_denied) on its own, and answered EFORBIDDEN of
// type LeaseRequiredType. Errors: ENOTFOUND, EFORBIDDEN.
func (s *Service) Credentials(ctx context.Context, accountID string) (accounts.Credentials, error) {
	c := access.CallerFrom(ctx)
	switch c.Scope {
	case access.ScopeAdmin:
		return s.accounts.Credentials(ctx, accountID)
	case access.ScopeRunner:
	default:
		return accounts.Credentials{}, understudy.Errorf(understudy.EFORBIDDEN, "token %s has scope %s; reading credentials needs scope runner (under an open lease) or admin", c.Actor, c.Scope)
	}
	held, err := s.Holds(ctx, accountID)
	if err != nil {
		return accounts.Credentials{}, err
	}
	if held {
		return s.accounts.Credentials(ctx, accountID)
	}
	a, err := s.accounts.GetAccount(ctx, accountID) // an unknown account is 404, as for an admin
	if err != nil {
		return accounts.Credentials{}, err
	}
	access.RecordNow(ctx, s.db, s.logger, access.Event{Action: "account.read_credentials_denied", TargetType: "account", TargetID: a.ID,
		Details: map[string]any{"token_id": c.TokenID, "scope": c.Scope, "reason": "no open lease held by this token"}})
	e := understudy.Errorf(understudy.EFORBIDDEN, "credentials are readable only under an open lease held by this token: token %s holds no open lease on account %s (lease it, or use an admin token)", c.Actor, a.ID)
	e.Type = LeaseRequiredType
	return accounts.Credentials{}, e
}
