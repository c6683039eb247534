package spec_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/spec"
)

// flowFixture is fixture with a spec service that declares flows.
type flowFixture struct {
	fixture
	Flows *run.Flows
}

func newFlowFixture(t *testing.T) flowFixture {
	t.Helper()
	f := newFixture(t, 1)
	flows, err := run.NewFlows(run.FlowsConfig{DB: f.DB})
	if err != nil {
		t.Fatal(err)
	}
	kr, _ := secret.NewKeyring(make([]byte, secret.KeySize))
	f.Spec, err = spec.New(spec.Config{DB: f.DB.(*pgxpool.Pool), Keyring: kr, Accounts: f.Accounts, Apps: f.Apps, Flows: flows, LeasePoll: 20_000_000})
	if err != nil {
		t.Fatal(err)
	}
	return flowFixture{fixture: f, Flows: flows}
}

// checkout is a spec of flow checkout of production, run by the buyer
// role the fixture made outside the spec, every every.
func checkout(every string) spec.Desired {
	return spec.Desired{Flows: []spec.Flow{{Address: "flow.checkout", Environment: "production", Name: "checkout", Role: "buyer", Every: every}}}
}

// wantNoChanges fails the test unless p changes nothing.
func wantNoChanges(t *testing.T, p spec.Plan) {
	t.Helper()
	if p.Summary != (spec.Summary{}) || len(p.Drift) != 0 {
		t.Fatalf("plan changes %+v (drift %v), want nothing", p.Summary, p.Drift)
	}
	for _, c := range p.Changes {
		if c.Action != spec.NoOp {
			t.Fatalf("plan %v, want only no-ops", actions(p))
		}
	}
}

func TestPlanAddsChangesAndDestroysAFlow(t *testing.T) {
	t.Parallel()
	f := newFlowFixture(t)

	p := f.plan(t, "", "", checkout("15m"))
	if c := changeOf(t, p, "flow.checkout"); c.Action != spec.Create || c.Kind != spec.KindFlow || c.ID != "production/checkout" ||
		c.After["every"] != "15m" || c.After["role"] != "buyer" || p.Summary.Add != 1 {
		t.Fatalf("create plan: %+v, summary %+v", c, p.Summary)
	}
	f.apply(t, p)
	got, err := f.Flows.Get(f.Ctx, "production", "checkout")
	if err != nil || got.Role != "buyer" || got.EverySeconds != 900 {
		t.Fatalf("the flow after apply: %+v, %v", got, err)
	}
	// Applied, the spec plans nothing, however its cadence is written.
	wantNoChanges(t, f.plan(t, "", "", checkout("15m")))
	wantNoChanges(t, f.plan(t, "", "", checkout("900s")))

	p = f.plan(t, "", "", checkout("5m"))
	c := changeOf(t, p, "flow.checkout")
	if c.Action != spec.Update || len(c.Attributes) != 1 || c.Attributes[0].Name != "every" || c.Attributes[0].Before != "15m" || c.Attributes[0].After != "5m" {
		t.Fatalf("update plan: %+v", c)
	}
	f.apply(t, p)
	if got, _ := f.Flows.Get(f.Ctx, "production", "checkout"); got.Every != "5m" {
		t.Fatalf("every after the update: %q", got.Every)
	}
	wantNoChanges(t, f.plan(t, "", "", checkout("5m")))

	p = f.plan(t, "", "", spec.Desired{})
	if c := changeOf(t, p, "flow.checkout"); c.Action != spec.Delete || p.Summary.Destroy != 1 {
		t.Fatalf("destroy plan: %+v", c)
	}
	f.apply(t, p)
	_, err = f.Flows.Get(f.Ctx, "production", "checkout")
	domaintest.WantCode(t, err, understudy.ENOTFOUND)
	wantNoChanges(t, f.plan(t, "", "", spec.Desired{}))
}

func TestAFlowAndItsRoleAreCreatedAndDestroyedInOrder(t *testing.T) {
	t.Parallel()
	f := newFlowFixture(t)
	d := staging(1)
	d.Flows = []spec.Flow{{Address: "flow.sell", Environment: "staging", Name: "sell", Role: "seller", Every: "1h"}}
	p := f.plan(t, "", "", d)
	var order []string
	for _, c := range p.Changes {
		order = append(order, c.Address)
	}
	if !slices.Equal(order, []string{"environment.staging", "role.seller", "flow.sell"}) {
		t.Fatalf("creates in the order %v, want the environment, the role, then the flow", order)
	}
	f.apply(t, p)
	wantNoChanges(t, f.plan(t, "", "", d))

	p = f.plan(t, "", spec.ModeDestroy, spec.Desired{})
	order = order[:0]
	for _, c := range p.Changes {
		order = append(order, c.Address)
	}
	if !slices.Equal(order, []string{"flow.sell", "role.seller", "environment.staging"}) {
		t.Fatalf("destroys in the order %v, want the flow first", order)
	}
	f.apply(t, p)
	if list, err := f.Flows.List(f.Ctx, "staging"); err != nil || len(list) != 0 {
		t.Fatalf("staging's flows after destroy: %+v, %v", list, err)
	}
}

func TestAFlowIsCheckedWhereTheApplyWouldFail(t *testing.T) {
	t.Parallel()
	f := newFlowFixture(t)
	for _, c := range []struct {
		name  string
		flow  spec.Flow
		field string
		says  string
	}{
		{"an unknown role", spec.Flow{Role: "seller", Every: "15m"}, "flow.checkout.role", "neither declared in the spec nor on the server"},
		{"no role", spec.Flow{Every: "15m"}, "flow.checkout.role", "is required"},
		{"a bad cadence", spec.Flow{Role: "buyer", Every: "often"}, "flow.checkout.every", "not a duration"},
		{"too often", spec.Flow{Role: "buyer", Every: "30s"}, "flow.checkout.every", "from 1m to 7d"},
		{"a bad name", spec.Flow{Name: "Check Out", Role: "buyer", Every: "15m"}, "flow.checkout.name", "lower-case"},
		{"an unknown environment", spec.Flow{Environment: "nowhere", Role: "buyer", Every: "15m"}, "flow.checkout.environment", "neither declared"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fl := c.flow
			fl.Address, fl.Environment, fl.Name = "flow.checkout", cmpOr(fl.Environment, "production"), cmpOr(fl.Name, "checkout")
			_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: spec.Desired{Flows: []spec.Flow{fl}}})
			wantField(t, err, c.field, c.says)
		})
	}

	// A plan that deletes the role a declared flow runs with is refused.
	d := staging(1)
	d.Flows = []spec.Flow{{Address: "flow.sell", Environment: "staging", Name: "sell", Role: "seller", Every: "1h"}}
	f.apply(t, f.plan(t, "", "", d))
	d.Roles = nil
	_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: d})
	wantField(t, err, "flow.sell.role", "this plan deletes role seller")

	// A server without flows refuses flow blocks.
	plain := newFixture(t, 1)
	_, err = plain.Spec.Plan(plain.Ctx, spec.PlanRequest{Desired: checkout("15m")})
	wantField(t, err, "flow.checkout", "declares no flows")
}

func TestAFlowChangedOutsideTheSpecIsDriftAndCanBeImported(t *testing.T) {
	t.Parallel()
	f := newFlowFixture(t)
	if _, _, err := f.Flows.Put(f.Ctx, "production", "checkout", run.FlowChange{Role: "buyer", Every: "1h"}); err != nil {
		t.Fatal(err)
	}
	// Unmanaged, it is refused until imported.
	_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: checkout("15m")})
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, `import { to = flow.checkout  id = "production/checkout" }`) {
		t.Fatalf("an unmanaged flow: %v", e)
	}
	d := checkout("15m")
	d.Imports = []spec.Import{{To: "flow.checkout", ID: "production/checkout"}}
	p := f.plan(t, "", "", d)
	if c := changeOf(t, p, "flow.checkout"); !c.Importing || c.Action != spec.Update || p.Summary.Import != 1 {
		t.Fatalf("import plan: %+v", c)
	}
	f.apply(t, p)

	if _, _, err := f.Flows.Put(f.Ctx, "production", "checkout", run.FlowChange{Role: "buyer", Every: "2h"}); err != nil {
		t.Fatal(err)
	}
	p = f.plan(t, "", "", checkout("15m"))
	if len(p.Drift) != 1 || p.Drift[0].Address != "flow.checkout" || p.Drift[0].After["every"] != "2h" {
		t.Fatalf("drift = %+v, want flow.checkout's every 2h", p.Drift)
	}
	if c := changeOf(t, p, "flow.checkout"); c.Action != spec.Update || c.Before["every"] != "2h" || c.After["every"] != "15m" {
		t.Fatalf("the plan back to the spec: %+v", c)
	}
}

// wantField fails the test unless err is EINVALID naming field with a
// detail that says says.
func wantField(t *testing.T, err error, field, says string) {
	t.Helper()
	e, ok := errors.AsType[*understudy.Error](err)
	if !ok || e.Code != understudy.EINVALID {
		t.Fatalf("error = %v, want %s naming %s", err, understudy.EINVALID, field)
	}
	for _, fe := range e.Fields {
		if fe.Field == field && strings.Contains(fe.Detail, says) {
			return
		}
	}
	t.Fatalf("fields = %+v, want %s saying %q", e.Fields, field, says)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
