package spec_test

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/spec"
)

// withExtra is staging(pool) with a second role, extra, and an app,
// shop, in staging.
func withExtra(pool int) spec.Desired {
	d := staging(pool)
	d.Roles = append(d.Roles, spec.Role{Address: "role.extra", Environment: "staging", Name: "extra", PoolSize: new(1)})
	return d
}

func (f fixture) planErr(t *testing.T, req spec.PlanRequest, code string, says ...string) {
	t.Helper()
	_, err := f.Spec.Plan(f.Ctx, req)
	e := domaintest.WantCode(t, err, code)
	for _, s := range says {
		if !strings.Contains(e.Message, s) {
			t.Errorf("the refusal does not say %q: %s", s, e.Message)
		}
	}
}

// -target plans the targeted object and its environment only, the
// apply of the saved plan makes only those, and a later targeted plan
// leaves alone what is outside its targets, deletes included.
func TestATargetedPlanPlansTheTargetAndWhatItNeeds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	p, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: withExtra(2), Targets: []string{"understudy_role.seller"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]spec.Action{"environment.staging": spec.Create, "role.seller": spec.Create}
	if got := actions(p); !maps.Equal(got, want) || p.Summary != (spec.Summary{Add: 2}) {
		t.Fatalf("targeted plan %v %+v, want %v", got, p.Summary, want)
	}
	if !slices.Equal(p.Targets, []string{"role.seller"}) {
		t.Errorf("plan targets %q", p.Targets)
	}
	if tf := readTF(t, p); tf.Complete == nil || *tf.Complete {
		t.Error("a targeted plan's JSON says complete")
	}
	stored, err := f.Spec.GetPlan(f.Ctx, p.ID)
	if err != nil || !slices.Equal(stored.Targets, []string{"role.seller"}) {
		t.Fatalf("stored plan targets %q (%v)", stored.Targets, err)
	}
	// The apply plans again with the stored targets: role.extra is not made.
	out := f.apply(t, p)
	if len(out.Applied) != 2 {
		t.Fatalf("applied %+v", out.Applied)
	}
	if _, err := f.Accounts.GetRole(f.Ctx, "staging", "extra"); understudy.ErrorCode(err) != understudy.ENOTFOUND {
		t.Fatalf("the untargeted role.extra was made: %v", err)
	}
	if got := actions(f.plan(t, "", "", withExtra(2))); got["role.extra"] != spec.Create || got["role.seller"] != spec.NoOp {
		t.Fatalf("full plan after the targeted apply: %v", got)
	}

	// Spec form works too; the untargeted role.seller, no longer declared,
	// is not deleted by a plan that targets the environment.
	only := withExtra(2)
	only.Roles = only.Roles[1:]
	p, err = f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: only, Targets: []string{"environment.staging"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(p); !maps.Equal(got, map[string]spec.Action{"environment.staging": spec.NoOp}) || p.HasChanges() {
		t.Fatalf("plan targeting the environment: %v", got)
	}
	p, err = f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: only, Targets: []string{"understudy_role.seller"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(p); !maps.Equal(got, map[string]spec.Action{"role.seller": spec.Delete}) {
		t.Fatalf("plan targeting the removed role: %v", got)
	}
}

// A destroy with -target deletes the target and what is in it, nothing
// else.
func TestATargetedDestroyTakesTheObjectsInTheTarget(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	d := staging(1)
	d.Environments = append(d.Environments, spec.Environment{Address: "environment.qa", Name: "qa", EmailDomains: []string{"qa.example.test"}})
	f.apply(t, f.plan(t, "", "", d))
	p, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Mode: spec.ModeDestroy, Targets: []string{"understudy_environment.staging"}})
	if err != nil {
		t.Fatal(err)
	}
	got := actions(p)
	if got["role.seller"] != spec.Delete || got["environment.staging"] == "" || got["environment.qa"] != "" {
		t.Fatalf("targeted destroy %v: want role.seller deleted, staging planned, qa left alone", got)
	}
	p, err = f.Spec.Plan(f.Ctx, spec.PlanRequest{Mode: spec.ModeDestroy, Targets: []string{"understudy_environment.qa"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(p); !maps.Equal(got, map[string]spec.Action{"environment.qa": spec.Delete}) {
		t.Fatalf("destroy of the empty qa: %v", got)
	}
	f.apply(t, p)
	if _, err := f.Accounts.GetEnvironment(f.Ctx, "qa"); understudy.ErrorCode(err) != understudy.ENOTFOUND {
		t.Fatalf("qa after its destroy: %v", err)
	}
	if _, err := f.Accounts.GetRole(f.Ctx, "staging", "seller"); err != nil {
		t.Fatalf("the untargeted role.seller: %v", err)
	}
}

// An address that names nothing is refused, naming it and the closest
// address; so are a type that does not exist and an address that does
// not parse. A moved object must be targeted with the plan.
func TestABadTargetIsRefusedNamingIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.planErr(t, spec.PlanRequest{Desired: withExtra(1), Targets: []string{"understudy_role.selle"}}, understudy.EINVALID,
		"-target=understudy_role.selle", "did you mean understudy_role.seller?")
	f.planErr(t, spec.PlanRequest{Desired: withExtra(1), Targets: []string{"understudy_role.zzzzzzzzzzzz"}}, understudy.EINVALID,
		`-target=understudy_role.zzzzzzzzzzzz: neither the spec nor workspace "default" has an object at this address`)
	f.planErr(t, spec.PlanRequest{Desired: withExtra(1), Targets: []string{"understudy_widget.x"}}, understudy.EINVALID,
		"there is no object type understudy_widget")
	f.planErr(t, spec.PlanRequest{Desired: withExtra(1), Targets: []string{"seller"}}, understudy.EINVALID,
		"-target=seller: an address is TYPE.NAME")
	f.planErr(t, spec.PlanRequest{Desired: withExtra(1), Replace: []string{`understudy_role.seller[x]`}}, understudy.EINVALID,
		"is not a quoted string")

	f.apply(t, f.plan(t, "", "", withExtra(1)))
	moved := withExtra(1)
	moved.Roles[1].Address = "role.more"
	moved.Moved = []spec.Moved{{From: "role.extra", To: "role.more"}}
	f.planErr(t, spec.PlanRequest{Desired: moved, Targets: []string{"role.seller"}}, understudy.EINVALID,
		"add -target=understudy_role.more")
	if _, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: moved, Targets: []string{"role.seller", "understudy_role.more"}}); err != nil {
		t.Fatalf("a targeted plan with the moved object: %v", err)
	}
}

// for_each instances: a target without a key takes every instance, one
// with a key only it; -replace needs the key.
func TestTargetsOfForEachInstances(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	d := staging(1)
	d.Roles = []spec.Role{
		{Address: `role.team["a"]`, Environment: "staging", Name: "a", PoolSize: new(1)},
		{Address: `role.team["b"]`, Environment: "staging", Name: "b", PoolSize: new(1)},
		{Address: "role.solo", Environment: "staging", Name: "solo", PoolSize: new(1)},
	}
	p, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: d, Targets: []string{"understudy_role.team"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(actions(p))); !slices.Equal(got, []string{"environment.staging", `role.team["a"]`, `role.team["b"]`}) {
		t.Fatalf("target of every instance: %q", got)
	}
	p, err = f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: d, Targets: []string{`understudy_role.team["b"]`}})
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(actions(p))); !slices.Equal(got, []string{"environment.staging", `role.team["b"]`}) {
		t.Fatalf("target of one instance: %q", got)
	}
	f.planErr(t, spec.PlanRequest{Desired: d, Replace: []string{"understudy_role.team"}}, understudy.EINVALID,
		`-replace takes one object, such as -replace='understudy_role.team["a"]'`)
}

// -replace replaces an unchanged role: its accounts are retired and new
// ones made; the JSON plan says replace_by_request and the stream
// "requested".
func TestReplaceRecreatesAnUnchangedRole(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "", "", staging(2)))
	before, err := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{Environment: "staging"})
	if err != nil || len(before) != 2 {
		t.Fatalf("accounts before: %d %v", len(before), err)
	}
	p, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: staging(2), Replace: []string{"understudy_role.seller"}})
	if err != nil {
		t.Fatal(err)
	}
	c := changeOf(t, p, "role.seller")
	if c.Action != spec.Replace || !c.ReplaceRequested || len(c.Effects.Retire) != 2 || c.Effects.Create != 2 ||
		p.Summary != (spec.Summary{Add: 1, Destroy: 1}) || !slices.Equal(p.Replace, []string{"role.seller"}) {
		t.Fatalf("replace: %+v summary %+v replace %q", c, p.Summary, p.Replace)
	}
	if e := changeOf(t, p, "environment.staging"); e.Action != spec.NoOp {
		t.Errorf("environment.staging %s, want no-op", e.Action)
	}
	tf := readTF(t, p)
	for _, rc := range tf.ResourceChanges {
		if rc.Address == "understudy_role.seller" && (string(rc.ActionReason) != "replace_by_request" || !rc.Change.Actions.DestroyBeforeCreate()) {
			t.Errorf("JSON change of understudy_role.seller: %s %v", rc.ActionReason, rc.Change.Actions)
		}
	}
	var requested bool
	for _, m := range uiStream(t, p) {
		if ch, ok := m["change"].(map[string]any); ok && ch["action"] == "replace" {
			requested = ch["reason"] == "requested"
		}
	}
	if !requested {
		t.Error("the UI stream does not say the replace was requested")
	}
	var b bytes.Buffer
	if err := spec.WritePlan(&b, p, spec.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "# role.seller will be replaced, as requested") {
		t.Errorf("plan text:\n%s", b.String())
	}
	out := f.apply(t, p)
	if len(out.Applied) != 1 || out.Applied[0].Action != spec.Replace {
		t.Fatalf("applied %+v", out.Applied)
	}
	after, err := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{Environment: "staging", Role: "seller"})
	if err != nil {
		t.Fatal(err)
	}
	var fresh int
	for _, a := range after {
		if !slices.ContainsFunc(before, func(b accounts.Account) bool { return b.ID == a.ID }) && a.Status != accounts.StatusRetired {
			fresh++
		}
	}
	if fresh != 2 {
		t.Fatalf("%d new accounts after the replace, want 2: %+v", fresh, after)
	}
	if again := f.plan(t, "", "", staging(2)); again.HasChanges() {
		t.Fatalf("plan after the replace: %+v", again.Summary)
	}
}

// -replace of an environment: refused when it has account history or
// holds objects, naming the address; made when it is empty. Refused in a
// destroy or refresh-only plan, for an object the spec does not declare,
// outside the targets and under prevent_destroy.
func TestReplaceIsRefusedWhereItCannotBeMade(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	d := staging(1)
	d.Environments = append(d.Environments, spec.Environment{Address: "environment.empty", Name: "empty", EmailDomains: []string{"qa.example.test"}})
	d.Roles[0].Lifecycle.PreventDestroy = true
	f.apply(t, f.plan(t, "", "", d))

	f.planErr(t, spec.PlanRequest{Desired: d, Replace: []string{"understudy_environment.staging"}}, understudy.ECONFLICT,
		"-replace=understudy_environment.staging: environment staging keeps the history of 1 account(s)")
	f.planErr(t, spec.PlanRequest{Desired: d, Replace: []string{"understudy_role.seller"}}, understudy.ECONFLICT,
		"role.seller has lifecycle.prevent_destroy set, and -replace would replace it")
	f.planErr(t, spec.PlanRequest{Desired: d, Mode: spec.ModeDestroy, Replace: []string{"understudy_role.seller"}}, understudy.EINVALID,
		"-replace cannot be used in a destroy plan")
	f.planErr(t, spec.PlanRequest{Desired: d, Mode: spec.ModeRefreshOnly, Replace: []string{"understudy_role.seller"}}, understudy.EINVALID,
		"-replace cannot be used in a refresh-only plan")
	f.planErr(t, spec.PlanRequest{Desired: d, Replace: []string{"understudy_environment.empty"}, Targets: []string{"understudy_role.seller"}}, understudy.EINVALID,
		"-replace=understudy_environment.empty is outside the objects -target selects")
	gone := d
	gone.Environments = gone.Environments[:1]
	f.planErr(t, spec.PlanRequest{Desired: gone, Replace: []string{"understudy_environment.empty"}}, understudy.EINVALID,
		"the spec does not declare environment.empty")

	p, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: d, Replace: []string{"understudy_environment.empty"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := changeOf(t, p, "environment.empty"); c.Action != spec.Replace || !c.ReplaceRequested {
		t.Fatalf("replace of the empty environment: %+v", c)
	}
	f.apply(t, p)
	if _, err := f.Accounts.GetEnvironment(f.Ctx, "empty"); err != nil {
		t.Fatalf("environment empty after its replace: %v", err)
	}

	// An environment with an app but no account yet holds an object.
	d.Apps = []spec.App{{Address: "app.shop", Environment: "empty", Name: "shop", Provider: "fake"}}
	f.apply(t, f.plan(t, "", "", d))
	f.planErr(t, spec.PlanRequest{Desired: d, Replace: []string{"understudy_environment.empty"}}, understudy.ECONFLICT,
		"environment empty holds app empty/shop")
}

// Applying a refresh-only plan records the drift and changes nothing on
// the server: what it lists are no-ops, and its summary says 0 changed.
func TestApplyingARefreshOnlyPlanChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "", "", staging(2)))
	if _, err := f.Accounts.UpdateRole(f.Ctx, "staging", "seller", accounts.RoleChange{PoolSize: new(3)}); err != nil {
		t.Fatal(err)
	}
	p := f.plan(t, "", spec.ModeRefreshOnly, staging(2))
	if p.Summary != (spec.Summary{}) || !p.HasChanges() {
		t.Fatalf("refresh-only plan summary %+v", p.Summary)
	}
	out := f.apply(t, p)
	if len(out.Applied) != 1 || out.Applied[0].Action != spec.NoOp {
		t.Fatalf("applied %+v, want one no-op", out.Applied)
	}
	var b bytes.Buffer
	if err := spec.WriteApplied(&b, out, spec.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Apply complete! Resources: 0 added, 0 changed, 0 destroyed.") {
		t.Fatalf("refresh-only apply says:\n%s", b.String())
	}
	if r, err := f.Accounts.GetRole(f.Ctx, "staging", "seller"); err != nil || r.PoolSize != 3 {
		t.Fatalf("the role after a refresh-only apply: %+v %v", r, err)
	}
	again := f.plan(t, "", spec.ModeRefreshOnly, staging(2))
	if again.HasChanges() || again.Summary != (spec.Summary{}) {
		t.Fatalf("refresh-only plan after recording: %+v %v", again.Summary, again.Drift)
	}
}
