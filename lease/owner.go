package lease

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
)

// IdempotencyWindow is how long an Idempotency-Key is remembered: a key
// older than that starts a new lease, as if it had never been used.
const IdempotencyWindow = 24 * time.Hour

// ownerSQL is the condition that a lease l belongs to the caller: $a is
// true for an admin, $b the caller's token id (NULL without one), $c the
// caller's name (leases from before token ids were recorded are owned by
// token name).
func ownerSQL(admin, tokenID, actor string) string {
	return `(` + admin + ` OR l.token_id = ` + tokenID + `::uuid OR (l.token_id IS NULL AND l.token_name = ` + actor + `))`
}

// ownedBy reports whether the caller may renew or release l: the token
// that acquired it, or an admin.
func ownedBy(c access.Caller, l Lease) bool {
	if c.Scope == access.ScopeAdmin {
		return true
	}
	if l.tokenID != "" {
		return c.TokenID == l.tokenID
	}
	return c.Actor != "" && c.Actor == l.tokenName
}

// optionalTokenID is the caller's token id, or nil (SQL NULL) without one.
func optionalTokenID(c access.Caller) *string {
	if c.TokenID == "" {
		return nil
	}
	return &c.TokenID
}

// refuse audits a refused renewal or release (action lease.renew_denied,
// lease.release_denied) and returns the 403 that says whose lease it is.
func (s *Service) refuse(ctx context.Context, l Lease, verb string) error {
	access.RecordNow(ctx, s.db, s.logger, access.Event{Action: "lease." + verb + "_denied", TargetType: "lease", TargetID: l.ID,
		Details: map[string]any{"account_id": l.AccountID, "owner": l.tokenName}})
	return understudy.Errorf(understudy.EFORBIDDEN, "lease %s was acquired by token %s; only that token or an admin token may %s it", l.ID, l.tokenName, verb)
}

// fingerprint digests what a lease request asks for, so that a request
// replayed with its Idempotency-Key can be told from a different one. The
// run it names is part of it when it names one (a request that names none
// digests as it did before runs were named).
func fingerprint(r Request) []byte {
	b, _ := json.Marshal([]any{r.Environment, r.Role, r.State, r.Holder, r.TTL.Seconds(), r.Wait.Seconds()})
	h := sha256.New()
	h.Write(b)
	if n := r.Run; n != nil {
		for _, f := range []string{n.RunID, n.Flow, n.CIURL, n.Version} {
			h.Write([]byte{0})
			h.Write([]byte(f))
		}
	}
	return h.Sum(nil)
}

// Owned returns the lease with id when the caller may use what the lease
// gives (its inbox, its authenticator codes): the token that acquired it,
// or an admin. use names the refused use in snake case (inbox_read,
// totp_read): a refusal is audited as lease.<use>_denied and answered
// EFORBIDDEN. Errors: ENOTFOUND, EFORBIDDEN.
func (s *Service) Owned(ctx context.Context, id, use string) (Lease, error) {
	l, err := s.Get(ctx, id)
	if err != nil {
		return Lease{}, err
	}
	if ownedBy(access.CallerFrom(ctx), l) {
		return l, nil
	}
	access.RecordNow(ctx, s.db, s.logger, access.Event{Action: "lease." + use + "_denied", TargetType: "lease", TargetID: l.ID,
		Details: map[string]any{"account_id": l.AccountID, "owner": l.tokenName}})
	return Lease{}, understudy.Errorf(understudy.EFORBIDDEN, "lease %s was acquired by token %s; only that token or an admin token may use it", l.ID, l.tokenName)
}

// MayUse reports whether the caller in ctx may use what lease l gives
// (its run's captured state): the token that acquired it, or an admin.
// Unlike Owned, a refusal is not audited: a page that shows or hides
// what is the lease's asks it.
func (s *Service) MayUse(ctx context.Context, l Lease) bool {
	return ownedBy(access.CallerFrom(ctx), l)
}

// Active returns the lease with id, as Owned does, when it is also active
// and not past its expiry on the service's clock: what the lease gives (its
// inbox, its authenticator codes) is given only while it is held. Errors:
// ENOTFOUND, EFORBIDDEN (as Owned), ECONFLICT (the lease is not active, or
// has expired and the expiry job has not yet ended it).
func (s *Service) Active(ctx context.Context, id, use string) (Lease, error) {
	l, err := s.Owned(ctx, id, use)
	if err != nil {
		return Lease{}, err
	}
	switch {
	case l.Status != Active:
		return Lease{}, understudy.Errorf(understudy.ECONFLICT, "lease %s is %s; only an active lease gives its account's mail and authenticator codes", l.ID, l.Status)
	case !l.ExpiresAt.After(s.now()):
		return Lease{}, understudy.Errorf(understudy.ECONFLICT, "lease %s expired at %s; only an active lease gives its account's mail and authenticator codes", l.ID, l.ExpiresAt.Format(time.RFC3339))
	}
	return l, nil
}
