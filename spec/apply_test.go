package spec_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/spec"
)

func TestAStalePlanIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "", "", staging(2)))
	p := f.plan(t, "", "", staging(3))
	if _, err := f.Accounts.UpdateRole(f.Ctx, "staging", "seller", accounts.RoleChange{Description: new("changed by hand")}); err != nil {
		t.Fatal(err)
	}
	out, err := f.Spec.Apply(f.Ctx, p.ID, spec.ApplyOptions{})
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "stale") {
		t.Fatalf("apply of a stale plan: %v", e)
	}
	if out.Status != spec.StatusPlanned || len(out.Applied) != 0 {
		t.Fatalf("stale plan after the apply: %+v", out)
	}
	if r, _ := f.Accounts.GetRole(f.Ctx, "staging", "seller"); r.PoolSize != 2 {
		t.Fatalf("pool %d after a refused apply, want 2", r.PoolSize)
	}
	// A plan is applied once.
	p = f.plan(t, "", "", staging(3))
	f.apply(t, p)
	_, err = f.Spec.Apply(f.Ctx, p.ID, spec.ApplyOptions{})
	domaintest.WantCode(t, err, understudy.ECONFLICT)
}

func TestPreventDestroyRefusesThePlanNamingTheObject(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	d := staging(1)
	d.Environments[0].Lifecycle.PreventDestroy = true
	f.apply(t, f.plan(t, "", "", d))
	_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Mode: spec.ModeDestroy})
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "environment.staging has lifecycle.prevent_destroy") {
		t.Fatalf("destroy of a protected environment: %v", e)
	}
}

func TestDestroyRemovesWhatTheWorkspaceManagesOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "", "", staging(2)))
	p := f.plan(t, "", spec.ModeDestroy, spec.Desired{})
	want := map[string]spec.Action{"role.seller": spec.Delete, "environment.staging": spec.Forget}
	if got := actions(p); !mapsEqual(got, want) {
		t.Fatalf("destroy plan %v, want %v", got, want)
	}
	if c := changeOf(t, p, "environment.staging"); c.Reason != "environment staging has history (2 accounts ever made): Understudy keeps it and stops managing it" {
		t.Errorf("why the environment stays: %q", c.Reason)
	}
	if c := changeOf(t, p, "role.seller"); len(c.Effects.Retire) != 2 {
		t.Errorf("role.seller retires %v", c.Effects.Retire)
	}
	f.apply(t, p)
	if _, err := f.Accounts.GetRole(f.Ctx, "staging", "seller"); understudy.ErrorCode(err) != understudy.ENOTFOUND {
		t.Fatalf("role after destroy: %v", err)
	}
	if _, err := f.Accounts.GetRole(f.Ctx, "production", "buyer"); err != nil {
		t.Fatalf("an unmanaged role was touched: %v", err)
	}
	w, err := f.Spec.Workspace(f.Ctx, spec.DefaultWorkspace)
	if err != nil || w.Objects != 0 || w.Lock != nil || w.LastAppliedAt == nil {
		t.Fatalf("workspace after destroy: %+v %v", w, err)
	}
}

func TestRefreshOnlyReportsDriftAndRecordsIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "", "", staging(2)))
	if _, err := f.Accounts.UpdateRole(f.Ctx, "staging", "seller", accounts.RoleChange{PoolSize: new(3)}); err != nil {
		t.Fatal(err)
	}
	p := f.plan(t, "", spec.ModeRefreshOnly, staging(2))
	if len(p.Changes) != 0 || len(p.Drift) != 1 || !p.HasChanges() {
		t.Fatalf("refresh-only plan: changes %v drift %v", p.Changes, p.Drift)
	}
	d := p.Drift[0]
	if d.Address != "role.seller" || d.Action != spec.Update || len(d.Attributes) != 1 ||
		d.Attributes[0].Name != "pool_size" || d.Attributes[0].Before != float64(2) || d.Attributes[0].After != float64(3) {
		t.Fatalf("drift %+v", d)
	}
	normal := f.plan(t, "", "", staging(2))
	if c := changeOf(t, normal, "role.seller"); c.Action != spec.Update || len(normal.Drift) != 1 {
		t.Fatalf("a normal plan undoes the drift: %+v, drift %v", c, normal.Drift)
	}
	f.apply(t, p)
	if again := f.plan(t, "", spec.ModeRefreshOnly, staging(2)); len(again.Drift) != 0 {
		t.Fatalf("drift after recording it: %v", again.Drift)
	}
}

func TestBadAttributesAreNamedByAddress(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	d := staging(0)
	d.Environments[0].EmailDomains = []string{"gmail.com"}
	d.Apps = []spec.App{{Address: "app.shop", Environment: "staging", Name: "shop", Provider: "nosuch"}}
	_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: d})
	e := domaintest.WantCode(t, err, understudy.EINVALID)
	var fields []string
	for _, fe := range e.Fields {
		fields = append(fields, fe.Field)
	}
	for _, want := range []string{"environment.staging.email_domains", "role.seller.pool_size", "app.shop.provider"} {
		if !slices.Contains(fields, want) {
			t.Errorf("fields %v lack %s", fields, want)
		}
	}
	d = staging(100000)
	_, err = f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: d})
	if e := domaintest.WantCode(t, err, understudy.EINVALID); len(e.Fields) != 1 || e.Fields[0].Field != "role.seller.pool_size" {
		t.Fatalf("pool of 100000: %+v", e.Fields)
	}
}

func TestALockedWorkspaceRefusesAnApplyNamingTheHolder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	if _, err := f.Spec.LockWorkspace(f.Ctx, "default", "alice", "migrating chirp"); err != nil {
		t.Fatal(err)
	}
	p := f.plan(t, "", "", staging(1))
	_, err := f.Spec.Apply(f.Ctx, p.ID, spec.ApplyOptions{})
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "locked by alice") || !strings.Contains(e.Message, "migrating chirp") {
		t.Fatalf("apply on a locked workspace: %v", e)
	}
	if _, err := f.Spec.LockWorkspace(f.Ctx, "default", "bob", "me too"); understudy.ErrorCode(err) != understudy.ECONFLICT {
		t.Fatalf("a second lock: %v", err)
	}
	w, err := f.Spec.UnlockWorkspace(f.Ctx, "default")
	if err != nil || w.Lock != nil {
		t.Fatalf("unlock: %+v %v", w, err)
	}
	f.apply(t, p)
}

func mapsEqual(a, b map[string]spec.Action) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// An apply runs under its caller's context: cancelled part-way, it makes
// no further change, ends the plan failed and frees the workspace.
func TestAnApplyStopsWithItsCallersContext(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	d := staging(100)
	for _, name := range []string{"b", "c", "d"} {
		d.Roles = append(d.Roles, spec.Role{Address: "role." + name, Environment: "staging", Name: name, PoolSize: new(100)})
	}
	p := f.plan(t, "", "", d)
	// Another transaction holds the roles table against inserts, so the
	// apply makes its first change (the environment) and then waits on the
	// first role until its caller's context ends: part-way, however fast
	// the machine.
	blocker, err := f.DB.Begin(f.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = blocker.Rollback(f.Ctx) }()
	if _, err := blocker.Exec(f.Ctx, `LOCK TABLE roles IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.Ctx, time.Second)
	defer cancel()
	out, err := f.Spec.Apply(ctx, p.ID, spec.ApplyOptions{})
	if err := blocker.Rollback(f.Ctx); err != nil {
		t.Fatal(err)
	}
	if err == nil || len(out.Applied) == len(p.Changes) {
		t.Fatalf("a cancelled apply made all %d changes (err %v)", len(out.Applied), err)
	}
	if got, _ := f.Spec.GetPlan(f.Ctx, p.ID); got.Status == spec.StatusApplied || got.Status == spec.StatusApplying {
		t.Fatalf("plan status %s after a cancelled apply", got.Status)
	}
	if w, err := f.Spec.Workspace(f.Ctx, spec.DefaultWorkspace); err == nil && w.Lock != nil {
		t.Fatalf("the workspace stays locked: %+v", w.Lock)
	}
}
