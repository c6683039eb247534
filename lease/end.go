package lease

import (
	"cmp"
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/run"
)

// renewSQL extends an active lease of the caller's.
var renewSQL = `
WITH renewed AS (
    UPDATE leases l SET expires_at = coalesce($6::timestamptz, now()) + make_interval(secs => $2), ttl_seconds = $2,
                        renewed_at = coalesce($6::timestamptz, now())
    WHERE l.id = $1 AND l.status = ` + sqlActive + ` AND ` + ownerSQL("$3", "$4", "$5") + `
    RETURNING *
)
SELECT ` + leaseColumns + `, to_jsonb(l.expires_at)::text FROM renewed l` + leaseJoins

// Renew extends an active lease to ttl from now. Only the token that
// acquired the lease, or an admin, may renew it; a refusal is audited.
// Errors: ENOTFOUND, EINVALID (ttl), EFORBIDDEN (another's lease),
// ECONFLICT (not active). It runs in a span (lease.renew) of the lease's
// trace.
func (s *Service) Renew(ctx context.Context, id string, ttl time.Duration) (_ Lease, err error) {
	start := time.Now() // the span's start: the wall clock, as every span's
	l, err := s.Get(ctx, id)
	if err != nil {
		return Lease{}, err
	}
	ctx, span := s.Span(ctx, l, "lease.renew", trace.WithTimestamp(start))
	defer func() { endSpan(span, Lease{}, err) }()
	if ttl < time.Second || ttl > 24*time.Hour {
		return Lease{}, understudy.Invalid("invalid renewal", understudy.FieldError{Field: "ttl_seconds", Detail: "must be from 1 to 86400"})
	}
	caller := access.CallerFrom(ctx)
	if !ownedBy(caller, l) {
		return Lease{}, s.refuse(ctx, l, "renew")
	}
	var renewed Lease
	found := false
	err = pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var expires json.RawMessage
		renewed, found, err = pgdb.QueryMaybe(ctx, tx, func(row pgx.Row, l *Lease) error {
			var j run.Joined
			err := row.Scan(append(leaseTargets(l, &j), &expires)...)
			l.Run = j.Record()
			return err
		}, pgdb.Conflict{}, renewSQL, l.ID, int(ttl.Seconds()), caller.Scope == access.ScopeAdmin, optionalTokenID(caller), cmp.Or(caller.Actor, "system"), s.dbNow())
		if err != nil || !found {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "lease.renew", TargetType: "lease", TargetID: renewed.ID,
			Details: map[string]any{"account_id": renewed.AccountID, "ttl_seconds": int(ttl.Seconds()), "expires_at": expires}})
	})
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
// failed). It runs in a span (lease.release) of the lease's trace, as
// does the reset, and the calls to the apps it makes.
func (s *Service) Release(ctx context.Context, id string, reset bool) (Lease, error) {
	return s.ReleaseWith(ctx, id, ReleaseRequest{Reset: reset})
}

// ReleaseRequest is how a release ends a lease.
type ReleaseRequest struct {
	// Reset resets the account to the lease's state before freeing it.
	Reset bool
	// Outcome, when set, is recorded as the lease's run's outcome in the
	// transaction that ends the lease.
	Outcome *run.Report
}

// ReleaseWith is Release with an outcome: r.Outcome is recorded as the
// run's outcome in the transaction that ends the lease, and audited with
// the release. Releasing a released lease again with the outcome it
// recorded, or with none, returns it unchanged; with another outcome it
// is ECONFLICT naming both; a lease released without an outcome records
// the one a later release sends. An expired lease's run is abandoned: an
// outcome for it is ECONFLICT. Errors: as Release, and EINVALID (the
// outcome).
func (s *Service) ReleaseWith(ctx context.Context, id string, r ReleaseRequest) (_ Lease, err error) {
	// The span's start is the wall clock's, as every span's.
	start := time.Now()
	if r.Outcome != nil {
		if err := r.Outcome.Validate(); err != nil {
			return Lease{}, err
		}
	}
	// A run whose state is captured is reset by its capture, once its
	// state is kept: a reset now would lose the evidence.
	captured := r.Outcome != nil && s.captured(r.Outcome.Outcome)
	resetNow := r.Reset && !captured
	end := ending{status: Released, reason: "released", report: r.Outcome, reset: r.Reset && captured}
	if !resetNow { // the common case: one statement, which checks the owner too
		if _, err := uuid.Parse(id); err == nil {
			if l, ok := s.end(ctx, id, end); ok {
				s.record(ctx, l, "lease.release", start, attrReset.Bool(r.Reset))
				return l, nil
			}
		}
	}
	l, err := s.Get(ctx, id)
	if err != nil {
		return Lease{}, err
	}
	ctx, span := s.Span(ctx, l, "lease.release", trace.WithTimestamp(start), trace.WithAttributes(attrReset.Bool(r.Reset)))
	defer func() { endSpan(span, Lease{}, err) }()
	if !ownedBy(access.CallerFrom(ctx), l) {
		return Lease{}, s.refuse(ctx, l, "release")
	}
	if l.Status != Acquiring && l.Status != Active {
		return s.releasedAgain(ctx, l, r.Outcome)
	}
	var resetErr error
	if resetNow {
		_, resetErr = s.snapshots.ResetApps(ctx, l.AccountID, l.State)
	}
	if resetErr != nil {
		end.reason = "released; the reset on release failed: " + understudy.ErrorMessage(resetErr)
	}
	ended, ok := s.end(ctx, l.ID, end)
	if resetErr != nil {
		return Lease{}, resetErr
	}
	if !ok { // it ended meanwhile (expired, or released by a retry)
		if l, err = s.Get(ctx, l.ID); err != nil {
			return Lease{}, err
		}
		return s.releasedAgain(ctx, l, r.Outcome)
	}
	return ended, nil
}

// captured reports whether a run that ends with outcome has its state
// captured before its account is freed: with Config.Captures, when the
// outcome is failed, errored or abandoned.
func (s *Service) captured(o run.Outcome) bool { return s.captures != nil && run.Captured(o) }

// endSQL closes an open lease (of the caller's, unless $6).
var endSQL = `
WITH ended AS (
    UPDATE leases l SET status = $2, status_reason = $3, ended_at = coalesce($8::timestamptz, now())
    WHERE id = $1 AND status IN ` + sqlOpen + ` AND ($5 OR ` + ownerSQL("$6", "$7", "$4") + `) RETURNING *
)
SELECT ` + leaseColumns + ` FROM ended l` + leaseJoins

// ending is how end closes a lease: its status and reason, the outcome
// its run records (nil: none), and whether the capture of its state, when
// the outcome has one, resets the account afterwards.
type ending struct {
	status   Status
	reason   string
	anyOwner bool // the server ends leases it failed, whoever holds them
	report   *run.Report
	reset    bool
}

// end closes an open lease as e says, frees its account (or holds it for
// the capture of its run's state), records the run's outcome (when
// e.report is set) and returns the ended lease; false when the lease was
// not open, or is not the caller's (unless e.anyOwner), or the database
// failed (which is logged: the lease then expires on its own). In one
// transaction of two round trips: the BEGIN and the lease's end; then
// package accounts' free of the account (a failed account stays failed:
// the failed reset marked it) or hold, package run's record of the outcome
// and of the capture, the audit event and the COMMIT. A capture's job is
// enqueued once that has committed.
func (s *Service) end(ctx context.Context, id string, e ending) (Lease, bool) {
	l, found, err := s.endPiped(ctx, id, e)
	if err != nil {
		s.logger.ErrorContext(ctx, "ending a lease", "lease", id, "error", err)
		return Lease{}, false
	}
	if found && e.report != nil && l.Run != nil {
		s.observe(l)
		if s.captured(e.report.Outcome) {
			s.captures.Enqueue(ctx, run.CaptureArgs{LeaseID: l.ID, AccountID: l.AccountID, State: l.State, Traceparent: l.Traceparent, Tracestate: l.tracestate})
		}
	}
	return l, found
}

func (s *Service) endPiped(ctx context.Context, id string, e ending) (Lease, bool, error) {
	caller := access.CallerFrom(ctx)
	now := s.dbNow()
	p, err := pgdb.BeginPipe(ctx, s.db)
	if err != nil {
		return Lease{}, false, err
	}
	defer p.End(ctx)
	var l Lease
	found := false
	b := &pgx.Batch{}
	b.Queue(endSQL, id, e.status, e.reason, cmp.Or(caller.Actor, "system"), e.anyOwner, caller.Scope == access.ScopeAdmin,
		optionalTokenID(caller), now).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		if rows.Next() {
			found = true
			if err := scanLease(rows, &l); err != nil {
				return err
			}
		}
		rows.Close()
		return rows.Err()
	})
	if err := p.Send(ctx, b); err != nil || !found {
		return Lease{}, false, pgdb.Translate(err, "", "")
	}
	b = &pgx.Batch{}
	details := map[string]any{"account_id": l.AccountID, "reason": e.reason}
	var recorded func() (run.Record, bool)
	if e.report != nil {
		recorded = run.QueueOutcome(b, l.ID, l.Run != nil, *e.report, now)
		details["outcome"] = e.report.Outcome
	}
	if e.report != nil && s.captured(e.report.Outcome) {
		accounts.QueueHold(b, []string{l.AccountID}, []string{run.HoldReason(l.ID, e.report.Outcome)}, now)
		run.QueueCapture(b, l.ID, l.AccountID, l.State, e.reset, now)
		details["capture"] = true
	} else {
		accounts.QueueFree(b, []string{l.AccountID}, now)
	}
	if err := access.Queue(ctx, b, access.Event{Action: "lease." + string(e.status), TargetType: "lease", TargetID: l.ID, Details: details}); err != nil {
		return Lease{}, false, err
	}
	if err := p.Commit(ctx, b, nil); err != nil {
		return Lease{}, false, pgdb.Translate(err, "", "")
	}
	if recorded != nil {
		if rec, ok := recorded(); ok { // an open lease's run has no outcome yet: it is recorded
			l.Run = &rec
		}
	}
	return l, true, nil
}

const expireSQL = `
WITH expired AS (
    UPDATE leases SET status = ` + sqlExpired + `, status_reason = 'expired at ' || to_char(expires_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                      ended_at = coalesce($1::timestamptz, now())
    WHERE status IN ` + sqlOpen + ` AND expires_at < coalesce($1::timestamptz, now())
    RETURNING id, account_id, role_id, holder, expires_at, acquired_at, state, traceparent, tracestate
)
SELECT l.id::text, l.account_id::text, l.holder, to_jsonb(l.expires_at)::text, r.environment, r.name, l.acquired_at, l.state,
       coalesce(l.traceparent, ''), coalesce(l.tracestate, '')
FROM expired l JOIN ` + accounts.RoleDirectory + ` r ON r.id = l.role_id`

type expired struct {
	id, accountID, holder string
	expiresAt             json.RawMessage
	environment, role     string
	acquiredAt            time.Time
	state                 string
	traceparent           string
	tracestate            string
}

// lease is x as a Lease, enough to name it in its trace.
func (x expired) lease() Lease {
	return Lease{ID: x.id, AccountID: x.accountID, Environment: x.environment, Role: x.role, State: x.state, Holder: x.holder,
		Traceparent: x.traceparent, tracestate: x.tracestate}
}

// Expire ends every lease past its expiry, frees its account (or, with
// Config.Captures, holds it for the capture of its abandoned run's
// state), records its run as abandoned (package run) and audits each
// expiry, in one transaction; the captures' jobs are enqueued once it has
// committed. Each expiry is a span (lease.expire) of its lease's trace.
// An account whose reset was interrupted (its server died) is
// freed too: every lease resets its account before handing it out.
func (s *Service) Expire(ctx context.Context) (int, error) {
	start := time.Now() // the spans' start: the wall clock, as every span's
	now := s.dbNow()
	var ended []expired
	var abandoned func() map[string]run.Record
	err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		ended, err = pgdb.QueryAll(ctx, tx, func(row pgx.Row, x *expired) error {
			return row.Scan(&x.id, &x.accountID, &x.holder, &x.expiresAt, &x.environment, &x.role, &x.acquiredAt, &x.state, &x.traceparent, &x.tracestate)
		}, expireSQL, now)
		if err != nil || len(ended) == 0 {
			return err
		}
		b := &pgx.Batch{}
		ids, leaseIDs := make([]string, len(ended)), make([]string, len(ended))
		states, reasons := make([]string, len(ended)), make([]string, len(ended))
		capture := s.captured(run.Abandoned)
		for i, x := range ended {
			ids[i], leaseIDs[i], states[i], reasons[i] = x.accountID, x.id, x.state, run.HoldReason(x.id, run.Abandoned)
			details := map[string]any{"account_id": x.accountID, "holder": x.holder, "expires_at": x.expiresAt, "outcome": run.Abandoned}
			if capture {
				details["capture"] = true
			}
			if err := access.Queue(ctx, b, access.Event{Action: "lease.expire", TargetType: "lease", TargetID: x.id, Details: details}); err != nil {
				return err
			}
		}
		if capture {
			accounts.QueueHold(b, ids, reasons, now)
			run.QueueCaptures(b, leaseIDs, ids, states, now)
		} else {
			accounts.QueueFree(b, ids, now)
		}
		abandoned = run.QueueAbandon(b, leaseIDs, now)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, err
	}
	recorded := map[string]run.Record{}
	if abandoned != nil {
		recorded = abandoned()
	}
	if s.captured(run.Abandoned) {
		runs := make([]run.CaptureArgs, len(ended))
		for i, x := range ended {
			runs[i] = run.CaptureArgs{LeaseID: x.id, AccountID: x.accountID, State: x.state, Traceparent: x.traceparent, Tracestate: x.tracestate}
		}
		s.captures.Enqueue(ctx, runs...)
	}
	for _, x := range ended {
		s.logger.InfoContext(ctx, "lease expired", "lease", x.id)
		// Each expiry is a span of its lease's trace: the trace of a crashed
		// runner ends with it.
		s.record(ctx, x.lease(), "lease.expire", start, attrOutcome.String(string(run.Abandoned)))
		if rec, ok := recorded[x.id]; ok && rec.OutcomeAt != nil {
			s.runs.Observe(run.Observed{Environment: x.environment, Role: x.role, Flow: rec.Flow, Outcome: rec.Outcome,
				Duration: rec.OutcomeAt.Sub(x.acquiredAt)})
		}
	}
	return len(ended), nil
}
