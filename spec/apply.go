package spec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/tagging"
)

// Apply applies the stored plan id, exactly as planned, under the
// workspace's lock, and returns it with Applied filled. The plan is made
// again from its spec first: when the server's state moved on since (the
// workspace's serial, or what the plan would do), it is refused as stale
// and nothing changes. Each object's change is its own transaction; when
// one fails the apply stops, and the returned plan's Applied lists the
// changes made, so a new plan shows only the rest. Errors: ENOTFOUND,
// ECONFLICT (stale, already applied, locked, leased accounts to retire),
// and any error of a change.
func (s *Service) Apply(ctx context.Context, id string, o ApplyOptions) (Plan, error) {
	sp, err := s.stored(ctx, id)
	if err != nil {
		return Plan{}, err
	}
	if sp.Plan.Status != StatusPlanned {
		return sp.Plan, understudy.Errorf(understudy.ECONFLICT, "plan %s is %s; an apply runs a plan once: make a new plan", id, sp.Plan.Status)
	}
	if o.Holder == "" {
		o.Holder = access.CallerFrom(ctx).Actor
	}
	// Whether an apply outlives its client, and how long it may take, is
	// the caller's to say through ctx (the REST handler detaches it from
	// the request and bounds it); the lock is released however it ends.
	lock, err := s.lockForApply(ctx, sp.Plan.Workspace, o.Holder, id)
	if err != nil {
		return sp.Plan, err
	}
	released := false
	release := func() {
		if !released {
			released = true
			lock.release(context.WithoutCancel(ctx), s)
		}
	}
	defer release()
	req, err := s.request(sp)
	if err != nil {
		return sp.Plan, fmt.Errorf("opening plan %s: %w", id, err)
	}
	pl, err := s.compute(ctx, req)
	if err != nil {
		return sp.Plan, understudy.Errorf(understudy.ECONFLICT, "plan %s is stale: it can no longer be made (%s); make a new plan", id, understudy.ErrorMessage(err))
	}
	if pl.plan.Serial != sp.Plan.Serial || fingerprint(withID(pl.plan, sp.Plan)) != sp.Fingerprint {
		return sp.Plan, understudy.Errorf(understudy.ECONFLICT, "plan %s is stale: the server's state changed since it was made (workspace %s serial %d, now %d); nothing was changed: make a new plan",
			id, sp.Plan.Workspace, sp.Plan.Serial, pl.state.serial)
	}
	out := sp.Plan
	if err := s.setStatus(ctx, &out, StatusApplying, ""); err != nil {
		return out, err
	}
	err = safe(s.run(ctx, pl, &out, o))
	// The workspace is unlocked before the apply is marked as ended, so
	// that whoever reads that it ended (an interrupted CLI) finds the
	// workspace free.
	release()
	status, msg := StatusApplied, ""
	if err != nil {
		status, msg = StatusFailed, understudy.ErrorMessage(err)
	}
	if serr := s.setStatus(context.WithoutCancel(ctx), &out, status, msg); serr != nil && err == nil {
		err = serr
	}
	return out, err
}

// applyError is an error of a change, with a safe message that says which
// change failed; it wraps the cause, so errors.Is still finds it.
type applyError struct {
	safe  *understudy.Error
	cause error
}

func (e *applyError) Error() string   { return e.safe.Error() }
func (e *applyError) Unwrap() []error { return []error{e.safe, e.cause} }

// safe gives err, made of an *understudy.Error wrapped with the address of
// its change and hints, a message of that whole text, which is safe to
// show; any other error stays internal.
func safe(err error) error {
	e, ok := errors.AsType[*understudy.Error](err)
	if !ok {
		return err
	}
	msg := err.Error()
	if len(e.Fields) > 0 {
		msg = strings.Replace(msg, e.Error(), e.Message, 1)
	}
	return &applyError{safe: &understudy.Error{Code: e.Code, Type: e.Type, Message: msg, Fields: e.Fields}, cause: err}
}

// withID gives a recomputed plan the identity of the stored one, so their
// fingerprints compare what they do.
func withID(p, stored Plan) Plan {
	p.ID, p.CreatedAt, p.CreatedBy, p.Status = stored.ID, stored.CreatedAt, stored.CreatedBy, stored.Status
	return p
}

const (
	setPlanStatusSQL = `UPDATE spec_plans SET status = $2, apply_error = $3, applied = $4,
finished_at = CASE WHEN $2 IN ('applied', 'failed') THEN coalesce($5::timestamptz, now()) END WHERE id = $1`
	setAppliedSQL = `UPDATE spec_plans SET applied = $2 WHERE id = $1`
	appliedAtSQL  = `UPDATE spec_workspaces SET last_applied_at = coalesce($2::timestamptz, now()) WHERE name = $1`
)

func (s *Service) setStatus(ctx context.Context, p *Plan, status, msg string) error {
	p.Status, p.ApplyError = status, msg
	return pgdb.InTx(ctx, s.cfg.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, setPlanStatusSQL, p.ID, status, msg, p.Applied, pgdb.Now(s.cfg.Now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			// Pruned after the apply read it and before it took the lock.
			return understudy.Errorf(understudy.ENOTFOUND, "plan %s no longer exists: it was pruned; make a new plan", p.ID)
		}
		if status == StatusApplied {
			if _, err := tx.Exec(ctx, appliedAtSQL, p.Workspace, pgdb.Now(s.cfg.Now)); err != nil {
				return err
			}
		}
		if status == StatusApplying {
			return nil
		}
		return access.Record(ctx, tx, access.Event{Action: "plan.apply", TargetType: "workspace", TargetID: p.Workspace,
			Details: map[string]any{"plan_id": p.ID, "status": status, "error": msg, "applied": len(p.Applied)}})
	})
}

// run makes the plan's changes in order, recording each as it is made.
func (s *Service) run(ctx context.Context, pl *planning, out *Plan, o ApplyOptions) error {
	if pl.plan.Mode == ModeRefreshOnly {
		return s.recordRefresh(ctx, pl, out)
	}
	for _, x := range pl.steps {
		if err := interrupted(o, x); err != nil {
			return err
		}
		if x.cleanup {
			if err := s.forgetObject(ctx, pl.plan.Workspace, x.Address, "gone"); err != nil {
				return err
			}
			continue
		}
		if x.PreviousAddress != "" {
			if err := s.moveObject(ctx, pl.plan.Workspace, x.PreviousAddress, x.Address); err != nil {
				return fmt.Errorf("%s: %w", x.Address, err)
			}
		}
		if err := s.change(ctx, pl.plan.Workspace, x, o); err != nil {
			if _, half := errors.AsType[*recreateError](err); half {
				// The replace's delete was made: the plan as applied
				// says so, as the next plan says it creates the object.
				out.Applied = append(out.Applied, AppliedChange{Address: x.Address, Action: Delete, At: s.cfg.Now().UTC()})
				if _, serr := s.cfg.DB.Exec(context.WithoutCancel(ctx), setAppliedSQL, out.ID, out.Applied); serr != nil {
					s.cfg.Logger.ErrorContext(ctx, "recording a replace's delete", "plan", out.ID, "error", serr)
				}
			}
			return fmt.Errorf("%s: %w", x.Address, err)
		}
		if x.Action != NoOp || x.Importing || x.PreviousAddress != "" {
			out.Applied = append(out.Applied, AppliedChange{Address: x.Address, Action: x.Action, At: s.cfg.Now().UTC()})
			if _, err := s.cfg.DB.Exec(ctx, setAppliedSQL, out.ID, out.Applied); err != nil {
				return pgdb.Translate(err, "", "")
			}
		}
	}
	return nil
}

// interrupted returns the error of an apply interrupted before step x,
// nil when o.Interrupt is open.
func interrupted(o ApplyOptions, x *step) error {
	select {
	case <-o.Interrupt:
		return understudy.Errorf(understudy.ECONFLICT, "the apply was interrupted before %s", x.Address)
	default:
		return nil
	}
}

// change makes one step: the object's change, then the workspace's
// record of it. A create is recorded before it is made (with nothing
// applied yet), so a server that dies in between leaves an object the
// next plan knows as the workspace's.
func (s *Service) change(ctx context.Context, ws string, x *step, o ApplyOptions) error {
	switch x.Action {
	case Forget:
		return s.forgetObject(ctx, ws, x.Address, "forget")
	case Delete:
		if err := s.remove(ctx, x, o); err != nil {
			return err
		}
		return s.forgetObject(ctx, ws, x.Address, "delete")
	case Replace:
		if err := s.remove(ctx, x, o); err != nil {
			return err
		}
		if err := s.recordObject(ctx, ws, x, nil); err != nil {
			return &recreateError{err}
		}
		if err := s.create(ctx, x); err != nil {
			return &recreateError{err}
		}
	case Create:
		if err := s.recordObject(ctx, ws, x, nil); err != nil {
			return err
		}
		if err := s.create(ctx, x); err != nil {
			return err
		}
	case Update:
		if err := s.update(ctx, x, o); err != nil {
			return err
		}
	}
	v := x.view.stored()
	return s.recordObject(ctx, ws, x, &v)
}

// recreateError is the error of a replace that deleted its object and
// then failed to create it again.
type recreateError struct{ err error }

func (e *recreateError) Error() string {
	return "it was deleted, and creating it again failed (the next plan creates it): " + e.err.Error()
}
func (e *recreateError) Unwrap() error { return e.err }

const (
	recordObjectSQL = `
INSERT INTO spec_objects (workspace, address, kind, object_id, applied, prevent_destroy, applied_at)
VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $5::jsonb IS NULL THEN NULL ELSE coalesce($7::timestamptz, now()) END)
ON CONFLICT (workspace, address) DO UPDATE SET object_id = EXCLUDED.object_id, applied = EXCLUDED.applied,
    prevent_destroy = EXCLUDED.prevent_destroy, applied_at = EXCLUDED.applied_at
RETURNING (xmax = 0)`
	bumpSerialSQL = `UPDATE spec_workspaces SET serial = serial + 1 WHERE name = $1`
	forgetSQL     = `DELETE FROM spec_objects WHERE workspace = $1 AND address = $2 RETURNING kind, object_id`
	moveSQL       = `UPDATE spec_objects SET address = $3 WHERE workspace = $1 AND address = $2 RETURNING kind, object_id`
)

// moveObject gives the workspace's record of the object at from the
// address to (a moved block), bumps the serial and audits it.
func (s *Service) moveObject(ctx context.Context, ws, from, to string) error {
	return pgdb.InTx(ctx, s.cfg.DB, func(tx pgx.Tx) error {
		var kind, id string
		if err := tx.QueryRow(ctx, moveSQL, ws, from, to).Scan(&kind, &id); err != nil {
			return pgdb.Translate(err, fmt.Sprintf("%s is no longer managed by workspace %q", from, ws),
				fmt.Sprintf("workspace %q already manages an object at %s", ws, to))
		}
		if _, err := tx.Exec(ctx, bumpSerialSQL, ws); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "workspace.move", TargetType: "workspace", TargetID: ws,
			Details: map[string]any{"from": from, "to": to, "kind": kind, "object": id}})
	})
}

// recordObject records that the workspace manages x's object, as applied
// (nil while its create is being made), bumps the workspace's serial and
// audits it, in one transaction.
func (s *Service) recordObject(ctx context.Context, ws string, x *step, applied *storedView) error {
	return pgdb.InTx(ctx, s.cfg.DB, func(tx pgx.Tx) error {
		var appliedJSON []byte
		if applied != nil {
			appliedJSON, _ = json.Marshal(applied)
		}
		var inserted bool
		if err := tx.QueryRow(ctx, recordObjectSQL, ws, x.Address, x.Kind, x.decl.id, appliedJSON, x.decl.preventDestroy, pgdb.Now(s.cfg.Now)).Scan(&inserted); err != nil {
			return pgdb.Translate(err, "", fmt.Sprintf("%s %s is managed by another workspace", x.Kind, x.decl.id))
		}
		if _, err := tx.Exec(ctx, bumpSerialSQL, ws); err != nil {
			return err
		}
		if !inserted && applied == nil {
			return nil
		}
		action := "workspace.manage"
		if !inserted {
			action = "workspace.record"
		}
		return access.Record(ctx, tx, access.Event{Action: action, TargetType: "workspace", TargetID: ws,
			Details: map[string]any{"address": x.Address, "kind": x.Kind, "object": x.decl.id, "change": string(x.Action)}})
	})
}

// forgetObject drops the workspace's record of the object at address.
func (s *Service) forgetObject(ctx context.Context, ws, address, why string) error {
	return pgdb.InTx(ctx, s.cfg.DB, func(tx pgx.Tx) error {
		var kind, id string
		if err := tx.QueryRow(ctx, forgetSQL, ws, address).Scan(&kind, &id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, bumpSerialSQL, ws); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "workspace.forget", TargetType: "workspace", TargetID: ws,
			Details: map[string]any{"address": address, "kind": kind, "object": id, "why": why}})
	})
}

// recordRefresh records the server's state as what each object of the
// workspace was applied with (applying a refresh-only plan), and lists
// each as a no-op in out.Applied.
func (s *Service) recordRefresh(ctx context.Context, pl *planning, out *Plan) error {
	for _, c := range pl.plan.Drift {
		row := pl.state.mine[c.Address]
		if c.Action == Delete {
			if err := s.forgetObject(ctx, pl.plan.Workspace, c.Address, "deleted outside the spec"); err != nil {
				return err
			}
		} else {
			cur := pl.state.objects[key{row.Kind, row.ObjectID}].stored()
			x := &step{Change: c, decl: &declared{kind: row.Kind, address: row.Address, id: row.ObjectID, preventDestroy: row.PreventDestroy}}
			if err := s.recordObject(ctx, pl.plan.Workspace, x, &cur); err != nil {
				return err
			}
		}
		// Only the workspace's record changed, nothing on the server: a
		// no-op, which the apply's summary does not count as changed.
		out.Applied = append(out.Applied, AppliedChange{Address: c.Address, Action: NoOp, At: s.cfg.Now().UTC()})
	}
	return nil
}

func splitID(id string) (env, name string) {
	env, name, _ = strings.Cut(id, "/")
	return env, name
}

// create makes x's object.
func (s *Service) create(ctx context.Context, x *step) error {
	d := x.decl
	var err error
	switch d.kind {
	case KindEnvironment:
		e, _, _ := environmentSettings(*d.environment) // the plan refused a bad one
		_, err = s.cfg.Accounts.CreateEnvironment(ctx, e)
	case KindRole:
		_, err = s.cfg.Accounts.CreateRole(ctx, d.env, d.role.Name, roleChange(*d.role))
	case KindApp:
		_, err = s.cfg.Apps.Attach(ctx, d.env, d.app.Name, appChange(*d.app))
	case KindDestination:
		_, err = s.cfg.Destinations.Attach(ctx, d.env, d.destination.Name, destinationChange(*d.destination))
	case KindFlow:
		_, err = s.cfg.Flows.Create(ctx, d.env, d.flow.Name, flowChange(*d.flow))
	}
	return err
}

// update changes x's object in place.
func (s *Service) update(ctx context.Context, x *step, o ApplyOptions) error {
	d := x.decl
	var err error
	switch d.kind {
	case KindEnvironment:
		e, _, _ := environmentSettings(*d.environment) // the plan refused a bad one
		_, err = s.cfg.Accounts.UpdateEnvironment(ctx, e.Name, accounts.EnvironmentChange{EmailDomains: e.EmailDomains, CustomSurfaces: e.CustomSurfaces,
			InboxRetentionSeconds: &e.InboxRetentionSeconds, InboxMaxMessages: &e.InboxMaxMessages, CaptureRetentionSeconds: &e.CaptureRetentionSeconds})
	case KindRole:
		err = s.updateRole(ctx, x, o)
	case KindApp:
		_, err = s.cfg.Apps.Update(ctx, d.env, d.app.Name, appChange(*d.app))
	case KindDestination:
		_, err = s.cfg.Destinations.Update(ctx, d.env, d.destination.Name, destinationChange(*d.destination))
	case KindFlow:
		_, err = s.cfg.Flows.Update(ctx, d.env, d.flow.Name, flowChange(*d.flow))
	}
	return err
}

// remove deletes the object x deletes or replaces.
func (s *Service) remove(ctx context.Context, x *step, o ApplyOptions) error {
	env, name := splitID(x.oldKey.id)
	switch x.Kind {
	case KindEnvironment:
		return s.cfg.Accounts.DeleteEnvironment(ctx, x.oldKey.id)
	case KindRole:
		return s.waitLeases(ctx, x, o, func() error { return s.cfg.Accounts.Reconciler().DeleteRoleUnleased(ctx, env, name) })
	case KindApp:
		return s.cfg.Apps.Detach(ctx, env, name)
	case KindFlow:
		return s.cfg.Flows.Delete(ctx, env, name)
	default:
		return s.cfg.Destinations.Detach(ctx, env, name)
	}
}

// updateRole changes a role, never retiring a leased account, and renews
// its accounts when its attributes change.
func (s *Service) updateRole(ctx context.Context, x *step, o ApplyOptions) error {
	d := x.decl
	c := roleChange(*d.role)
	c.RefuseLeased = true
	if err := s.waitLeases(ctx, x, o, func() error {
		_, err := s.cfg.Accounts.UpdateRole(ctx, d.env, d.role.Name, c)
		return err
	}); err != nil {
		return err
	}
	if len(x.Effects.Reprovision) == 0 {
		return nil
	}
	return s.waitLeases(ctx, x, o, func() error { return s.cfg.Accounts.Reconciler().RenewPool(ctx, d.env, d.role.Name) })
}

func roleChange(r Role) accounts.RoleChange {
	v := desiredRoleView(r).attrs
	pool, quarantine := pool(v), v["quarantine_on_violation"] == true
	c := accounts.RoleChange{Description: &r.Description, PoolSize: &pool, Attributes: orMap(r.Attributes),
		IsolationPolicy: map[string]accounts.Visibility{}, QuarantineOnViolation: &quarantine,
		CodePattern: &r.CodePattern, LinkPattern: &r.LinkPattern}
	for k, vis := range r.IsolationPolicy {
		c.IsolationPolicy[k] = accounts.Visibility(vis)
	}
	return c
}

func appChange(a App) apps.Change {
	return apps.Change{Provider: &a.Provider, Settings: settings(a.Settings), Secrets: orMap(a.Secrets)}
}

func flowChange(f Flow) run.FlowChange {
	return run.FlowChange{Role: f.Role, Every: f.Every}
}

func destinationChange(d Destination) tagging.DestinationChange {
	return tagging.DestinationChange{Kind: &d.Kind, Settings: settings(d.Settings), Secrets: orMap(d.Secrets),
		DistinctID: d.DistinctID, SyncInterval: d.SyncInterval}
}
