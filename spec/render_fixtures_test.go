package spec_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/spec"
)

// planTime is the fixed clock of the fixtures.
var planTime = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// planFixture is a named plan whose views are pinned by golden files.
type planFixture struct {
	name string
	plan spec.Plan
}

// planFixtures are the plans of testdata/render, one per situation a
// reader meets.
func planFixtures() []planFixture {
	return []planFixture{
		{"create_only", createOnlyPlan()},
		{"mixed", mixedPlan()},
		{"secrets", secretsPlan()},
		{"import_forget", importForgetPlan()},
		{"destroy_history", destroyHistoryPlan()},
		{"refresh_only", refreshOnlyPlan()},
		{"refresh_only_clean", newPlan(spec.ModeRefreshOnly, noOp("role.buyer", "production/buyer", buyer(3)))},
		{"drift_and_changes", driftAndChangesPlan()},
		{"no_changes", newPlan(spec.ModeNormal, noOp("environment.production", "production", production()))},
		{"destroy_nothing", newPlan(spec.ModeDestroy)},
		{"flows", flowsPlan()},
	}
}

// newPlan is a plan of changes, its summary counted from them.
func newPlan(mode string, changes ...spec.Change) spec.Plan {
	p := spec.Plan{
		ID: "plan_01", Workspace: "default", Mode: mode, Status: spec.StatusPlanned,
		CreatedAt: planTime, CreatedBy: "alice@example.com", Serial: 7, Changes: changes,
	}
	for _, c := range changes {
		switch c.Action {
		case spec.Create:
			p.Summary.Add++
		case spec.Update:
			p.Summary.Change++
		case spec.Replace:
			p.Summary.Add++
			p.Summary.Destroy++
		case spec.Delete:
			p.Summary.Destroy++
		case spec.Forget:
			p.Summary.Forget++
		}
		if c.Importing {
			p.Summary.Import++
		}
	}
	return p
}

// change is a change of address whose kind is the address's first part.
func change(action spec.Action, address, id string, before, after map[string]any, attrs ...spec.AttributeChange) spec.Change {
	kind, _, _ := strings.Cut(address, ".")
	return spec.Change{Address: address, Kind: kind, ID: id, Action: action, Before: before, After: after, Attributes: attrs}
}

// noOp is an unchanged object.
func noOp(address, id string, obj map[string]any) spec.Change {
	return change(spec.NoOp, address, id, obj, obj)
}

// production is the attributes of the production environment.
func production() map[string]any {
	return map[string]any{
		"name":            "production",
		"email_domains":   []string{"test.example.com"},
		"custom_surfaces": []string{},
	}
}

// buyer is the attributes of the buyer role with a pool of size.
func buyer(size int) map[string]any {
	return map[string]any{
		"environment":             "production",
		"name":                    "buyer",
		"description":             "Buys things in the storefront",
		"pool_size":               size,
		"attributes":              map[string]string{"plan": "pro", "country": "NZ"},
		"isolation_policy":        map[string]string{"network": "sandbox"},
		"quarantine_on_violation": true,
	}
}

// app is the attributes of an app.
func app(name, provider string, settings map[string]any, secrets ...string) map[string]any {
	s := map[string]any{}
	for _, k := range secrets {
		s[k] = spec.SensitiveValue
	}
	return map[string]any{
		"environment": "production",
		"name":        name,
		"provider":    provider,
		"settings":    settings,
		"secrets":     s,
	}
}

// account is an account a change touches.
func account(role string, slot int) spec.AccountEffect {
	return spec.AccountEffect{
		ID:     fmt.Sprintf("%s-%d", role, slot),
		Email:  fmt.Sprintf("%s-%d@test.example.com", role, slot),
		Role:   role,
		Slot:   slot,
		Status: "ready",
	}
}

// leased is account, leased by holder until the fixtures' clock plus two
// days.
func leased(role string, slot int, holder string) spec.AccountEffect {
	a := account(role, slot)
	a.Status = "leased"
	a.LeasedBy = holder
	a.LeaseExpiresAt = new(planTime.Add(46 * time.Hour))
	return a
}

// accounts are count accounts of role from slot 1.
func accountList(role string, count int) []spec.AccountEffect {
	out := make([]spec.AccountEffect, count)
	for i := range out {
		out[i] = account(role, i+1)
	}
	return out
}
