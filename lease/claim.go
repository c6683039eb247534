package lease

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/snapshot"
	"github.com/understudy-dev/understudy/tracing"
)

// Acquire leases a ready account of the role, resets it to the requested
// state and returns it with its credentials. No two leases ever hold one
// account. When every account is busy it waits up to req.Wait, then
// answers ECONFLICT with when the next lease expires.
//
// The acquisition runs in a span (lease.acquire) that continues the trace
// context ctx carries, or starts a trace; the lease keeps that span's
// context as its Traceparent.
func (s *Service) Acquire(ctx context.Context, req Request) (g Grant, err error) {
	if err := req.Validate(); err != nil {
		return Grant{}, err
	}
	ctx, span := s.startAcquire(ctx, req)
	defer func() { endSpan(span, g.Lease, err) }()
	if g, found, err := s.idempotentGrant(ctx, req); found || err != nil {
		span.SetAttributes(attrReplayed.Bool(found))
		return g, err
	}
	c, err := s.claimWaiting(ctx, req)
	if err != nil {
		if understudy.ErrorCode(err) == understudy.ECONFLICT && req.IdempotencyKey != "" {
			if g, found, ierr := s.idempotentGrant(ctx, req); found || ierr != nil {
				return g, ierr
			}
		}
		return Grant{}, err
	}
	span.SetAttributes(attrLease.String(c.ID), attrAccount.String(c.AccountID))
	return s.resetAndActivate(ctx, c)
}

// claimed is a lease just claimed, and its account's reset, whose reads
// rode in the claim's last round trip.
type claimed struct {
	Lease
	reset *snapshot.PendingReset
}

// claimWaiting claims an account, polling until req.Wait has passed on the
// injected clock. The role is read only when no account could be claimed
// at once.
func (s *Service) claimWaiting(ctx context.Context, req Request) (claimed, error) {
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
				return claimed{}, err
			}
			role = &r
		}
		// SKIP LOCKED passes over accounts that concurrent claims hold for
		// a moment; while some account is still ready, try again at once.
		if contended < 5 && accounts.AnyReady(ctx, s.db, role.ID) {
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
			return claimed{}, s.busyError(ctx, *role)
		}
		t := time.NewTimer(min(pause, left+time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return claimed{}, understudy.Errorf(understudy.EUNAVAILABLE, "gave up waiting for an account of role %s: %v", role.Name, ctx.Err())
		case <-t.C:
		}
		pause = min(pause*2, 250*time.Millisecond)
	}
}

// insertLeaseSQL records an acquiring lease of a claimed account. It
// outlives the reset it waits for (@grace), even if this server dies; the
// expiry job frees the account after that.
const insertLeaseSQL = `
INSERT INTO leases (id, account_id, role_id, holder, state, status, token_name, idempotency_key, ttl_seconds, expires_at,
                    token_id, request_fingerprint, acquired_at, traceparent, tracestate)
VALUES (@id, @account_id, @role_id, @holder, @state, ` + sqlAcquiring + `, @token_name, @idempotency_key, @ttl_seconds,
        coalesce(@now::timestamptz, now()) + make_interval(secs => @grace), @token_id, @fingerprint, coalesce(@now::timestamptz, now()),
        nullif(@traceparent, ''), nullif(@tracestate, ''))
RETURNING id, account_id, holder, state, status, status_reason, acquired_at, expires_at, ended_at`

// claim leases one ready account of the role, or reports that none is
// free (or that the role does not exist: the caller tells which). In one
// transaction of two round trips: the BEGIN and package accounts' claim of
// the account (QueueClaim); then the lease, its run when the request
// names one (run.QueueNew), its audit event and the COMMIT, followed
// (after the commit, in the same round trip) by the reads the account's
// reset needs (snapshot.QueueReset).
func (s *Service) claim(ctx context.Context, req Request) (claimed, bool, error) {
	var key *string
	if req.IdempotencyKey != "" {
		key = &req.IdempotencyKey
	}
	caller := access.CallerFrom(ctx)
	now := s.dbNow()
	p, err := pgdb.BeginPipe(ctx, s.db)
	if err != nil {
		return claimed{}, false, err
	}
	defer p.End(ctx)
	b := &pgx.Batch{}
	claimOf := accounts.QueueClaim(b, req.Environment, req.Role, now)
	if err := p.Send(ctx, b); err != nil {
		return claimed{}, false, pgdb.Translate(err, "", "")
	}
	c, ok := claimOf()
	if !ok {
		return claimed{}, false, nil
	}
	var l claimed
	id := uuid.NewString()
	l.Traceparent, l.tracestate = tracing.Headers(ctx) // the acquisition's span, kept with the lease
	b = &pgx.Batch{}
	b.Queue(insertLeaseSQL, pgx.NamedArgs{
		"id": id, "account_id": c.AccountID, "role_id": c.RoleID, "holder": req.Holder, "state": req.State,
		"token_name": caller.Actor, "idempotency_key": key, "ttl_seconds": int(req.TTL.Seconds()),
		"grace": (req.TTL + 2*s.appTimeout).Seconds(), "token_id": optionalTokenID(caller), "fingerprint": fingerprint(req), "now": now,
		"traceparent": l.Traceparent, "tracestate": l.tracestate,
	}).QueryRow(func(row pgx.Row) error {
		l.Environment, l.Role = req.Environment, req.Role
		return row.Scan(&l.ID, &l.AccountID, &l.Holder, &l.State, &l.Status, &l.StatusReason, &l.AcquiredAt, &l.ExpiresAt, &l.EndedAt)
	})
	details := map[string]any{"account_id": c.AccountID, "holder": req.Holder, "state": req.State, "ttl_seconds": int(req.TTL.Seconds())}
	if req.Run != nil {
		rec := run.QueueNew(b, id, *req.Run)
		l.Run = &rec
		details["run"] = req.Run
	}
	if err := access.Queue(ctx, b, access.Event{Action: "lease.acquire", TargetType: "lease", TargetID: id, Details: details}); err != nil {
		return claimed{}, false, err
	}
	reads := &pgx.Batch{}
	l.reset = s.snapshots.QueueReset(reads, c.AccountID, req.State)
	if err := p.Commit(ctx, b, reads); err != nil {
		if p.Committed() {
			// The lease and its claim committed; what rode after them (the
			// reset's reads) failed, or the caller went away. End the
			// lease, so that its account is not held until it expires
			// under a lease whose id nobody was told.
			s.end(context.WithoutCancel(ctx), id, ending{status: Failed, reason: "the lease could not be handed out: " + understudy.ErrorMessage(err), anyOwner: true})
		}
		return claimed{}, false, pgdb.Translate(err, "", "a lease with this Idempotency-Key already exists")
	}
	return l, true, nil
}

// activateSQL makes an acquiring lease active.
const activateSQL = `
UPDATE leases SET status = ` + sqlActive + `, expires_at = coalesce($2::timestamptz, now()) + make_interval(secs => ttl_seconds)
WHERE id = $1 AND status = ` + sqlAcquiring + ` RETURNING status, expires_at`

// resetAndActivate resets the claimed account and activates the lease, or
// fails both with the reason. The activation, the read of the account and
// its credentials (package accounts) and the record of the reset (package
// snapshot) are one round trip.
func (s *Service) resetAndActivate(ctx context.Context, c claimed) (Grant, error) {
	l := c.Lease
	refs, err := c.reset.Apply(ctx)
	if err != nil {
		s.end(ctx, l.ID, ending{status: Failed, reason: understudy.ErrorMessage(err), anyOwner: true})
		return Grant{}, err
	}
	g := Grant{Lease: l, Refs: make(map[string]string, len(refs))}
	for _, r := range refs {
		g.Refs[r.AppName] = r.Ref
	}
	b := &pgx.Batch{}
	found := false
	b.Queue(activateSQL, l.ID, s.dbNow()).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		if rows.Next() {
			found = true
			if err := rows.Scan(&g.Lease.Status, &g.Lease.ExpiresAt); err != nil {
				return err
			}
		}
		rows.Close()
		return rows.Err()
	})
	accountOf := s.accounts.QueueWithCredentials(b, l.AccountID)
	c.reset.QueueRecord(b)
	if err := pgdb.SendBatch(ctx, s.db, b); err != nil {
		return Grant{}, err
	}
	if !found {
		return Grant{}, understudy.Errorf(understudy.ECONFLICT, "lease %s expired while its account was being reset; ask again", l.ID)
	}
	if g.Account, g.Credentials, err = accountOf(); err != nil {
		return Grant{}, err
	}
	return g, nil
}

// grantOf reads what the holder of an active lease was handed.
func (s *Service) grantOf(ctx context.Context, leaseID string) (Grant, error) {
	l, err := s.Get(ctx, leaseID)
	if err != nil {
		return Grant{}, err
	}
	g := Grant{Lease: l}
	if g.Refs, err = s.apps.RefNames(ctx, l.AccountID); err != nil {
		return Grant{}, err
	}
	if g.Account, g.Credentials, err = s.accounts.WithCredentials(ctx, l.AccountID); err != nil {
		return Grant{}, err
	}
	return g, nil
}

// idempotentSQL finds the lease the caller's token made with a key, and
// whether the key is still inside IdempotencyWindow. An active lease past
// its expiry reads as expired even before the expiry job ends it: a replay
// must not hand out credentials that no open lease covers any more.
const idempotentSQL = `
SELECT l.id,
       CASE WHEN l.status = ` + sqlActive + ` AND l.expires_at <= coalesce($5::timestamptz, now()) THEN ` + sqlExpired + ` ELSE l.status END,
       CASE WHEN l.status = ` + sqlActive + ` AND l.expires_at <= coalesce($5::timestamptz, now())
            THEN 'expired at ' || to_char(l.expires_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ELSE l.status_reason END,
       l.request_fingerprint, l.acquired_at > coalesce($5::timestamptz, now()) - make_interval(secs => $4)
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
		}, pgdb.Conflict{}, idempotentSQL, optionalTokenID(caller), req.IdempotencyKey, caller.Actor, IdempotencyWindow.Seconds(), s.dbNow())
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

// nextExpirySQL reads when the role's next open lease expires, and how
// long that is from now on the clock that set it (so the wait a busy
// answer tells is measured on the expiry's own clock).
const nextExpirySQL = `
SELECT min(expires_at), extract(epoch FROM min(expires_at) - coalesce($2::timestamptz, now()))::float8, count(*)
FROM leases WHERE role_id = $1 AND status IN ` + sqlOpen

// busyError says why no account could be leased, and when to try again.
func (s *Service) busyError(ctx context.Context, role accounts.Role) error {
	type expiry struct {
		next *time.Time
		in   *float64
		open int
	}
	if err := s.quarantineError(ctx, role); err != nil {
		return err
	}
	x, err := pgdb.QueryOne(ctx, s.db, func(row pgx.Row, x *expiry) error { return row.Scan(&x.next, &x.in, &x.open) }, "", nextExpirySQL, role.ID, s.dbNow())
	if err != nil {
		return err
	}
	held, _ := accounts.Held(ctx, s.db, role.ID) // without them, the error says what it can
	if x.next == nil && len(held) == 0 && accounts.AnyReady(ctx, s.db, role.ID) {
		// What held the account (a lease, a capture) let it go meanwhile.
		e := understudy.Errorf(understudy.ECONFLICT, "no account of role %s in environment %s was ready when asked; one is ready now (a lease or a failed run's capture ended meanwhile): try again", role.Name, role.Environment)
		e.RetryAfter = time.Second
		return e
	}
	if x.next == nil && len(held) == 0 {
		return understudy.Errorf(understudy.ECONFLICT, "no account of role %s in environment %s is ready (none is leased: they are being provisioned, or failed; see `understudy accounts list --role %s`)", role.Name, role.Environment, role.Name)
	}
	var e *understudy.Error
	if x.next != nil {
		e = understudy.Errorf(understudy.ECONFLICT, "every account of role %s in environment %s is leased (%d of a pool of %d); the next lease expires at %s",
			role.Name, role.Environment, x.open, role.PoolSize, x.next.UTC().Format(time.RFC3339))
		e.RetryAfter = max(time.Duration(*x.in*float64(time.Second)), time.Second)
	} else {
		e = understudy.Errorf(understudy.ECONFLICT, "no account of role %s in environment %s is ready", role.Name, role.Environment)
	}
	if len(held) > 0 {
		// A capture takes the apps' time to read, seconds; it never holds an
		// account past the captures' deadline.
		h := held[0]
		e.Message += fmt.Sprintf("; %d held while the state of a failed run is kept (account %s: %s, since %s)",
			len(held), h.AccountID, h.Reason, h.Since.UTC().Format(time.RFC3339))
		if e.RetryAfter == 0 || e.RetryAfter > 2*time.Second {
			e.RetryAfter = 2 * time.Second
		}
	}
	return e
}

// quarantineError returns ECONFLICT naming the accounts of role that are
// ready but quarantined, and why, or nil when there are none (or when they
// cannot be read: the busy error then says what it can). The accounts come
// from package accounts, their apps' names from package apps: a busy
// answer is no hot path, so that is two statements.
func (s *Service) quarantineError(ctx context.Context, role accounts.Role) error {
	list, err := accounts.Quarantined(ctx, s.db, role.ID)
	if err != nil || len(list) == 0 {
		return nil
	}
	ids := make([]string, len(list))
	for i, q := range list {
		ids[i] = q.AppID
	}
	if named, err := apps.Names(ctx, s.db, ids); err == nil { // without them, the error names the apps by id
		byID := make(map[string]string, len(named))
		for _, n := range named {
			byID[n.ID] = n.Name
		}
		for i := range list {
			list[i].App = byID[list[i].AppID]
		}
	}
	return accounts.QuarantineError(role, list)
}
