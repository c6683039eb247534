package spec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
)

// storedPlan is a plan's row: the plan as answered, and the spec it was
// made from, its secrets sealed.
type storedPlan struct {
	Plan        Plan
	Fingerprint string
	Sealed      secret.Sealed
}

// fingerprint identifies what a plan would do: its changes with their
// values and the accounts they touch, and for a refresh-only plan the
// drift it records. Lease holders are left out, so a lease that starts or
// ends does not make a plan stale; it is checked when the apply gets there.
func fingerprint(p Plan) string {
	type account struct{ ID string }
	type change struct {
		Address, ID string
		Action      Action
		Importing   bool
		Before      map[string]any
		After       map[string]any
		Attributes  []AttributeChange
		Create      int
		Retire      []account
		Reprovision []account
		Deprovision []RefEffect
	}
	ids := func(es []AccountEffect) []account {
		out := make([]account, len(es))
		for i, e := range es {
			out[i] = account{e.ID}
		}
		return out
	}
	var cs []change
	for _, c := range p.Changes {
		cs = append(cs, change{c.Address, c.ID, c.Action, c.Importing, c.Before, c.After, c.Attributes,
			c.Effects.Create, ids(c.Effects.Retire), ids(c.Effects.Reprovision), c.Effects.Deprovision})
	}
	var drift []Change
	if p.Mode == ModeRefreshOnly {
		drift = p.Drift
	}
	b, _ := json.Marshal(struct {
		Workspace, Mode string
		Changes         []change
		Drift           []Change
	}{p.Workspace, p.Mode, cs, drift})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// withoutSecrets returns d with every secret's value replaced by
// SensitiveValue, for the plan's stored copy of its spec.
func withoutSecrets(d Desired) Desired {
	mask := func(m map[string]string) map[string]string {
		out := make(map[string]string, len(m))
		for k := range m {
			out[k] = SensitiveValue
		}
		return out
	}
	apps := make([]App, len(d.Apps))
	for i, a := range d.Apps {
		a.Secrets = mask(a.Secrets)
		apps[i] = a
	}
	dests := make([]Destination, len(d.Destinations))
	for i, x := range d.Destinations {
		x.Secrets = mask(x.Secrets)
		dests[i] = x
	}
	d.Apps, d.Destinations = apps, dests
	return d
}

const planPurpose = "spec-plan/"

const insertPlanSQL = `
INSERT INTO spec_plans (id, workspace, mode, status, serial, fingerprint, created_by, created_at, plan, desired, secrets_key_id, secrets_sealed)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

// save stores the plan of req, with the request's spec sealed, and audits it.
func (s *Service) save(ctx context.Context, p *Plan, req PlanRequest) error {
	p.ID = uuid.NewString()
	p.Status = StatusPlanned
	p.CreatedAt = s.cfg.Now().UTC()
	p.CreatedBy = access.CallerFrom(ctx).Actor
	full, err := json.Marshal(req)
	if err != nil {
		return err
	}
	sealed := s.cfg.Keyring.Seal(full, []byte(planPurpose+p.ID))
	return pgdb.InTx(ctx, s.cfg.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertPlanSQL, p.ID, p.Workspace, p.Mode, p.Status, p.Serial, fingerprint(*p), p.CreatedBy,
			p.CreatedAt, p, withoutSecrets(req.Desired), sealed.KeyID, sealed.Data); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "plan.create", TargetType: "workspace", TargetID: p.Workspace,
			Details: map[string]any{"plan_id": p.ID, "mode": p.Mode, "serial": p.Serial, "summary": p.Summary}})
	})
}

const getPlanSQL = `SELECT plan, status, applied, apply_error, fingerprint, secrets_key_id, secrets_sealed FROM spec_plans WHERE id::text = $1`

func scanPlan(row pgx.Row, sp *storedPlan) error {
	var applied []AppliedChange
	var status, applyError string
	if err := row.Scan(&sp.Plan, &status, &applied, &applyError, &sp.Fingerprint, &sp.Sealed.KeyID, &sp.Sealed.Data); err != nil {
		return err
	}
	sp.Plan.Status, sp.Plan.Applied, sp.Plan.ApplyError = status, applied, applyError
	if sp.Plan.Applied == nil {
		sp.Plan.Applied = []AppliedChange{}
	}
	return nil
}

func (s *Service) stored(ctx context.Context, id string) (storedPlan, error) {
	return pgdb.QueryOne(ctx, s.cfg.DB, scanPlan, "plan "+id+" does not exist", getPlanSQL, id)
}

// request opens the spec a stored plan was made from.
func (s *Service) request(sp storedPlan) (PlanRequest, error) {
	var req PlanRequest
	plain, err := s.cfg.Keyring.Open(sp.Sealed, []byte(planPurpose+sp.Plan.ID))
	if err != nil {
		return req, err
	}
	return req, json.Unmarshal(plain, &req)
}
