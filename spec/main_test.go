package spec_test

import (
	"encoding/json"
	"testing"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/spec"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fixture is the domain stack (environment production with app chirp and
// role buyer, none managed by a spec) and a spec service on its own
// database.
type fixture struct {
	domaintest.Stack
	Spec *spec.Service
}

func newFixture(t *testing.T, pool int) fixture {
	t.Helper()
	db := dbtest.NewPool(t)
	st := domaintest.New(t, db, pool)
	st.Ctx = access.WithCaller(st.Ctx, access.Caller{Actor: "admin-1", Scope: access.ScopeAdmin})
	kr, _ := secret.NewKeyring(make([]byte, secret.KeySize))
	s, err := spec.New(spec.Config{DB: db, Keyring: kr, Accounts: st.Accounts, Apps: st.Apps, LeasePoll: 20_000_000})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{Stack: st, Spec: s}
}

func (f fixture) plan(t *testing.T, ws, mode string, d spec.Desired) spec.Plan {
	t.Helper()
	p, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Workspace: ws, Mode: mode, Desired: d})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

func (f fixture) apply(t *testing.T, p spec.Plan) spec.Plan {
	t.Helper()
	out, err := f.Spec.Apply(f.Ctx, p.ID, spec.ApplyOptions{})
	if err != nil {
		t.Fatalf("apply: %v (applied %v)", err, out.Applied)
	}
	return out
}

// actions maps each change's address to its action.
func actions(p spec.Plan) map[string]spec.Action {
	out := map[string]spec.Action{}
	for _, c := range p.Changes {
		out[c.Address] = c.Action
	}
	return out
}

func changeOf(t *testing.T, p spec.Plan, address string) spec.Change {
	t.Helper()
	for _, c := range p.Changes {
		if c.Address == address {
			return c
		}
	}
	b, _ := json.MarshalIndent(p.Changes, "", " ")
	t.Fatalf("no change of %s in %s", address, b)
	return spec.Change{}
}

func staging(pool int) spec.Desired {
	return spec.Desired{
		Environments: []spec.Environment{{Address: "environment.staging", Name: "staging", EmailDomains: []string{"qa.example.test"}}},
		Roles:        []spec.Role{{Address: "role.seller", Environment: "staging", Name: "seller", PoolSize: &pool, Attributes: map[string]string{"tier": "gold"}}},
	}
}
