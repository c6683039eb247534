package spec_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/spec"
)

// An environment's capture retention goes from the spec to the server and
// back: created, unchanged when written another way, changed in place,
// and returned to the default when left out.
func TestCaptureRetentionRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	p := f.plan(t, "", "", staging(1))
	if c := changeOf(t, p, "environment.staging"); c.After["capture_retention"] != "30d" {
		t.Fatalf("create without it shows %v", c.After)
	}
	d := staging(1)
	d.Environments[0].CaptureRetention = new("1440h")
	p = f.plan(t, "", "", d)
	if c := changeOf(t, p, "environment.staging"); c.After["capture_retention"] != "60d" {
		t.Fatalf("create shows %v", c.After)
	}
	f.apply(t, p)
	e, err := f.Accounts.GetEnvironment(f.Ctx, "staging")
	if err != nil || e.CaptureRetentionSeconds != 5184000 || e.InboxRetentionSeconds != 604800 {
		t.Fatalf("applied environment %+v, %v", e, err)
	}
	d.Environments[0].CaptureRetention = new("60d")
	if again := f.plan(t, "", "", d); again.HasChanges() {
		t.Fatalf("1440h written as 60d: %+v", again.Changes)
	}

	d.Environments[0].CaptureRetention = new("36h")
	p = f.plan(t, "", "", d)
	if c := changeOf(t, p, "environment.staging"); c.Action != spec.Update ||
		!maps.Equal(attrs(c), map[string]any{"capture_retention": "36h0m0s"}) || c.Before["capture_retention"] != "60d" {
		t.Fatalf("environment change %+v", c)
	}
	f.apply(t, p)
	if e, _ = f.Accounts.GetEnvironment(f.Ctx, "staging"); e.CaptureRetentionSeconds != 129600 || e.InboxMaxMessages != 200 {
		t.Fatalf("updated environment %+v", e)
	}

	f.apply(t, f.plan(t, "", "", staging(1)))
	if e, _ = f.Accounts.GetEnvironment(f.Ctx, "staging"); e.CaptureRetentionSeconds != 2592000 {
		t.Fatalf("environment left to the default %+v", e)
	}
	if again := f.plan(t, "", "", staging(1)); again.HasChanges() {
		t.Fatalf("after the default: %+v", again.Changes)
	}
}

// A bad capture retention is refused at plan time, named by the spec's
// attribute and saying the range.
func TestBadCaptureRetentionIsNamedByAttribute(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	for _, c := range []struct{ written, detail string }{
		{"a month", `"a month" is not a duration`},
		{"59m", `must be whole seconds from 1h to 365d; got "59m"`},
		{"366d", `must be whole seconds from 1h to 365d; got "366d"`},
		{"90m30.5s", `must be whole seconds from 1h to 365d; got "90m30.5s"`},
	} {
		d := staging(1)
		d.Environments[0].CaptureRetention = new(c.written)
		_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: d})
		if fe := onlyField(t, err, "environment.staging.capture_retention"); !strings.Contains(fe.Detail, c.detail) {
			t.Errorf("%q: detail %q; want %s", c.written, fe.Detail, c.detail)
		}
	}
}

// A capture retention changed outside the spec is drift; a workspace
// applied before environments had one shows none for it, and a normal
// plan still brings the server back to the spec.
func TestCaptureRetentionDrift(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "", "", staging(1)))
	if _, err := f.Accounts.UpdateEnvironment(f.Ctx, "staging", accounts.EnvironmentChange{CaptureRetentionSeconds: new(7200)}); err != nil {
		t.Fatal(err)
	}
	p := f.plan(t, "", spec.ModeRefreshOnly, staging(1))
	if len(p.Drift) != 1 || len(p.Drift[0].Attributes) != 1 || p.Drift[0].Attributes[0].Name != "capture_retention" || p.Drift[0].Attributes[0].After != "2h0m0s" {
		t.Fatalf("drift %+v", p.Drift)
	}
	if _, err := f.DB.Exec(f.Ctx, `UPDATE spec_objects SET applied = jsonb_set(applied, '{attributes}', (applied->'attributes') - 'capture_retention') WHERE kind = 'environment'`); err != nil {
		t.Fatal(err)
	}
	if p := f.plan(t, "", spec.ModeRefreshOnly, staging(1)); len(p.Drift) != 0 {
		t.Fatalf("drift from an older stored view: %+v", p.Drift)
	}
	c := changeOf(t, f.plan(t, "", "", staging(1)), "environment.staging")
	if c.Action != spec.Update || !maps.Equal(attrs(c), map[string]any{"capture_retention": "30d"}) {
		t.Fatalf("normal plan %+v", c)
	}
}
