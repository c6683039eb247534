package run_test

import (
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/run"
)

func TestPutFlowCreatesChangesAndAudits(t *testing.T) {
	t.Parallel()
	f := newRunFixture(t)
	fl, created, err := f.flows.Put(f.ctx, "production", "checkout", run.FlowChange{Role: "buyer", Every: "15m"})
	if err != nil || !created {
		t.Fatalf("put: created %v, %v", created, err)
	}
	if fl.Environment != "production" || fl.Name != "checkout" || fl.Role != "buyer" || fl.Every != "15m" || fl.EverySeconds != 900 ||
		!fl.CreatedAt.Equal(deployNow) || fl.ID == "" {
		t.Fatalf("flow = %+v", fl)
	}
	// The same again changes nothing and audits nothing.
	same, created, err := f.flows.Put(f.ctx, "production", "checkout", run.FlowChange{Role: "buyer", Every: "900s"})
	if err != nil || created || same != fl {
		t.Fatalf("the same again: %+v created %v, %v; want %+v", same, created, err, fl)
	}
	if _, err := f.accounts.CreateRole(f.ctx, "production", "seller", accounts.RoleChange{}); err != nil {
		t.Fatal(err)
	}
	changed, created, err := f.flows.Put(f.ctx, "production", "checkout", run.FlowChange{Role: "seller", Every: "1h30m"})
	if err != nil || created || changed.ID != fl.ID || changed.Role != "seller" || changed.Every != "1h30m" || changed.EverySeconds != 5400 {
		t.Fatalf("changed: %+v created %v, %v", changed, created, err)
	}
	if ev := f.audit(t, "flow.create"); len(ev) != 1 || ev[0].TargetID != fl.ID || ev[0].Details["every"] != "15m" {
		t.Errorf("flow.create events = %+v", ev)
	}
	ev := f.audit(t, "flow.update")
	if len(ev) != 1 {
		t.Fatalf("flow.update events = %+v, want one", ev)
	}
	before, _ := ev[0].Details["before"].(map[string]any)
	after, _ := ev[0].Details["after"].(map[string]any)
	if before["role"] != "buyer" || after["role"] != "seller" || after["every"] != "1h30m" {
		t.Errorf("flow.update details = %+v", ev[0].Details)
	}

	got, err := f.flows.Get(f.ctx, "production", "checkout")
	if err != nil || got != changed {
		t.Errorf("get = %+v, %v; want %+v", got, err, changed)
	}
}

func TestCreateUpdateListAndDeleteFlows(t *testing.T) {
	t.Parallel()
	f := newRunFixture(t)
	if _, err := f.flows.Create(f.ctx, "production", "sign-up", run.FlowChange{Role: "buyer", Every: "1d"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.flows.Create(f.ctx, "production", "checkout", run.FlowChange{Role: "buyer", Every: "5m"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.flows.Create(f.ctx, "production", "checkout", run.FlowChange{Role: "buyer", Every: "5m"})
	wantCode(t, err, understudy.ECONFLICT)
	_, err = f.flows.Update(f.ctx, "production", "search", run.FlowChange{Role: "buyer", Every: "5m"})
	wantCode(t, err, understudy.ENOTFOUND)
	if fl, err := f.flows.Update(f.ctx, "production", "checkout", run.FlowChange{Role: "buyer", Every: "10m"}); err != nil || fl.Every != "10m" {
		t.Fatalf("update: %+v, %v", fl, err)
	}

	list, err := f.flows.List(f.ctx, "production")
	if err != nil || len(list) != 2 || list[0].Name != "checkout" || list[1].Name != "sign-up" || list[1].Every != "1d" {
		t.Fatalf("list = %+v, %v; want checkout, sign-up", list, err)
	}
	if list, err := f.flows.List(f.ctx, "staging"); err != nil || len(list) != 0 {
		t.Fatalf("staging's flows = %+v, %v; want none", list, err)
	}
	all, err := f.flows.All(f.ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("all = %+v, %v", all, err)
	}

	if err := f.flows.Delete(f.ctx, "production", "checkout"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.flows.Delete(f.ctx, "production", "checkout"), understudy.ENOTFOUND)
	_, err = f.flows.Get(f.ctx, "production", "checkout")
	wantCode(t, err, understudy.ENOTFOUND)
	if ev := f.audit(t, "flow.delete"); len(ev) != 1 || ev[0].Details["name"] != "checkout" {
		t.Errorf("flow.delete events = %+v", ev)
	}
}

func TestFlowsRefuseBadInputByField(t *testing.T) {
	t.Parallel()
	f := newRunFixture(t)
	for _, c := range []struct {
		name, flow string
		change     run.FlowChange
		fields     []string
	}{
		{"a bad name", "Checkout!", run.FlowChange{Role: "buyer", Every: "15m"}, []string{"name"}},
		{"no role nor cadence", "checkout", run.FlowChange{}, []string{"every", "role"}},
		{"a bad role name", "checkout", run.FlowChange{Role: "Buyer", Every: "15m"}, []string{"role"}},
		{"an unknown role", "checkout", run.FlowChange{Role: "seller", Every: "15m"}, []string{"role"}},
		{"a role of another environment", "checkout", run.FlowChange{Role: "buyer", Every: "15m"}, []string{"role"}},
		{"not a duration", "checkout", run.FlowChange{Role: "buyer", Every: "often"}, []string{"every"}},
		{"too often", "checkout", run.FlowChange{Role: "buyer", Every: "59s"}, []string{"every"}},
		{"too rarely", "checkout", run.FlowChange{Role: "buyer", Every: "8d"}, []string{"every"}},
		{"a fraction of a second", "checkout", run.FlowChange{Role: "buyer", Every: "90.5s"}, []string{"every"}},
		{"negative", "checkout", run.FlowChange{Role: "buyer", Every: "-15m"}, []string{"every"}},
	} {
		env := "production"
		if c.name == "a role of another environment" {
			env = "staging"
		}
		_, _, err := f.flows.Put(f.ctx, env, c.flow, c.change)
		t.Run(c.name, func(t *testing.T) { wantFields(t, err, c.fields...) })
	}
	_, _, err := f.flows.Put(f.ctx, "nowhere", "checkout", run.FlowChange{Role: "buyer", Every: "15m"})
	wantCode(t, err, understudy.ENOTFOUND)
	_, err = f.flows.List(f.ctx, "nowhere")
	wantCode(t, err, understudy.ENOTFOUND)
	wantCode(t, f.flows.Delete(f.ctx, "nowhere", "checkout"), understudy.ENOTFOUND)
	if list, err := f.flows.All(f.ctx); err != nil || len(list) != 0 {
		t.Errorf("flows after refused writes: %+v, %v", list, err)
	}
}

func TestFlowOfADeletedRoleStaysButCannotBeRedeclared(t *testing.T) {
	t.Parallel()
	f := newRunFixture(t)
	if _, err := f.flows.Create(f.ctx, "production", "checkout", run.FlowChange{Role: "buyer", Every: "15m"}); err != nil {
		t.Fatal(err)
	}
	if err := f.accounts.DeleteRole(f.ctx, "production", "buyer"); err != nil {
		t.Fatal(err)
	}
	if fl, err := f.flows.Get(f.ctx, "production", "checkout"); err != nil || fl.Role != "buyer" {
		t.Fatalf("the flow after its role was deleted: %+v, %v", fl, err)
	}
	_, err := f.flows.Update(f.ctx, "production", "checkout", run.FlowChange{Role: "buyer", Every: "30m"})
	wantFields(t, err, "role")
}

func TestEveryParsesAndFormats(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"1m": "1m", "60s": "1m", "90s": "1m30s", "15m": "15m", "1h": "1h", "1h30m": "1h30m",
		"3601s": "1h0m1s", "25h": "25h", "24h": "1d", "7d": "7d", "168h": "7d", " 5m ": "5m"} {
		d, err := run.ParseEvery(in)
		if err != nil {
			t.Errorf("ParseEvery(%q): %v", in, err)
			continue
		}
		if got := run.FormatEvery(int(d / time.Second)); got != want {
			t.Errorf("FormatEvery(ParseEvery(%q)) = %q, want %q", in, got, want)
		}
		if back, err := run.ParseEvery(run.FormatEvery(int(d / time.Second))); err != nil || back != d {
			t.Errorf("%q does not read back: %v, %v", in, back, err)
		}
	}
	for _, bad := range []string{"", "0", "0s", "59s", "7d1s", "8d", "1.5d", "1m0.5s", "5", "1w"} {
		if d, err := run.ParseEvery(bad); err == nil {
			t.Errorf("ParseEvery(%q) = %s, want an error", bad, d)
		}
	}
}
