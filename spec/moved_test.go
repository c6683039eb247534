package spec_test

import (
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/spec"
)

// Renaming a block's label keeps its object when a moved block says so:
// the plan moves it in place (updating what changed), the apply records
// the new address, and the next plan is clean.
func TestAMovedBlockRenamesTheManagedObjectInPlace(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "", "", staging(2)))

	renamed := staging(2)
	renamed.Roles[0].Address = "role.gold_seller"
	// Without a moved block the same workspace's object is refused, with
	// a message that says so and how to rename it.
	_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: renamed})
	e := domaintest.WantCode(t, err, understudy.ECONFLICT)
	if !strings.Contains(e.Message, "role staging/seller is managed by this workspace at role.seller, and declared at role.gold_seller") ||
		!strings.Contains(e.Message, "moved { from = role.seller  to = role.gold_seller }") || strings.Contains(e.Message, "workspace \"default\"") {
		t.Fatalf("rename without moved: %v", e)
	}

	renamed.Moved = []spec.Moved{{From: "role.seller", To: "role.gold_seller"}}
	p := f.plan(t, "", "", renamed)
	c := changeOf(t, p, "role.gold_seller")
	if c.Action != spec.NoOp || c.PreviousAddress != "role.seller" || !p.HasChanges() || p.Summary != (spec.Summary{}) {
		t.Fatalf("moved change %+v, summary %+v: want a no-op moved from role.seller", c, p.Summary)
	}
	if got := actions(p); len(got) != 2 || got["role.seller"] != "" {
		t.Fatalf("actions %v: want role.seller neither deleted nor created", got)
	}
	var b strings.Builder
	if err := spec.WritePlan(&b, p, spec.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "# role.seller has moved to role.gold_seller") {
		t.Errorf("plan text:\n%s", b.String())
	}
	out := f.apply(t, p)
	if len(out.Applied) != 1 || out.Applied[0].Address != "role.gold_seller" {
		t.Fatalf("applied %+v", out.Applied)
	}
	if again := f.plan(t, "", "", renamed); again.HasChanges() {
		t.Fatalf("plan after the move: %+v %+v", again.Summary, again.Changes)
	}

	// A move with a change: the attributes are updated in place at the
	// new address; the moved block left in the spec is ignored once
	// applied.
	pool := 3
	next := staging(3)
	next.Roles[0].Address = `role.sellers["gold"]`
	next.Roles[0].PoolSize = &pool
	next.Moved = []spec.Moved{{From: "role.seller", To: "role.gold_seller"}, {From: "role.gold_seller", To: `role.sellers["gold"]`}}
	p = f.plan(t, "", "", next)
	c = changeOf(t, p, `role.sellers["gold"]`)
	if c.Action != spec.Update || c.PreviousAddress != "role.gold_seller" || p.Summary != (spec.Summary{Change: 1}) {
		t.Fatalf("moved and updated %+v, summary %+v", c, p.Summary)
	}
	b.Reset()
	if err := spec.WritePlan(&b, p, spec.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if s := b.String(); !strings.Contains(s, `# role.sellers["gold"] will be updated in-place`) || !strings.Contains(s, "# (moved from role.gold_seller)") {
		t.Errorf("plan text:\n%s", s)
	}
	f.apply(t, p)
	if again := f.plan(t, "", "", next); again.HasChanges() {
		t.Fatalf("plan after the second move: %+v %+v", again.Summary, again.Changes)
	}
	if r, err := f.Accounts.GetRole(f.Ctx, "staging", "seller"); err != nil || r.PoolSize != 3 {
		t.Fatalf("role after the moves: %+v %v", r, err)
	}
}

func TestMovedBlocksAreChecked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	d := staging(1)
	for moved, want := range map[spec.Moved]string{
		{From: "role.old", To: "environment.staging"}:  "an object keeps its kind",
		{From: "role.seller", To: "role.seller"}:       "to itself",
		{From: "role.old", To: "role.nobody"}:          "no block declares that address",
		{From: "role.old[x]", To: "role.seller"}:       "is not an address",
		{From: "environment.staging", To: "role.gone"}: "an object keeps its kind",
	} {
		d.Moved = []spec.Moved{moved}
		_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: d})
		if e := domaintest.WantCode(t, err, understudy.EINVALID); !strings.Contains(mustJSON(t, e.Fields), want) {
			t.Errorf("moved %+v: %v, want %q", moved, e, want)
		}
	}
}

// A moved block whose block also changes the name (the label it
// defaults to) cannot keep the object: the plan replaces it, and says how
// to keep it.
func TestAMoveThatRenamesTheObjectSaysHowToKeepIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "", "", staging(1)))
	d := staging(1)
	d.Roles[0].Address, d.Roles[0].Name = "role.gold_seller", "gold"
	d.Moved = []spec.Moved{{From: "role.seller", To: "role.gold_seller"}}
	p := f.plan(t, "", "", d)
	c := changeOf(t, p, "role.gold_seller")
	if c.Action != spec.Replace || c.PreviousAddress != "role.seller" || !strings.Contains(c.Reason, `set name = "seller" in the block to keep it`) {
		t.Fatalf("change %+v", c)
	}
	f.apply(t, p)
	if again := f.plan(t, "", "", d); again.HasChanges() {
		t.Fatalf("plan after the replacing move: %+v %+v", again.Summary, again.Changes)
	}
	if _, err := f.Accounts.GetRole(f.Ctx, "staging", "gold"); err != nil {
		t.Fatalf("the new role: %v", err)
	}
	if _, err := f.Accounts.GetRole(f.Ctx, "staging", "seller"); understudy.ErrorCode(err) != understudy.ENOTFOUND {
		t.Fatalf("the old role after its replacement: %v", err)
	}
}
