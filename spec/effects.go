package spec

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
)

// effects reads what the plan's changes do to accounts, caching each
// environment's members.
type effects struct {
	s       *Service
	members map[string][]accounts.Member
}

func (e *effects) of(ctx context.Context, env, role string) ([]accounts.Member, error) {
	all, ok := e.members[env]
	if !ok {
		var err error
		if all, err = e.s.cfg.Accounts.Reconciler().Members(ctx, env, ""); err != nil {
			return nil, err
		}
		e.members[env] = all
	}
	if role == "" {
		return all, nil
	}
	var out []accounts.Member
	for _, m := range all {
		if m.Role == role {
			out = append(out, m)
		}
	}
	return out, nil
}

func accountEffects(ms []accounts.Member, keep func(accounts.Member) bool) []AccountEffect {
	var out []AccountEffect
	for _, m := range ms {
		if keep == nil || keep(m) {
			out = append(out, AccountEffect{ID: m.ID, Email: m.Email, Role: m.Role, Slot: m.Slot, Status: string(m.Status),
				LeasedBy: m.LeasedBy, LeaseExpiresAt: m.LeaseExpiresAt})
		}
	}
	return out
}

func pool(v map[string]any) int {
	f, _ := v["pool_size"].(float64)
	return int(f)
}

// addEffects fills each step's effects on accounts, turns the deletion of
// an environment that keeps account history into a forget, and refuses a
// domain removal that active accounts still use.
func (s *Service) addEffects(ctx context.Context, pl *planning) error {
	e := &effects{s: s, members: map[string][]accounts.Member{}}
	goingRoles := map[string]bool{} // roles whose accounts the plan retires
	for _, x := range pl.steps {
		if x.Kind == KindRole && (x.Action == Delete || x.Action == Replace) {
			goingRoles[x.oldKey.id] = true
		}
	}
	for _, x := range pl.steps {
		var err error
		switch x.Kind {
		case KindRole:
			err = s.roleEffects(ctx, e, x)
		case KindApp:
			err = s.appEffects(ctx, e, x)
		case KindEnvironment:
			err = s.environmentEffects(ctx, e, x, pl.state, goingRoles)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) roleEffects(ctx context.Context, e *effects, x *step) error {
	switch x.Action {
	case Create:
		x.Effects.Create = pool(x.After)
	case Replace, Delete:
		env, role, _ := strings.Cut(x.oldKey.id, "/")
		ms, err := e.of(ctx, env, role)
		if err != nil {
			return err
		}
		x.Effects.Retire = accountEffects(ms, nil)
		if x.Action == Replace {
			x.Effects.Create = pool(x.After)
		}
	case Update:
		ms, err := e.of(ctx, x.decl.env, x.decl.role.Name)
		if err != nil {
			return err
		}
		before, after := pool(x.Before), pool(x.After)
		x.Effects.Retire = accountEffects(ms, func(m accounts.Member) bool { return m.Slot > after })
		if after > before {
			x.Effects.Create = after - before
		}
		if slices.ContainsFunc(x.Attributes, func(c AttributeChange) bool { return c.Name == "attributes" }) {
			x.Effects.Reprovision = accountEffects(ms, func(m accounts.Member) bool { return m.Slot <= after })
		}
	}
	return nil
}

func (s *Service) appEffects(ctx context.Context, e *effects, x *step) error {
	if x.Action == Replace || x.Action == Delete {
		env, app, _ := strings.Cut(x.oldKey.id, "/")
		refs, err := s.cfg.Apps.Refs(ctx, env, app)
		if err != nil {
			return err
		}
		for _, r := range refs {
			x.Effects.Deprovision = append(x.Effects.Deprovision, RefEffect{AccountID: r.AccountID, Email: r.Email, App: r.App, Ref: r.Ref})
		}
	}
	if x.Action == Create || x.Action == Replace {
		ms, err := e.of(ctx, x.decl.env, "")
		if err != nil && understudy.ErrorCode(err) != understudy.ENOTFOUND {
			return err
		}
		x.Effects.Reprovision = accountEffects(ms, nil)
	}
	return nil
}

func (s *Service) environmentEffects(ctx context.Context, e *effects, x *step, st *state, goingRoles map[string]bool) error {
	switch x.Action {
	case Delete:
		history, err := s.cfg.Accounts.Reconciler().CountAccountsEver(ctx, x.ID)
		if err != nil {
			return err
		}
		var kept []string
		for k := range st.objects {
			if k.kind == KindRole && strings.HasPrefix(k.id, x.ID+"/") && !goingRoles[k.id] {
				kept = append(kept, k.id)
			}
		}
		switch {
		case len(kept) > 0:
			x.Action, x.After = Forget, x.Before
			x.Reason = "it keeps role(s) this plan does not delete (" + strings.Join(kept, ", ") + "), so it stays on the server, no longer managed"
		case history > 0:
			// Its accounts, and the leases and resets that name them, keep
			// what they refer to.
			x.Action, x.After = Forget, x.Before
			x.Reason = fmt.Sprintf("environment %s has history (%s ever made): Understudy keeps it and stops managing it",
				x.ID, count(history, "account"))
		}
	case Update:
		return s.checkDomainsKept(ctx, e, x, goingRoles)
	}
	return nil
}

// checkDomainsKept refuses an update that removes an email domain still
// used by an active account that the plan does not retire.
func (s *Service) checkDomainsKept(ctx context.Context, e *effects, x *step, goingRoles map[string]bool) error {
	keep := map[string]bool{}
	for _, d := range x.decl.environment.EmailDomains {
		keep[strings.ToLower(strings.TrimSpace(d))] = true
	}
	ms, err := e.of(ctx, x.ID, "")
	if err != nil {
		return err
	}
	var using []string
	for _, m := range ms {
		_, domain, _ := strings.Cut(m.Email, "@")
		if !keep[domain] && !goingRoles[objectID(x.ID, m.Role)] {
			using = append(using, fmt.Sprintf("%s (role %s, slot %d)", m.Email, m.Role, m.Slot))
		}
	}
	if len(using) == 0 {
		return nil
	}
	shown := using
	if len(shown) > 10 {
		shown = append(shown[:10:10], fmt.Sprintf("and %d more", len(using)-10))
	}
	return &understudy.Error{Code: understudy.ECONFLICT,
		Message: fmt.Sprintf("%s removes an email domain that %d active account(s) still use: %s; retire them first (lower the pool, or delete the role)", x.Address, len(using), strings.Join(shown, ", ")),
		Fields:  []understudy.FieldError{{Field: x.Address + ".email_domains", Detail: fmt.Sprintf("a removed domain is still used by %d active account(s)", len(using))}}}
}
