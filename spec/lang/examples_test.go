package lang

import (
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/spec"
)

// addresses returns the address of every object of d, by kind.
func addresses(d spec.Desired) map[string][]string {
	out := map[string][]string{}
	for _, e := range d.Environments {
		out[spec.KindEnvironment] = append(out[spec.KindEnvironment], e.Address)
	}
	for _, a := range d.Apps {
		out[spec.KindApp] = append(out[spec.KindApp], a.Address)
	}
	for _, r := range d.Roles {
		out[spec.KindRole] = append(out[spec.KindRole], r.Address)
	}
	for _, x := range d.Destinations {
		out[spec.KindDestination] = append(out[spec.KindDestination], x.Address)
	}
	return out
}

func TestLangExampleSpecLoads(t *testing.T) {
	t.Parallel()
	cfg, diags := Load("../../examples/spec", Options{Getenv: func(string) string { return "" }})
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %s", diagsText(diags))
	}
	got := addresses(cfg.Desired)
	want := map[string][]string{
		spec.KindEnvironment: {"environment.production", "environment.staging"},
		spec.KindRole:        {"role.buyer", "role.seller", `role.staging["buyer"]`, `role.staging["seller"]`},
	}
	for kind, w := range want {
		if !slices.Equal(got[kind], w) {
			t.Errorf("%s: %v, want %v", kind, got[kind], w)
		}
	}
	if len(cfg.Desired.Apps)+len(cfg.Desired.Destinations) != 0 {
		t.Errorf("the bare example declares apps or destinations: %v", got)
	}
	// It shows locals, for_each and moved: staging's roles come from one
	// block, named after their keys, and were once two blocks.
	if r := cfg.Desired.Roles[2]; r.Name != "buyer" || r.Environment != "staging" || r.Description != "Staging's buyer" {
		t.Errorf("%s = %+v: want staging's buyer", r.Address, r)
	}
	if r := cfg.Desired.Roles[1]; r.IsolationPolicy["leaderboards"] != "testers_only" {
		t.Errorf("role.seller's policy %v: want leaderboards testers_only, from a local", r.IsolationPolicy)
	}
	wantMoved := []spec.Moved{{From: "role.staging_buyer", To: `role.staging["buyer"]`}, {From: "role.staging_seller", To: `role.staging["seller"]`}}
	if !slices.Equal(cfg.Desired.Moved, wantMoved) {
		t.Errorf("moved %+v, want %+v", cfg.Desired.Moved, wantMoved)
	}
	// The acceptance check updates production's buyer to a pool
	// of 3 after an apply, and expects the plan to show it.
	buyer := cfg.Desired.Roles[0]
	if buyer.Environment != "production" || buyer.Name != "buyer" || buyer.PoolSize == nil || *buyer.PoolSize == 3 {
		t.Errorf("role.buyer = %+v: want production's buyer with a pool size other than 3", buyer)
	}
}

func TestLangExampleWithChirpLoads(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CHIRP_WEBHOOK_SECRET": "webhook-secret", "CHIRP_DATABASE_URL": "postgres://chirp",
		"UNDERSTUDY_VAR_posthog_project_api_key": "phc_example"}
	cfg, diags := Load("../../examples/spec/with-chirp", Options{Vars: map[string]string{"posthog_project_id": "42"},
		Getenv: func(k string) string { return env[k] }})
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %s", diagsText(diags))
	}
	got := addresses(cfg.Desired)
	if w := []string{"app.chirp", "app.chirp_db"}; !slices.Equal(got[spec.KindApp], w) {
		t.Errorf("apps %v, want %v", got[spec.KindApp], w)
	}
	if w := []string{"destination.posthog"}; !slices.Equal(got[spec.KindDestination], w) {
		t.Errorf("destinations %v, want %v", got[spec.KindDestination], w)
	}
	if f := cfg.Desired.Flows; len(f) != 1 || f[0].Address != "flow.checkout" || f[0].Environment != "production" || f[0].Role != "buyer" || f[0].Every != "15m" {
		t.Errorf("flows %+v, want checkout of production's buyer every 15m", f)
	}
	chirp, db := cfg.Desired.Apps[0], cfg.Desired.Apps[1]
	if chirp.Secrets["signing_secret"] != "webhook-secret" || db.Secrets["dsn"] != "postgres://chirp" || db.Name != "chirp-db" {
		t.Errorf("apps %+v / %+v: want the secrets from the environment, and chirp-db's name", chirp, db)
	}
	if string(chirp.Settings) != `{"base_url":"http://127.0.0.1:8090/understudy"}` {
		t.Errorf("chirp's settings = %s", chirp.Settings)
	}
	if d := cfg.Desired.Destinations[0]; d.Secrets["project_api_key"] != "phc_example" || string(d.Settings) != `{"project_id":42}` {
		t.Errorf("destination %+v: want the key from UNDERSTUDY_VAR_ and the project id from -var", d)
	}
}

// A plan records the variables' values, a sensitive one without its value.
func TestLangVariablesForThePlan(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CHIRP_WEBHOOK_SECRET": "webhook-secret", "CHIRP_DATABASE_URL": "postgres://chirp",
		"UNDERSTUDY_VAR_posthog_project_api_key": "phc_example"}
	cfg, diags := Load("../../examples/spec/with-chirp", Options{Vars: map[string]string{"posthog_project_id": "42"},
		Getenv: func(k string) string { return env[k] }})
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %s", diagsText(diags))
	}
	byName := map[string]spec.Variable{}
	var names []string
	for _, v := range cfg.Variables {
		byName[v.Name] = v
		names = append(names, v.Name)
	}
	if !slices.IsSorted(names) || len(names) < 2 {
		t.Errorf("variables %v, want them sorted by name", names)
	}
	if v := byName["posthog_project_api_key"]; !v.Sensitive || v.Value != nil {
		t.Errorf("sensitive variable %+v: want no value", v)
	}
	if v := byName["posthog_project_id"]; v.Sensitive || string(v.Value) != "42" && string(v.Value) != `"42"` {
		t.Errorf("posthog_project_id %+v (%s)", v, v.Value)
	}
	for _, v := range cfg.Variables {
		if strings.Contains(string(v.Value), "phc_example") {
			t.Errorf("variable %s holds the secret", v.Name)
		}
	}
}
