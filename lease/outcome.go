package lease

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/run"
)

// A lease's run (package run): named at acquire (Request.Run) or later
// (NameRun), and its outcome recorded by the release that ends the lease
// (ReleaseWith), or as abandoned by the expiry. Each is written by package
// run's statements in the lease's own transaction; this file holds what
// happens around them: who may, and what a second release means.

// NameRun names the run lease id is used for, replacing the naming it had
// and keeping its outcome. Only the token that acquired the lease, or an
// admin, may name it; a refusal is audited (lease.run_name_denied). Once
// the lease has ended and its run's outcome is recorded, its naming is
// final. The naming is audited (run.name). Errors: EINVALID (the naming),
// ENOTFOUND, EFORBIDDEN (another's lease), ECONFLICT (the outcome is
// recorded).
func (s *Service) NameRun(ctx context.Context, id string, n run.Naming) (Lease, error) {
	if f := n.Validate(""); len(f) > 0 {
		return Lease{}, understudy.Invalid("invalid run", f...)
	}
	l, err := s.Owned(ctx, id, "run_name")
	if err != nil {
		return Lease{}, err
	}
	if l.Run != nil && l.Run.Outcome != "" {
		return Lease{}, outcomeRecorded(l)
	}
	p, err := pgdb.BeginPipe(ctx, s.db)
	if err != nil {
		return Lease{}, err
	}
	defer p.End(ctx)
	b := &pgx.Batch{}
	named := run.QueueName(b, l.ID, n)
	if err := p.Send(ctx, b); err != nil {
		return Lease{}, pgdb.Translate(err, "", "")
	}
	rec, ok := named()
	if !ok { // a release or the expiry recorded the outcome meanwhile
		if l, err = s.Get(ctx, l.ID); err != nil {
			return Lease{}, err
		}
		return Lease{}, outcomeRecorded(l)
	}
	b = &pgx.Batch{}
	if err := access.Queue(ctx, b, access.Event{Action: "run.name", TargetType: "lease", TargetID: l.ID,
		Details: map[string]any{"account_id": l.AccountID, "run": n}}); err != nil {
		return Lease{}, err
	}
	if err := p.Commit(ctx, b, nil); err != nil {
		return Lease{}, pgdb.Translate(err, "", "")
	}
	l.Run = &rec
	return l, nil
}

func outcomeRecorded(l Lease) error {
	outcome := run.Outcome("an outcome")
	if l.Run != nil {
		outcome = l.Run.Outcome
	}
	return understudy.Errorf(understudy.ECONFLICT, "lease %s is %s and its run's outcome (%s) is recorded: its run can no longer be named", l.ID, l.Status, outcome)
}

// releasedAgain answers a release of lease l, which has ended (or, when
// its end failed in the database, is still open): a released lease is
// returned as it is when the release sends no outcome or the one it
// recorded, gets the release's outcome when it recorded none, and is
// ECONFLICT naming both when it recorded another; an expired or failed
// lease is ECONFLICT.
func (s *Service) releasedAgain(ctx context.Context, l Lease, report *run.Report) (Lease, error) {
	var recorded run.Outcome
	if l.Run != nil {
		recorded = l.Run.Outcome
	}
	switch {
	case l.Status == Acquiring || l.Status == Active:
		return Lease{}, understudy.Errorf(understudy.EUNAVAILABLE, "lease %s could not be released; try again", l.ID)
	case l.Status != Released && report != nil && recorded != "":
		return Lease{}, understudy.Errorf(understudy.ECONFLICT, "lease %s is %s and its run was recorded %s; outcome %s comes too late",
			l.ID, l.Status, recorded, report.Outcome)
	case l.Status != Released:
		return Lease{}, understudy.Errorf(understudy.ECONFLICT, "lease %s is %s already", l.ID, l.Status)
	case report == nil || recorded == report.Outcome:
		return l, nil
	case recorded != "":
		return Lease{}, understudy.Errorf(understudy.ECONFLICT, "lease %s was released with outcome %s; it cannot be released again with outcome %s",
			l.ID, recorded, report.Outcome)
	}
	return s.recordLate(ctx, l, *report)
}

// recordLate records the outcome of a lease released without one, and
// audits it (run.outcome), in one transaction; when another release
// recorded one meanwhile, that one stands (releasedAgain compares them).
func (s *Service) recordLate(ctx context.Context, l Lease, report run.Report) (Lease, error) {
	var rec run.Record
	ok := false
	err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		recorded := run.QueueOutcome(b, l.ID, l.Run != nil, report, s.dbNow())
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if rec, ok = recorded(); !ok {
			return nil
		}
		return access.Record(ctx, tx, access.Event{Action: "run.outcome", TargetType: "lease", TargetID: l.ID,
			Details: map[string]any{"account_id": l.AccountID, "outcome": report.Outcome}})
	})
	if err != nil {
		return Lease{}, err
	}
	if !ok {
		if l, err = s.Get(ctx, l.ID); err != nil {
			return Lease{}, err
		}
		if l.Run == nil || l.Run.Outcome == "" { // cannot be: the outcome that stopped ours is there
			return Lease{}, understudy.Errorf(understudy.EUNAVAILABLE, "lease %s: the outcome could not be recorded; try again", l.ID)
		}
		return s.releasedAgain(ctx, l, &report)
	}
	l.Run = &rec
	s.observe(l)
	return l, nil
}

// observe counts the outcome of l's run (run.Service.Observe), which took
// from the lease's acquisition to its end (to the outcome, for a lease
// that has not ended).
func (s *Service) observe(l Lease) {
	if l.Run == nil || l.Run.Outcome == "" || l.Run.OutcomeAt == nil {
		return
	}
	end := *l.Run.OutcomeAt
	if l.EndedAt != nil && l.EndedAt.Before(end) {
		end = *l.EndedAt
	}
	s.runs.Observe(run.Observed{Environment: l.Environment, Role: l.Role, Flow: l.Run.Flow, Outcome: l.Run.Outcome, Duration: end.Sub(l.AcquiredAt)})
}
