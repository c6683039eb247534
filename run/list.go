package run

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The read model of the runs: every lease, newest first, with its run.

// LeaseView is package lease's view of every lease (migration 000035):
// id, account_id, role_id, holder, status, acquired_at, expires_at,
// ended_at. Package lease owns it and exports the name as
// lease.DirectoryView; this package, which lease imports, names it here.
const LeaseView = "lease_directory"

// Filter narrows the runs; empty fields match everything.
type Filter struct {
	Environment string
	Role        string
	Flow        string
	// Outcome is one of the four outcomes, or "" for any (none included).
	Outcome Outcome
	// Since and Until bound when the runs' leases were acquired:
	// Since <= acquired_at < Until.
	Since, Until *time.Time
	// After is the cursor of the page to read, as List returned it; "" is
	// the first page.
	After string
	// Limit is the page size: 1 to MaxLimit. Defaults to 50.
	Limit int
}

// MaxLimit is the largest page List reads.
const MaxLimit = 200

// runColumns are a run's columns, from lease_directory l, role_directory
// rd, runs x and run_captures c (both left joined).
const runColumns = `l.id::text, l.account_id::text, rd.environment_id::text, rd.environment, rd.name, l.holder, l.status, l.acquired_at, l.ended_at,
x.lease_id IS NOT NULL, coalesce(x.ci_run_id, ''), coalesce(x.flow, ''), coalesce(x.ci_url, ''), coalesce(x.version, ''),
coalesce(x.outcome, ''), coalesce(x.message, ''), coalesce(x.test, ''), coalesce(x.links, '[]'), x.outcome_at, coalesce(c.status, '')`

const runFrom = ` FROM ` + LeaseView + ` l JOIN ` + accounts.RoleDirectory + ` rd ON rd.id = l.role_id LEFT JOIN runs x ON x.lease_id = l.id
LEFT JOIN run_captures c ON c.lease_id = l.id`

func scanRun(row pgx.Row, r *Run) error {
	var found bool
	targets := append([]any{&r.LeaseID, &r.AccountID, &r.environmentID, &r.Environment, &r.Role, &r.Holder, &r.LeaseStatus, &r.AcquiredAt, &r.EndedAt, &found},
		recordTargets(&r.Record)...)
	if err := row.Scan(append(targets, &r.CaptureStatus)...); err != nil {
		return err
	}
	if r.OutcomeAt != nil {
		end := *r.OutcomeAt
		if r.EndedAt != nil && r.EndedAt.Before(end) { // an outcome sent after the release
			end = *r.EndedAt
		}
		r.DurationSeconds = new(end.Sub(r.AcquiredAt).Seconds())
	}
	return nil
}

// listSQL reads a page of runs in (acquired_at, id) order, newest first,
// through the index leases_acquired: the time bounds and the cursor are
// conditions on its columns (an absent one is infinite), so a page starts
// where the last ended instead of counting past an offset.
const listSQL = `SELECT ` + runColumns + runFrom + `
WHERE ($1 = '' OR rd.environment = $1) AND ($2 = '' OR rd.name = $2) AND ($3 = '' OR x.flow = $3) AND ($4 = '' OR x.outcome = $4)
  AND l.acquired_at >= coalesce($5::timestamptz, '-infinity') AND l.acquired_at < coalesce($6::timestamptz, 'infinity')
  AND (l.acquired_at, l.id) < (coalesce($7::timestamptz, 'infinity'), coalesce($8::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY l.acquired_at DESC, l.id DESC LIMIT $9`

// List returns a page of runs (every lease is one), newest first, and the
// cursor of the next page ("" on the last). Errors: EINVALID (a cursor
// that is not one of List's, a limit or an outcome out of range, Since
// not before Until).
func (s *Service) List(ctx context.Context, f Filter) ([]Run, string, error) {
	if f.Limit == 0 {
		f.Limit = 50
	}
	var bad []understudy.FieldError
	if f.Limit < 1 || f.Limit > MaxLimit {
		bad = append(bad, understudy.FieldError{Field: "limit", Detail: "must be from 1 to 200"})
	}
	if f.Outcome != "" && !f.Outcome.Valid() {
		bad = append(bad, understudy.FieldError{Field: "outcome", Detail: "must be passed, failed, errored or abandoned"})
	}
	if f.Since != nil && f.Until != nil && !f.Since.Before(*f.Until) {
		bad = append(bad, understudy.FieldError{Field: "until", Detail: "must be after since"})
	}
	at, id, err := decodeCursor(f.After)
	if err != nil {
		bad = append(bad, understudy.FieldError{Field: "after", Detail: "is not a page of the runs: start from the first page"})
	}
	if len(bad) > 0 {
		return nil, "", understudy.Invalid("invalid runs query", bad...)
	}
	list, err := pgdb.QueryAll(ctx, s.db, scanRun, listSQL, f.Environment, f.Role, f.Flow, string(f.Outcome), f.Since, f.Until, at, id, f.Limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > f.Limit {
		list = list[:f.Limit]
		last := list[f.Limit-1]
		next = encodeCursor(last.AcquiredAt, last.LeaseID)
	}
	if err := s.withDeployments(ctx, list); err != nil {
		return nil, "", err
	}
	return list, next, nil
}

// withDeployments sets each run's Deployment: its environment's newest
// deployment at or before the run's lease was acquired, read for the whole
// page in one statement (nothing is written on a lease's path for it).
func (s *Service) withDeployments(ctx context.Context, runs []Run) error {
	keys := make([]DeploymentKey, len(runs))
	for i, r := range runs {
		keys[i] = DeploymentKey{EnvironmentID: r.environmentID, At: r.AcquiredAt}
	}
	deps, err := DeploymentsAt(ctx, s.db, keys)
	if err != nil {
		return err
	}
	for i := range runs {
		runs[i].Deployment = deps[i]
	}
	return nil
}

const getSQL = `SELECT ` + runColumns + runFrom + ` WHERE l.id = $1`

// Get returns the run of lease leaseID. Errors: ENOTFOUND.
func (s *Service) Get(ctx context.Context, leaseID string) (Run, error) {
	id, err := uuid.Parse(leaseID)
	if err != nil {
		return Run{}, understudy.Errorf(understudy.ENOTFOUND, "no lease has id %s", leaseID)
	}
	r, err := pgdb.QueryOne(ctx, s.db, scanRun, "no lease has id "+leaseID, getSQL, id)
	if err != nil {
		return Run{}, err
	}
	runs := []Run{r}
	if err := s.withDeployments(ctx, runs); err != nil {
		return Run{}, err
	}
	return runs[0], nil
}

// encodeCursor is the position after a run whose lease was acquired at t.
func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "," + id))
}

// decodeCursor reads a cursor of encodeCursor; "" is the first page (nil,
// nil).
func decodeCursor(c string) (*time.Time, *uuid.UUID, error) {
	if c == "" {
		return nil, nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, nil, err
	}
	ts, rest, _ := strings.Cut(string(raw), ",")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, nil, err
	}
	id, err := uuid.Parse(rest)
	if err != nil {
		return nil, nil, err
	}
	return &t, &id, nil
}
