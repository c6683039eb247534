package spec_test

import (
	"maps"
	"testing"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/spec"
)

func TestAFirstApplyCreatesAndASecondPlanHasNoChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	p := f.plan(t, "", "", staging(2))
	want := map[string]spec.Action{"environment.staging": spec.Create, "role.seller": spec.Create}
	if got := actions(p); !maps.Equal(got, want) {
		t.Fatalf("actions %v, want %v", got, want)
	}
	if p.Summary != (spec.Summary{Add: 2}) || p.Workspace != spec.DefaultWorkspace || p.Serial != 0 {
		t.Fatalf("summary %+v workspace %q serial %d", p.Summary, p.Workspace, p.Serial)
	}
	if c := changeOf(t, p, "role.seller"); c.Effects.Create != 2 {
		t.Errorf("role.seller creates %d accounts, want 2", c.Effects.Create)
	}
	if len(p.Unmanaged) != 3 { // production, its app chirp and its role buyer
		t.Errorf("unmanaged %v, want production's three objects", p.Unmanaged)
	}
	out := f.apply(t, p)
	if out.Status != spec.StatusApplied || len(out.Applied) != 2 || out.Applied[0].Address != "environment.staging" {
		t.Fatalf("applied %+v status %s", out.Applied, out.Status)
	}
	list, err := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{Environment: "staging"})
	if err != nil || len(list) != 2 {
		t.Fatalf("staging has %d accounts (%v), want 2", len(list), err)
	}
	again := f.plan(t, "", "", staging(2))
	if again.HasChanges() || again.Serial == 0 {
		t.Fatalf("second plan: %+v serial %d", again.Summary, again.Serial)
	}
	got, err := f.Spec.GetPlan(f.Ctx, p.ID)
	if err != nil || got.Status != spec.StatusApplied || len(got.Applied) != 2 {
		t.Fatalf("stored plan %+v %v", got, err)
	}
}
