package spec

import (
	"context"
	"encoding/json"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/tagging"
)

// checkObjects runs the domain's own checks on every declared object, as
// a create would run them, so a plan fails where an apply would: the
// domain allowlist, pool sizes, policies, and, for each app or
// destination the plan creates or changes, its provider and settings.
func (s *Service) checkObjects(ctx context.Context, decls []declared, steps []*step, st *state, p *problems) error {
	changing := map[string]bool{}
	for _, x := range steps {
		changing[x.Address] = x.Action == Create || x.Action == Update || x.Action == Replace
	}
	for _, d := range decls {
		if d.kind == KindEnvironment {
			e, _, bad := environmentSettings(*d.environment)
			p.fields = append(p.fields, bad...)
			err := s.cfg.Accounts.Reconciler().CheckEnvironment(e)
			if err = p.addErr(d.address, err); err != nil {
				return err
			}
			continue
		}
		env, ok := environmentOf(d.env, decls, st)
		if !ok {
			p.add(d.address+".environment", "environment %q is neither declared in the spec nor on the server", d.env)
			continue
		}
		if d.kind == KindFlow {
			s.checkFlow(d, decls, st, p)
			continue
		}
		if err := s.checkObject(ctx, d, env, changing[d.address], p); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) checkObject(ctx context.Context, d declared, env accounts.Environment, changing bool, p *problems) error {
	var err error
	switch d.kind {
	case KindRole:
		r := d.role
		v := desiredRoleView(*r).attrs
		role := accounts.Role{Environment: env.Name, Name: r.Name, Description: r.Description, PoolSize: pool(v),
			Attributes: orMap(r.Attributes), IsolationPolicy: map[string]accounts.Visibility{}, QuarantineOnViolation: v["quarantine_on_violation"] == true,
			CodePattern: r.CodePattern, LinkPattern: r.LinkPattern}
		for k, vis := range r.IsolationPolicy {
			role.IsolationPolicy[k] = accounts.Visibility(vis)
		}
		err = s.cfg.Accounts.Reconciler().CheckRole(env, role)
	case KindApp:
		if changing {
			a := d.app
			err = s.cfg.Apps.Check(ctx, apps.App{Environment: env.Name, Name: a.Name, Provider: a.Provider, Settings: settings(a.Settings)}, a.Secrets)
		}
	case KindDestination:
		if s.cfg.Destinations == nil {
			p.add(d.address, "this server publishes to no analytics destinations")
			return nil
		}
		if changing {
			x := d.destination
			err = s.cfg.Destinations.Check(env.Name, x.Name, tagging.DestinationChange{Kind: &x.Kind, Settings: settings(x.Settings),
				Secrets: x.Secrets, DistinctID: x.DistinctID, SyncInterval: x.SyncInterval})
		}
	}
	return p.addErr(d.address, err)
}

// checkFlow checks a flow as package run would, and that its role is one
// the environment will have once the plan is applied: declared in the
// spec, and planned, or on the server and not deleted by the plan.
func (s *Service) checkFlow(d declared, planned []declared, st *state, p *problems) {
	if s.cfg.Flows == nil {
		p.add(d.address, "this server declares no flows")
		return
	}
	x := d.flow
	if _, err := run.CheckFlow(x.Name, run.FlowChange{Role: x.Role, Every: x.Every}); err != nil {
		_ = p.addErr(d.address, err) // EINVALID only
		return
	}
	role := key{KindRole, objectID(x.Environment, x.Role)}
	for _, r := range planned {
		if r.kind == KindRole && r.id == role.id {
			return
		}
	}
	_, onServer := st.objects[role]
	m, managed := st.managedBy[role]
	at, declared := st.declaredAt[role]
	switch {
	case declared && !onServer:
		p.add(d.address+".role", "role %s is declared in the spec at %s, but outside this plan's -target, and not on the server yet: add -target=%s", x.Role, at, Address(at))
	case declared:
	case onServer && managed && m.Workspace == st.workspace:
		p.add(d.address+".role", "this plan deletes role %s of environment %s (the spec no longer declares it at %s), which the flow runs with", x.Role, x.Environment, m.Address)
	case !onServer:
		p.add(d.address+".role", "role %q is neither declared in the spec nor on the server in environment %s", x.Role, x.Environment)
	}
}

func settings(r json.RawMessage) json.RawMessage {
	if len(r) == 0 || string(r) == "null" {
		return json.RawMessage("{}")
	}
	return r
}
