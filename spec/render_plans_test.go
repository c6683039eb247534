package spec_test

import (
	"fmt"

	"github.com/understudy-dev/understudy/spec"
)

// createOnlyPlan creates an environment and a role with its pool.
func createOnlyPlan() spec.Plan {
	role := change(spec.Create, "role.buyer", "production/buyer", nil, buyer(3))
	role.Effects.Create = 3
	return newPlan(spec.ModeNormal,
		change(spec.Create, "environment.production", "production", nil, production()),
		role,
	)
}

// mixedPlan lowers a pool (retiring a leased account), replaces an app,
// deletes another and updates a destination, leaving an environment
// unchanged.
func mixedPlan() spec.Plan {
	pool := change(spec.Update, "role.buyer", "production/buyer", buyer(3), buyer(2),
		spec.AttributeChange{Name: "pool_size", Before: 3, After: 2})
	pool.Effects.Retire = []spec.AccountEffect{leased("buyer", 3, "ci run 42")}

	seller := buyer(4)
	seller["name"] = "seller"
	sellerAfter := buyer(4)
	sellerAfter["name"] = "seller"
	sellerAfter["attributes"] = map[string]string{"plan": "enterprise", "country": "NZ", "tier": "gold"}
	sellerAfter["description"] = nil
	roleSeller := change(spec.Update, "role.seller", "production/seller", seller, sellerAfter,
		spec.AttributeChange{Name: "attributes", Before: map[string]string{"plan": "pro"}, After: map[string]string{"plan": "enterprise", "tier": "gold"}},
		spec.AttributeChange{Name: "description", Before: "Buys things in the storefront", After: nil})
	roleSeller.Effects.Reprovision = accountList("seller", 12)
	roleSeller.Effects.Retire = []spec.AccountEffect{leased("seller", 5, "nightly e2e"), account("seller", 6)}

	chirp := change(spec.Replace, "app.chirp", "production/chirp",
		app("chirp", "chirp", map[string]any{"base_url": "https://chirp.test"}, "api_key"),
		app("chirp2", "chirp", map[string]any{"base_url": "https://chirp.test"}, "api_key"),
		spec.AttributeChange{Name: "name", Before: "chirp", After: "chirp2", ForcesReplacement: true})
	chirp.Reason = "its name changed, and an app cannot be renamed"
	chirp.Effects.Reprovision = accountList("buyer", 2)

	old := change(spec.Delete, "app.old", "production/old",
		app("old", "webhook", map[string]any{"url": "https://old.test/hook", "retries": 3}), nil)
	old.Reason = "app.old is not in the spec"
	old.Effects.Deprovision = []spec.RefEffect{
		{AccountID: "buyer-1", Email: "buyer-1@test.example.com", App: "old", Ref: "42"},
		{AccountID: "buyer-2", Email: "buyer-2@test.example.com", App: "old", Ref: "43"},
	}

	env := production()
	envAfter := production()
	envAfter["name"] = "staging"
	envAfter["email_domains"] = []string{"a.example.com", "b.example.com", "test.example.com", "d.example.com", "e.example.com", "f.example.com"}
	envBefore := production()
	envBefore["name"] = "staging"
	envBefore["email_domains"] = []string{"a.example.com", "b.example.com", "c.example.com", "d.example.com", "e.example.com", "f.example.com"}
	return newPlan(spec.ModeNormal,
		noOp("environment.production", "production", env),
		change(spec.Update, "environment.staging", "staging", envBefore, envAfter,
			spec.AttributeChange{Name: "email_domains"}),
		pool, roleSeller, chirp, old,
	)
}

// secretsPlan creates an app with secrets and changes a destination's
// secrets and settings.
func secretsPlan() spec.Plan {
	dest := func(distinct string, secrets ...string) map[string]any {
		d := app("posthog", "posthog", map[string]any{"host": "https://eu.posthog.test", "batch": map[string]any{"size": 50}}, secrets...)
		delete(d, "provider")
		d["kind"] = "posthog"
		d["distinct_id"] = distinct
		return d
	}
	after := dest("email", "api_key", "project_token")
	after["settings"] = map[string]any{"host": "https://eu.posthog.test", "batch": map[string]any{"size": 100}}
	return newPlan(spec.ModeNormal,
		change(spec.Create, "app.billing", "production/billing", nil,
			app("billing", "stripe", map[string]any{"mode": "test"}, "secret_key", "webhook_secret")),
		change(spec.Update, "destination.posthog", "production/posthog",
			dest("email", "api_key", "personal_key"), after,
			spec.AttributeChange{Name: "secrets.api_key", Sensitive: true},
			spec.AttributeChange{Name: "secrets.project_token", Sensitive: true},
			spec.AttributeChange{Name: "secrets.personal_key", Sensitive: true},
			spec.AttributeChange{Name: "settings"}),
	)
}

// importForgetPlan adopts two roles, one as it is and one with a change,
// and stops managing a third; the server holds objects no spec manages.
func importForgetPlan() spec.Plan {
	seller := buyer(2)
	seller["name"] = "seller"
	imported := change(spec.NoOp, "role.seller", "production/seller", seller, seller)
	imported.Importing = true
	admin := buyer(1)
	admin["name"] = "admin"
	adminAfter := buyer(2)
	adminAfter["name"] = "admin"
	adopted := change(spec.Update, "role.admin", "production/admin", admin, adminAfter,
		spec.AttributeChange{Name: "pool_size", Before: 1, After: 2})
	adopted.Importing = true
	adopted.Effects.Create = 1
	legacy := buyer(1)
	legacy["name"] = "legacy"
	forget := change(spec.Forget, "role.legacy", "production/legacy", legacy, nil)
	forget.Reason = "a removed block stops managing it"
	p := newPlan(spec.ModeNormal, imported, adopted, forget)
	for i := range 12 {
		p.Unmanaged = append(p.Unmanaged, spec.Object{Kind: spec.KindApp, ID: "production/extra-" + string(rune('a'+i))})
	}
	p.Unmanaged[1].ManagedBy = "billing-team"
	return p
}

// destroyHistoryPlan destroys a workspace whose environment has account
// history, so that it is only forgotten, on a server where two other
// workspaces manage 59 objects and one object is managed by none.
func destroyHistoryPlan() spec.Plan {
	seller := buyer(2)
	seller["name"] = "seller"
	role := change(spec.Delete, "role.seller", "production/seller", seller, nil)
	role.Reason = "destroy deletes what the workspace manages"
	role.Effects.Retire = []spec.AccountEffect{account("seller", 1), leased("seller", 2, "ci run 7")}
	env := change(spec.Forget, "environment.production", "production", production(), production())
	env.Reason = "environment production has history (2 accounts ever made): Understudy keeps it and stops managing it"
	p := newPlan(spec.ModeDestroy, role, env)
	for i := range 59 {
		o := spec.Object{Kind: spec.KindRole, ID: fmt.Sprintf("staging/r%02d", i), ManagedBy: "team-a"}
		if i < 40 {
			o = spec.Object{Kind: spec.KindApp, ID: fmt.Sprintf("production/app%02d", i), ManagedBy: "ops"}
		}
		p.Unmanaged = append(p.Unmanaged, o)
	}
	p.Unmanaged = append(p.Unmanaged, spec.Object{Kind: spec.KindEnvironment, ID: "sandbox"})
	return p
}

// refreshOnlyPlan reports a role changed and an app deleted outside the
// spec.
func refreshOnlyPlan() spec.Plan {
	p := newPlan(spec.ModeRefreshOnly, noOp("role.buyer", "production/buyer", buyer(5)))
	p.Drift = []spec.Change{
		change(spec.Update, "role.buyer", "production/buyer", buyer(3), buyer(5),
			spec.AttributeChange{Name: "pool_size", Before: 3, After: 5}),
		change(spec.Delete, "app.chirp", "production/chirp",
			app("chirp", "chirp", map[string]any{"base_url": "https://chirp.test"}, "api_key"), nil),
	}
	return p
}

// driftAndChangesPlan is a normal plan that undoes a change made outside
// the spec.
func driftAndChangesPlan() spec.Plan {
	p := newPlan(spec.ModeNormal, change(spec.Update, "role.buyer", "production/buyer", buyer(5), buyer(3),
		spec.AttributeChange{Name: "pool_size", Before: 5, After: 3}))
	p.Changes[0].Effects.Retire = []spec.AccountEffect{account("buyer", 4), account("buyer", 5)}
	p.Drift = []spec.Change{change(spec.Update, "role.buyer", "production/buyer", buyer(3), buyer(5),
		spec.AttributeChange{Name: "pool_size", Before: 3, After: 5})}
	return p
}

// appliedPlan is mixedPlan and importForgetPlan applied in full, the
// imported role renamed so that no address repeats.
func appliedPlan() spec.Plan {
	p := mixedPlan()
	imports := importForgetPlan().Changes
	imports[0].Address, imports[0].ID = "role.support", "production/support"
	p.Changes = append(p.Changes, imports...)
	p.Status = spec.StatusApplied
	for _, c := range p.Changes {
		if c.Action != spec.NoOp || c.Importing {
			p.Applied = append(p.Applied, spec.AppliedChange{Address: c.Address, Action: c.Action, At: planTime})
		}
	}
	return p
}

// failedPlan is createOnlyPlan stopped by an error after its first change.
func failedPlan() spec.Plan {
	p := createOnlyPlan()
	p.Status = spec.StatusFailed
	p.Applied = []spec.AppliedChange{{Address: "environment.production", Action: spec.Create, At: planTime}}
	p.ApplyError = `role.buyer: provisioning buyer-2 into chirp: chirp answered 503`
	return p
}

// flow is the attributes of a flow of production.
func flow(name, role, every string) map[string]any {
	return map[string]any{"environment": "production", "name": name, "role": role, "every": every}
}

// flowsPlan declares a flow, runs another more often and deletes a third.
func flowsPlan() spec.Plan {
	old := change(spec.Delete, "flow.old_search", "production/old-search", flow("old-search", "buyer", "1h"), nil)
	old.Reason = "the spec no longer declares it"
	return newPlan(spec.ModeNormal,
		old,
		noOp("role.buyer", "production/buyer", buyer(3)),
		change(spec.Create, "flow.checkout", "production/checkout", nil, flow("checkout", "buyer", "15m")),
		change(spec.Update, "flow.sign_up", "production/sign-up", flow("sign-up", "buyer", "1h"), flow("sign-up", "buyer", "5m"),
			spec.AttributeChange{Name: "every", Before: "1h", After: "5m"}),
	)
}
