package spec_test

import (
	"maps"
	"testing"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/spec"
)

// attrs maps the names of c's attribute changes to their after values.
func attrs(c spec.Change) map[string]any {
	out := map[string]any{}
	for _, a := range c.Attributes {
		out[a.Name] = a.After
	}
	return out
}

// An environment's inbox settings and a role's patterns go from the spec
// to the server and back: created, unchanged when written another way,
// changed in place, and returned to the defaults when left out.
func TestInboxSettingsRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	d := staging(1)
	d.Environments[0].InboxRetention, d.Environments[0].InboxMaxMessages = new("48h"), new(50)
	d.Roles[0].CodePattern = `code: (\d{6})`
	p := f.plan(t, "", "", d)
	if c := changeOf(t, p, "environment.staging"); c.After["inbox_retention"] != "2d" || c.After["inbox_max_messages"] != float64(50) {
		t.Fatalf("create shows %v", c.After)
	}
	if c := changeOf(t, p, "role.seller"); c.After["code_pattern"] != `code: (\d{6})` {
		t.Fatalf("create shows %v", c.After)
	}
	f.apply(t, p)
	e, err := f.Accounts.GetEnvironment(f.Ctx, "staging")
	if err != nil || e.InboxRetentionSeconds != 172800 || e.InboxMaxMessages != 50 {
		t.Fatalf("applied environment %+v, %v", e, err)
	}
	r, err := f.Accounts.GetRole(f.Ctx, "staging", "seller")
	if err != nil || r.CodePattern != `code: (\d{6})` || r.LinkPattern != "" {
		t.Fatalf("applied role %+v, %v", r, err)
	}
	d.Environments[0].InboxRetention = new("2d")
	if again := f.plan(t, "", "", d); again.HasChanges() {
		t.Fatalf("48h written as 2d: %+v", again.Changes)
	}

	d.Environments[0].InboxRetention, d.Environments[0].InboxMaxMessages = new("36h"), new(60)
	d.Roles[0].LinkPattern = `/magic/`
	p = f.plan(t, "", "", d)
	if c := changeOf(t, p, "environment.staging"); c.Action != spec.Update ||
		!maps.Equal(attrs(c), map[string]any{"inbox_retention": "36h0m0s", "inbox_max_messages": float64(60)}) {
		t.Fatalf("environment change %+v", c)
	}
	if c := changeOf(t, p, "role.seller"); c.Action != spec.Update || !maps.Equal(attrs(c), map[string]any{"link_pattern": "/magic/"}) {
		t.Fatalf("role change %+v", c)
	}
	f.apply(t, p)
	if e, _ = f.Accounts.GetEnvironment(f.Ctx, "staging"); e.InboxRetentionSeconds != 129600 || e.InboxMaxMessages != 60 {
		t.Fatalf("updated environment %+v", e)
	}
	if r, _ = f.Accounts.GetRole(f.Ctx, "staging", "seller"); r.LinkPattern != "/magic/" || r.CodePattern == "" {
		t.Fatalf("updated role %+v", r)
	}

	f.apply(t, f.plan(t, "", "", staging(1)))
	if e, _ = f.Accounts.GetEnvironment(f.Ctx, "staging"); e.InboxRetentionSeconds != 604800 || e.InboxMaxMessages != 200 {
		t.Fatalf("environment left to the defaults %+v", e)
	}
	if r, _ = f.Accounts.GetRole(f.Ctx, "staging", "seller"); r.LinkPattern != "" || r.CodePattern != "" {
		t.Fatalf("role without patterns %+v", r)
	}
	if again := f.plan(t, "", "", staging(1)); again.HasChanges() {
		t.Fatalf("after the defaults: %+v", again.Changes)
	}
}

// A bad inbox setting or pattern is refused at plan time, named by the
// spec's attribute.
func TestBadInboxSettingsAreNamedByAttribute(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	for _, c := range []struct {
		field  string
		change func(d *spec.Desired)
	}{
		{"environment.staging.inbox_retention", func(d *spec.Desired) { d.Environments[0].InboxRetention = new("a week") }},
		{"environment.staging.inbox_retention", func(d *spec.Desired) { d.Environments[0].InboxRetention = new("30m") }},
		{"environment.staging.inbox_retention", func(d *spec.Desired) { d.Environments[0].InboxRetention = new("366d") }},
		{"environment.staging.inbox_max_messages", func(d *spec.Desired) { d.Environments[0].InboxMaxMessages = new(0) }},
		{"environment.staging.inbox_max_messages", func(d *spec.Desired) { d.Environments[0].InboxMaxMessages = new(10001) }},
		{"role.seller.code_pattern", func(d *spec.Desired) { d.Roles[0].CodePattern = `(\d+)-(\d+)` }},
		{"role.seller.link_pattern", func(d *spec.Desired) { d.Roles[0].LinkPattern = `x*` }},
	} {
		d := staging(1)
		c.change(&d)
		_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: d})
		onlyField(t, err, c.field)
	}
}

// A retention changed outside the spec is drift; a workspace applied
// before environments had inbox settings shows none for them, and a
// normal plan still brings the server back to the spec.
func TestInboxSettingsDrift(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "", "", staging(1)))
	if _, err := f.Accounts.UpdateEnvironment(f.Ctx, "staging", accounts.EnvironmentChange{InboxRetentionSeconds: new(3600)}); err != nil {
		t.Fatal(err)
	}
	p := f.plan(t, "", spec.ModeRefreshOnly, staging(1))
	if len(p.Drift) != 1 || len(p.Drift[0].Attributes) != 1 || p.Drift[0].Attributes[0].Name != "inbox_retention" || p.Drift[0].Attributes[0].After != "1h0m0s" {
		t.Fatalf("drift %+v", p.Drift)
	}
	if _, err := f.DB.Exec(f.Ctx, `UPDATE spec_objects SET applied = jsonb_set(applied, '{attributes}', (applied->'attributes') - 'inbox_retention' - 'inbox_max_messages') WHERE kind = 'environment'`); err != nil {
		t.Fatal(err)
	}
	if p := f.plan(t, "", spec.ModeRefreshOnly, staging(1)); len(p.Drift) != 0 {
		t.Fatalf("drift from an older stored view: %+v", p.Drift)
	}
	c := changeOf(t, f.plan(t, "", "", staging(1)), "environment.staging")
	if !maps.Equal(attrs(c), map[string]any{"inbox_retention": "7d"}) {
		t.Fatalf("normal plan %+v", c)
	}
}
