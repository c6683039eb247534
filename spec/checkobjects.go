package spec

import (
	"context"
	"encoding/json"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
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
			e, bad := accountsEnvironment(*d.environment)
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

func settings(r json.RawMessage) json.RawMessage {
	if len(r) == 0 || string(r) == "null" {
		return json.RawMessage("{}")
	}
	return r
}
