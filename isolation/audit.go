package isolation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
)

// SurfaceStatus is what the audit made of one surface of one app.
type SurfaceStatus string

// Statuses of an audited surface.
const (
	// StatusClean: the app answered, and showed no synthetic account that
	// the policy keeps from real viewers.
	StatusClean SurfaceStatus = "clean"
	// StatusViolations: the app showed at least one such account.
	StatusViolations SurfaceStatus = "violations"
	// StatusFailed: the app could not be asked, or answered outside the
	// contract. Not a clean pass: the surface's open violations stay open.
	StatusFailed SurfaceStatus = "failed"
	// StatusNotShown: the app does not show the surface.
	StatusNotShown SurfaceStatus = "not_shown"
	// StatusUnsupported: the app's provider cannot tell what a surface
	// shows (no providers.Surfaces).
	StatusUnsupported SurfaceStatus = "unsupported"
)

// SurfaceResult is the audit of one surface of one app.
type SurfaceResult struct {
	App     string        `json:"app"`
	Surface string        `json:"surface"`
	Status  SurfaceStatus `json:"status"`
	// Seen is how many refs the app answered.
	Seen int `json:"seen"`
	// Violations is how many of them violate the policy.
	Violations int `json:"violations"`
	// Error says why the surface failed.
	Error string `json:"error,omitempty"`
}

// Report is the outcome of one audit of an environment.
type Report struct {
	Environment string          `json:"environment"`
	At          time.Time       `json:"at"`
	Results     []SurfaceResult `json:"results"`
	// Opened, Closed count the violations this audit opened and closed;
	// Open counts those open after it, Failed the surfaces that failed.
	Opened int `json:"opened"`
	Closed int `json:"closed"`
	Open   int `json:"open"`
	Failed int `json:"failed"`
}

// sighting is a synthetic account seen where a real viewer must not see it.
type sighting struct {
	accountID, ref string
	visibility     accounts.Visibility
	evidence       Evidence
}

// Audit asks every app of environment env, for every surface of env, who
// a real viewer sees there now, and compares with the policies: every
// synthetic account seen where its role's policy keeps it from real viewers
// opens a violation (or updates the open one); every open violation of a
// surface read that the app no longer shows it on is closed. A surface that
// cannot be read is recorded as an audit failure and its violations stay as
// they were. Errors: ENOTFOUND, and the database's.
func (s *Service) Audit(ctx context.Context, env string) (Report, error) {
	if s.apps == nil {
		return Report{}, errors.New("isolation: Config.Apps is required to audit")
	}
	e, err := getEnvironment(ctx, s.db, env)
	if err != nil {
		return Report{}, err
	}
	list, err := s.apps.List(ctx, env)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Environment: e.Name, At: s.now().UTC()}
	for _, app := range list {
		inst, err := s.apps.Instance(ctx, app)
		var sf providers.Surfaces
		if err == nil {
			sf, _ = inst.(providers.Surfaces)
		}
		for _, surface := range e.surfaces() {
			r := SurfaceResult{App: app.Name, Surface: surface}
			switch {
			case err != nil:
				r.Status, r.Error = StatusFailed, "opening the app: "+err.Error()
			case sf == nil:
				r.Status = StatusUnsupported
			}
			if r.Status == "" || r.Status == StatusFailed {
				if err := s.auditSurface(ctx, e, app, sf, &r, &rep); err != nil {
					return rep, err
				}
			}
			rep.Results = append(rep.Results, r)
		}
	}
	if err := s.countOpen(ctx, e.ID, &rep); err != nil {
		return rep, err
	}
	access.RecordNow(ctx, s.db, s.logger, access.Event{Action: "isolation.audit", TargetType: "environment", TargetID: e.Name,
		Details: map[string]any{"opened": rep.Opened, "closed": rep.Closed, "open": rep.Open, "failed": rep.Failed}})
	return rep, nil
}

// auditSurface asks one app for one surface (unless r has failed already)
// and records what it saw.
func (s *Service) auditSurface(ctx context.Context, e environment, app apps.App, sf providers.Surfaces, r *SurfaceResult, rep *Report) error {
	var refs []string
	if r.Status == "" {
		actx, cancel := context.WithTimeout(ctx, s.appTimeout)
		var err error
		refs, err = sf.Surface(actx, r.Surface)
		cancel()
		switch {
		case errors.Is(err, providers.ErrNoSurface):
			r.Status = StatusNotShown
		case err != nil:
			r.Status, r.Error = StatusFailed, err.Error()
		}
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if r.Status == StatusFailed {
			rep.Failed++
			_, err := tx.Exec(ctx, failSQL, e.ID, app.ID, r.Surface, r.Error, rep.At)
			return err
		}
		if _, err := tx.Exec(ctx, clearFailureSQL, app.ID, r.Surface); err != nil {
			return err
		}
		seen, err := s.sightings(ctx, tx, app.ID, r.Surface, refs)
		if err != nil {
			return err
		}
		r.Seen, r.Violations = len(refs), len(seen)
		if r.Status == "" {
			r.Status = StatusClean
			if len(seen) > 0 {
				r.Status = StatusViolations
			}
		}
		return s.record(ctx, tx, e, app, r.Surface, seen, rep)
	})
}

const (
	failSQL = `
INSERT INTO isolation_audit_failures (environment_id, app_id, surface, error, first_failed_at, last_failed_at)
VALUES ($1, $2, $3, $4, $5, $5)
ON CONFLICT (app_id, surface) DO UPDATE SET error = excluded.error, last_failed_at = excluded.last_failed_at`
	clearFailureSQL = `DELETE FROM isolation_audit_failures WHERE app_id = $1 AND surface = $2`
	openSQL         = `
INSERT INTO isolation_violations (environment_id, app_id, surface, account_id, ref, visibility, evidence, first_seen_at, last_seen_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
ON CONFLICT (app_id, surface, account_id) WHERE closed_at IS NULL
DO UPDATE SET ref = excluded.ref, visibility = excluded.visibility, evidence = excluded.evidence, last_seen_at = excluded.last_seen_at
RETURNING id, xmax = 0`
	closeSQL = `
UPDATE isolation_violations SET closed_at = $4
WHERE app_id = $1 AND surface = $2 AND closed_at IS NULL AND NOT (account_id::text = ANY($3))
RETURNING id, account_id::text`
	countOpenSQL = `SELECT count(*) FROM isolation_violations WHERE environment_id = $1 AND closed_at IS NULL`
)

// sightings returns the synthetic accounts among refs that a real viewer
// must not see on surface, each once, in the order the app answered.
func (s *Service) sightings(ctx context.Context, tx pgx.Tx, appID, surface string, refs []string) ([]sighting, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	list, err := apps.RefOwners(ctx, tx, appID, refs)
	if err != nil {
		return nil, err
	}
	owners := make(map[string]apps.RefOwner, len(list))
	for _, o := range list {
		owners[o.Ref] = o
	}
	var out []sighting
	done := map[string]bool{}
	for i, ref := range refs {
		o, ok := owners[ref]
		if !ok || done[o.AccountID] {
			continue
		}
		v := visibility(o.Policy, surface)
		if visible, _ := Decide(Listing{Synthetic: true, AccountID: o.AccountID}, Listing{}, v); visible {
			continue
		}
		done[o.AccountID] = true
		out = append(out, sighting{accountID: o.AccountID, ref: ref, visibility: v,
			evidence: Evidence{Position: i, Seen: len(refs), RequestID: access.RequestID(ctx)}})
	}
	return out, nil
}

// record opens or updates a violation per sighting and closes the
// surface's open violations that were not seen, auditing each change.
func (s *Service) record(ctx context.Context, tx pgx.Tx, e environment, app apps.App, surface string, seen []sighting, rep *Report) error {
	keep := make([]string, 0, len(seen))
	for _, sg := range seen {
		keep = append(keep, sg.accountID)
		ev, _ := json.Marshal(sg.evidence)
		var id int64
		var inserted bool
		if err := tx.QueryRow(ctx, openSQL, e.ID, app.ID, surface, sg.accountID, sg.ref, sg.visibility, ev, rep.At).Scan(&id, &inserted); err != nil {
			return err
		}
		if inserted {
			rep.Opened++
			if err := access.Record(ctx, tx, violationEvent("isolation.violation_opened", id, e.Name, app.Name, surface, sg.accountID)); err != nil {
				return err
			}
		}
	}
	rows, err := tx.Query(ctx, closeSQL, app.ID, surface, keep, rep.At)
	if err != nil {
		return err
	}
	type closed struct {
		id      int64
		account string
	}
	var cs []closed
	var c closed
	if _, err := pgx.ForEachRow(rows, []any{&c.id, &c.account}, func() error { cs = append(cs, c); return nil }); err != nil {
		return err
	}
	for _, c := range cs {
		rep.Closed++
		if err := access.Record(ctx, tx, violationEvent("isolation.violation_closed", c.id, e.Name, app.Name, surface, c.account)); err != nil {
			return err
		}
	}
	return nil
}

func violationEvent(action string, id int64, env, app, surface, account string) access.Event {
	return access.Event{Action: action, TargetType: "isolation_violation", TargetID: strconv.FormatInt(id, 10),
		Details: map[string]any{"environment": env, "app": app, "surface": surface, "account_id": account}}
}

func (s *Service) countOpen(ctx context.Context, envID string, rep *Report) error {
	return pgdb.Translate(s.db.QueryRow(ctx, countOpenSQL, envID).Scan(&rep.Open), "", "")
}

// AuditAll audits every environment, and returns the reports of those it
// could audit and an error naming each it could not.
func (s *Service) AuditAll(ctx context.Context) ([]Report, error) {
	if s.accounts == nil {
		return nil, errors.New("isolation: Config.Accounts is required to audit")
	}
	envs, err := s.accounts.ListEnvironments(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(envs))
	for i, e := range envs {
		names[i] = e.Name
	}
	var reports []Report
	var errs []error
	for _, name := range names {
		rep, err := s.Audit(ctx, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("auditing environment %s: %w", name, err))
			continue
		}
		reports = append(reports, rep)
	}
	return reports, errors.Join(errs...)
}
