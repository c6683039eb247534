package spec_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/snapshot"
	"github.com/understudy-dev/understudy/spec"
)

// production declares the stack's own environment and role, adopted by
// import blocks.
func prodSpec(pool int, imports bool) spec.Desired {
	d := spec.Desired{
		Environments: []spec.Environment{{Address: "environment.production", Name: "production", EmailDomains: []string{"qa.example.test"}}},
		Roles:        []spec.Role{{Address: "role.buyer", Environment: "production", Name: "buyer", PoolSize: &pool}},
	}
	if imports {
		d.Imports = []spec.Import{{To: "environment.production", ID: "production"}, {To: "role.buyer", ID: "production/buyer"}}
	}
	return d
}

func TestAnExistingObjectIsAdoptedOnlyByImport(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: prodSpec(2, false)})
	e := domaintest.WantCode(t, err, understudy.ECONFLICT)
	if !strings.Contains(e.Message, `import { to = environment.production  id = "production" }`) {
		t.Fatalf("message %q does not say how to import", e.Message)
	}
	p := f.plan(t, "", "", prodSpec(2, true))
	if c := changeOf(t, p, "role.buyer"); !c.Importing || c.Action != spec.NoOp {
		t.Fatalf("role.buyer: %+v", c)
	}
	if p.Summary != (spec.Summary{Import: 2}) {
		t.Fatalf("summary %+v", p.Summary)
	}
	f.apply(t, p)
	if again := f.plan(t, "", "", prodSpec(2, false)); again.HasChanges() {
		t.Fatalf("after the import: %+v", again.Summary)
	}
	other, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Workspace: "other", Desired: prodSpec(2, true)})
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, `managed by workspace "default"`) {
		t.Fatalf("another workspace: %v (%+v)", e, other)
	}
}

func TestLoweringAPoolNamesTheAccountsItRetiresAndNeverRetiresALeasedOne(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	f.apply(t, f.plan(t, "", "", prodSpec(3, true)))
	var grants []lease.Grant
	for i := range 3 {
		grants = append(grants, f.Lease(t, "ci run "+string(rune('a'+i))))
	}
	p := f.plan(t, "", "", prodSpec(1, false))
	c := changeOf(t, p, "role.buyer")
	if c.Action != spec.Update || len(c.Effects.Retire) != 2 {
		t.Fatalf("role.buyer %s retires %+v", c.Action, c.Effects.Retire)
	}
	for _, r := range c.Effects.Retire {
		if r.Slot < 2 || r.LeasedBy == "" || r.LeaseExpiresAt == nil {
			t.Errorf("retired %+v: want slots 2-3, each marked leased", r)
		}
	}
	out, err := f.Spec.Apply(f.Ctx, p.ID, spec.ApplyOptions{})
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "leased by") || !errors.Is(err, accounts.ErrLeased) {
		t.Fatalf("apply with leased accounts: %v", err)
	}
	if out.Status != spec.StatusFailed || len(out.Applied) != 0 || !strings.Contains(out.ApplyError, "wait-leases") {
		t.Fatalf("failed apply: %+v", out)
	}
	if members, _ := f.Accounts.Reconciler().Members(f.Ctx, "production", "buyer"); len(members) != 3 {
		t.Fatalf("%d active accounts after a refused apply, want 3", len(members))
	}
	// The apply waits for the leases to end.
	p = f.plan(t, "", "", prodSpec(1, false))
	go func() {
		time.Sleep(200 * time.Millisecond)
		for _, g := range grants {
			_, _ = f.Leases.Release(f.Ctx, g.Lease.ID, false)
		}
	}()
	if out, err = f.Spec.Apply(f.Ctx, p.ID, spec.ApplyOptions{WaitLeases: 10 * time.Second}); err != nil {
		t.Fatalf("apply waiting for leases: %v", err)
	}
	if members, _ := f.Accounts.Reconciler().Members(f.Ctx, "production", "buyer"); len(members) != 1 || members[0].Slot != 1 {
		t.Fatalf("members after the apply: %+v", members)
	}
}

func TestChangingAttributesRenewsTheAccounts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "", "", staging(2)))
	before, _ := f.Accounts.Reconciler().Members(f.Ctx, "staging", "seller")
	d := staging(2)
	d.Roles[0].Attributes = map[string]string{"tier": "platinum"}
	p := f.plan(t, "", "", d)
	c := changeOf(t, p, "role.seller")
	if len(c.Effects.Reprovision) != 2 || len(c.Attributes) != 1 || c.Attributes[0].Name != "attributes" {
		t.Fatalf("role.seller: %+v", c)
	}
	f.apply(t, p)
	after, _ := f.Accounts.Reconciler().Members(f.Ctx, "staging", "seller")
	if len(after) != 2 || after[0].ID == before[0].ID || after[1].ID == before[1].ID {
		t.Fatalf("accounts before %v after %v: want two new ones", before, after)
	}
}

func TestRemovingAnAppShowsTheRefsItDrops(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	d := prodSpec(2, true)
	d.Apps = []spec.App{{Address: "app.chirp", Environment: "production", Name: "chirp", Provider: "fake", Secrets: map[string]string{"token": "hunter2-hunter2"}}}
	d.Imports = append(d.Imports, spec.Import{To: "app.chirp", ID: "production/chirp"})
	p := f.plan(t, "", "", d)
	if c := changeOf(t, p, "app.chirp"); c.Action != spec.NoOp || !c.Importing {
		t.Fatalf("app.chirp with the same secret: %+v", c)
	}
	f.apply(t, p)
	p = f.plan(t, "", "", prodSpec(2, false))
	c := changeOf(t, p, "app.chirp")
	if c.Action != spec.Delete || len(c.Effects.Deprovision) != 2 || c.Effects.Deprovision[0].App != "chirp" || c.Effects.Deprovision[0].Ref == "" {
		t.Fatalf("app.chirp: %+v", c)
	}
}

func TestAChangedSecretIsShownWithoutItsValue(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	d := prodSpec(1, true)
	d.Apps = []spec.App{{Address: "app.chirp", Environment: "production", Name: "chirp", Provider: "fake", Secrets: map[string]string{"token": "a-new-secret-value"}}}
	d.Imports = append(d.Imports, spec.Import{To: "app.chirp", ID: "production/chirp"})
	p := f.plan(t, "", "", d)
	c := changeOf(t, p, "app.chirp")
	if c.Action != spec.Update || len(c.Attributes) != 1 || c.Attributes[0] != (spec.AttributeChange{Name: "secrets.token", Before: spec.SensitiveValue, After: spec.SensitiveValue, Sensitive: true}) {
		t.Fatalf("app.chirp: %+v", c)
	}
	stored, _ := f.Spec.GetPlan(f.Ctx, p.ID)
	if b := mustJSON(t, stored); strings.Contains(b, "a-new-secret-value") || strings.Contains(b, "hunter2") {
		t.Fatal("the plan holds a secret's value")
	}
	f.apply(t, p)
	if again := f.plan(t, "", "", d); again.HasChanges() {
		t.Fatalf("after the apply: %+v", again.Changes)
	}
}

func TestADomainStillInUseCannotBeRemoved(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	kr, _ := secret.NewKeyring(make([]byte, secret.KeySize))
	sched, err := snapshot.NewScheduler(nil)
	if err != nil {
		t.Fatal(err)
	}
	both, err := accounts.New(accounts.Config{DB: f.DB, OpenLeases: lease.OpenLeases, Keyring: kr, EmailDomains: []string{"qa.example.test", "other.example.test"}, Provisioning: sched})
	if err != nil {
		t.Fatal(err)
	}
	bothApps, err := apps.New(apps.Config{DB: f.DB, Keyring: kr, Accounts: both, Provisioning: sched})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bothApps.Close)
	if f.Spec, err = spec.New(spec.Config{DB: f.DB.(*pgxpool.Pool), Keyring: kr, Accounts: both, Apps: bothApps}); err != nil {
		t.Fatal(err)
	}
	f.apply(t, f.plan(t, "", "", prodSpec(2, true)))
	d := prodSpec(2, false)
	d.Environments[0].EmailDomains = []string{"other.example.test"}
	_, err = f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: d})
	e := domaintest.WantCode(t, err, understudy.ECONFLICT)
	if !strings.Contains(e.Message, "2 active account(s)") || !strings.Contains(e.Message, "@qa.example.test") ||
		len(e.Fields) != 1 || e.Fields[0].Field != "environment.production.email_domains" {
		t.Fatalf("%+v", e)
	}
}

// Destroying an environment whose accounts were leased forgets it, and
// the plan says why, counting its accounts and leases.
func TestDestroyingAnEnvironmentWithHistorySaysWhyItIsForgotten(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	f.apply(t, f.plan(t, "", "", prodSpec(2, true)))
	for _, holder := range []string{"ci run 1", "ci run 2", "ci run 3"} {
		g := f.Lease(t, holder)
		if _, err := f.Leases.Release(f.Ctx, g.Lease.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	p := f.plan(t, "", spec.ModeDestroy, spec.Desired{})
	env := changeOf(t, p, "environment.production")
	want := "environment production has history (2 accounts ever made): Understudy keeps it and stops managing it"
	if env.Action != spec.Forget || env.Reason != want {
		t.Fatalf("environment.production: %s, %q; want a forget saying %q", env.Action, env.Reason, want)
	}
	var out strings.Builder
	if err := spec.WritePlan(&out, p, spec.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "  # environment.production will no longer be managed by Understudy; it stays on the server\n  # ("+want+")\n") {
		t.Errorf("the plan does not say why the environment is forgotten:\n%s", out.String())
	}
	f.apply(t, p)
	if _, err := f.Accounts.GetEnvironment(f.Ctx, "production"); err != nil {
		t.Errorf("the forgotten environment: %v", err)
	}
}

// A plan for the default workspace whose objects another workspace
// manages says to pass -workspace with that workspace's name; a plan
// that names its workspace is not told so.
func TestConflictWithAnotherWorkspaceNamesTheWorkspaceToPass(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "ops", "", prodSpec(1, true)))
	_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: prodSpec(1, false)})
	e := domaintest.WantCode(t, err, understudy.ECONFLICT)
	hint := `this plan is for workspace "default"; if the spec belongs to workspace "ops", which manages these objects, pass -workspace ops`
	if !strings.Contains(e.Message, `managed by workspace "ops"`) || !strings.HasSuffix(e.Message, hint) || strings.Count(e.Message, "-workspace") != 1 {
		t.Errorf("conflict in the default workspace: %q; want it to end %q, once", e.Message, hint)
	}
	// Each object is named, and the rule they break is said once.
	if n := strings.Count(e.Message, `managed by workspace "ops"`); n < 2 || strings.Count(e.Message, "from one workspace only") != 1 {
		t.Errorf("conflict of %d objects: %q; want the rule said once", n, e.Message)
	}
	_, err = f.Spec.Plan(f.Ctx, spec.PlanRequest{Workspace: "team-a", Desired: prodSpec(1, false)})
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); strings.Contains(e.Message, "-workspace") {
		t.Errorf("conflict in a named workspace suggests -workspace: %q", e.Message)
	}

	staging := staging(1)
	f.apply(t, f.plan(t, "team-a", "", staging))
	both := prodSpec(1, false)
	both.Environments = append(both.Environments, staging.Environments...)
	_, err = f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: both})
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.HasSuffix(e.Message,
		"one of the workspaces that manage these objects (ops, team-a), pass -workspace NAME with its name") {
		t.Errorf("conflict with two workspaces: %q", e.Message)
	}
}
