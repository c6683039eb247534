package spec_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/understudy-dev/understudy/spec"
)

// decode decodes JSON, numbers kept as written.
func decode(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return v
}

// equalJSON compares two JSON documents as decoded data.
func equalJSON(t *testing.T, got, want []byte) {
	t.Helper()
	if g, w := decode(t, got), decode(t, want); !reflect.DeepEqual(g, w) {
		t.Fatalf("JSON differs from the golden file (run with -update if the change is intended)\n got: %s\nwant: %s", got, want)
	}
}

// terraformJSON is TerraformJSON's output, indented for the golden files.
func terraformJSON(t *testing.T, p spec.Plan) []byte {
	t.Helper()
	b, err := spec.TerraformJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	return append(out.Bytes(), '\n')
}

func TestTerraformJSONGolden(t *testing.T) {
	t.Parallel()
	for _, f := range planFixtures() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			golden(t, f.name+".json", terraformJSON(t, f.plan), equalJSON)
		})
	}
}

// readTF decodes TerraformJSON's output of p with HashiCorp's
// terraform-json, as policy tools read a plan, and validates it.
func readTF(t *testing.T, p spec.Plan) *tfjson.Plan {
	t.Helper()
	b, err := spec.TerraformJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	var out tfjson.Plan
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if err := out.Validate(); err != nil {
		t.Fatalf("terraform-json refuses the plan: %v", err)
	}
	return &out
}

// withVariables is mixedPlan with the variables a client records.
func withVariables() spec.Plan {
	p := mixedPlan()
	p.Variables = []spec.Variable{
		{Name: "buyer_pool_size", Value: json.RawMessage("2")},
		{Name: "chirp_api_key", Sensitive: true},
		{Name: "domains", Value: json.RawMessage(`["test.example.com"]`)},
	}
	return p
}

// checkAddresses fails unless each change's address is its type, a dot,
// its name and its instance key as Terraform writes it, with a known type
// and the provider set.
func checkAddresses(t *testing.T, what string, rcs []*tfjson.ResourceChange) {
	t.Helper()
	types := map[string]bool{"understudy_environment": true, "understudy_role": true, "understudy_app": true, "understudy_destination": true}
	for _, rc := range rcs {
		if rc.Address != rc.Type+"."+rc.Name+instanceKey(t, rc.Index) || !types[rc.Type] || rc.ProviderName != spec.ProviderName || rc.Mode != tfjson.ManagedResourceMode {
			t.Errorf("%s: address %q type %q name %q index %v provider %q mode %q", what, rc.Address, rc.Type, rc.Name, rc.Index, rc.ProviderName, rc.Mode)
		}
	}
}

// instanceKey is an instance key as Terraform writes it in an address:
// nothing without one, [0] for a number, and for a string the string in
// brackets, quoted as an HCL string literal (escaping \, ", newlines,
// tabs, the template sequences ${ and %{ and other control characters).
func instanceKey(t *testing.T, index any) string {
	t.Helper()
	switch k := index.(type) {
	case nil:
		return ""
	case float64:
		return fmt.Sprintf("[%d]", int(k))
	case string:
		var b strings.Builder
		b.WriteString(`["`)
		for i, r := range k {
			switch {
			case r == '\\':
				b.WriteString(`\\`)
			case r == '"':
				b.WriteString(`\"`)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\r':
				b.WriteString(`\r`)
			case r == '\t':
				b.WriteString(`\t`)
			case (r == '$' || r == '%') && strings.HasPrefix(k[i+1:], "{"):
				b.WriteRune(r)
				b.WriteRune(r)
			case !unicode.IsPrint(r):
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteString(`"]`)
		return b.String()
	}
	t.Fatalf("instance key %v of type %T", index, index)
	return ""
}

func TestTerraformJSONFields(t *testing.T) {
	t.Parallel()
	out := readTF(t, withVariables())
	if out.FormatVersion != "1.2" || out.Complete == nil || !*out.Complete {
		t.Fatalf("header %q complete=%v", out.FormatVersion, out.Complete)
	}
	var header struct{ Applyable, Errored bool }
	if b, _ := spec.TerraformJSON(withVariables()); json.Unmarshal(b, &header) != nil || !header.Applyable || header.Errored {
		t.Errorf("applyable=%v errored=%v", header.Applyable, header.Errored)
	}
	checkAddresses(t, "resource_changes", out.ResourceChanges)
	byAddress := map[string]*tfjson.ResourceChange{}
	for _, rc := range out.ResourceChanges {
		byAddress[rc.Address] = rc
	}
	want := map[string]string{
		"understudy_environment.production": "no-op", "understudy_environment.staging": "update", "understudy_role.buyer": "update",
		"understudy_role.seller": "update", "understudy_app.chirp": "delete,create", "understudy_app.old": "delete",
	}
	if len(byAddress) != len(want) {
		t.Errorf("addresses %v, want %v", slices.Collect(maps.Keys(byAddress)), want)
	}
	for addr, actions := range want {
		rc := byAddress[addr]
		if rc == nil {
			t.Errorf("%s is missing", addr)
			continue
		}
		var got []string
		for _, a := range rc.Change.Actions {
			got = append(got, string(a))
		}
		if strings.Join(got, ",") != actions {
			t.Errorf("%s: actions %v, want %s", addr, got, actions)
		}
	}
	chirp := byAddress["understudy_app.chirp"]
	if chirp.Type != "understudy_app" || chirp.Name != "chirp" || chirp.ActionReason != tfjson.ActionReasonReplaceBecauseCannotUpdate {
		t.Errorf("app.chirp: type %q name %q reason %q", chirp.Type, chirp.Name, chirp.ActionReason)
	}
	if after := chirp.Change.After.(map[string]any); !reflect.DeepEqual(chirp.Change.ReplacePaths, []any{[]any{"name"}}) || after["name"] != "chirp2" {
		t.Errorf("app.chirp: replace_paths %v, after name %v", chirp.Change.ReplacePaths, after["name"])
	}
	if old := byAddress["understudy_app.old"]; old.Change.After != nil || old.Change.Before.(map[string]any)["name"] != "old" ||
		old.ActionReason != tfjson.ActionReasonDeleteBecauseNoResourceConfig {
		t.Errorf("app.old: before %v after %v reason %q", old.Change.Before, old.Change.After, old.ActionReason)
	}
	var planned []string
	for _, r := range out.PlannedValues.RootModule.Resources {
		planned = append(planned, r.Address)
		if r.ProviderName != spec.ProviderName || r.Address != r.Type+"."+r.Name {
			t.Errorf("planned %s: type %q name %q provider %q", r.Address, r.Type, r.Name, r.ProviderName)
		}
	}
	wantPlanned := []string{"understudy_app.chirp", "understudy_environment.production", "understudy_environment.staging", "understudy_role.buyer", "understudy_role.seller"}
	if !reflect.DeepEqual(planned, wantPlanned) {
		t.Errorf("planned_values resources %v, want %v", planned, wantPlanned)
	}

	// The configuration: the provider, each declared object and the variables.
	if pc := out.Config.ProviderConfigs["understudy"]; pc == nil || pc.FullName != spec.ProviderName {
		t.Errorf("provider_config %+v", out.Config.ProviderConfigs)
	}
	var configured []string
	for _, r := range out.Config.RootModule.Resources {
		configured = append(configured, r.Address)
		if r.ProviderConfigKey != "understudy" || r.Address != r.Type+"."+r.Name {
			t.Errorf("configuration %s: type %q name %q provider key %q", r.Address, r.Type, r.Name, r.ProviderConfigKey)
		}
	}
	if !reflect.DeepEqual(configured, wantPlanned) {
		t.Errorf("configuration resources %v, want %v", configured, wantPlanned)
	}
	for _, r := range out.Config.RootModule.Resources {
		if r.Address == "understudy_role.buyer" {
			if e := r.Expressions["pool_size"]; e == nil || e.ConstantValue != float64(2) {
				t.Errorf("role.buyer pool_size expression %+v", e)
			}
		}
		if r.Address == "understudy_app.chirp" {
			if e := r.Expressions["secrets"]; e == nil || !reflect.DeepEqual(e.ConstantValue, map[string]any{"api_key": spec.SensitiveValue}) {
				t.Errorf("app.chirp secrets expression %+v", e)
			}
		}
	}
	if v := out.Variables["buyer_pool_size"]; v == nil || v.Value != float64(2) {
		t.Errorf("variable buyer_pool_size %+v", v)
	}
	if v := out.Variables["domains"]; v == nil || !reflect.DeepEqual(v.Value, []any{"test.example.com"}) {
		t.Errorf("variable domains %+v", v)
	}
	if v := out.Variables["chirp_api_key"]; v == nil || v.Value != spec.SensitiveValue || !out.Config.RootModule.Variables["chirp_api_key"].Sensitive {
		t.Errorf("sensitive variable %+v, declared %+v", v, out.Config.RootModule.Variables["chirp_api_key"])
	}
	if out.Config.RootModule.Variables["buyer_pool_size"] == nil || out.Config.RootModule.Variables["buyer_pool_size"].Sensitive {
		t.Errorf("configuration variables %+v", out.Config.RootModule.Variables)
	}

	// The extension speaks of the same addresses, and keeps the spec's own.
	u := readExtension(t, withVariables())
	if u.PlanID != "plan_01" || u.Serial != 7 || len(u.Changes) != 6 || u.Changes[2].Effects.Retire[0].LeasedBy != "ci run 42" {
		t.Errorf("understudy extension %+v", u)
	}
	for _, c := range u.Changes {
		if byAddress[c.Address] == nil || spec.Address(c.SpecAddress) != c.Address {
			t.Errorf("understudy change %q (spec %q) is not in resource_changes", c.Address, c.SpecAddress)
		}
	}
}

// readExtension decodes the understudy key of TerraformJSON's output.
func readExtension(t *testing.T, p spec.Plan) (u struct {
	PlanID  string `json:"plan_id"`
	Serial  int64  `json:"serial"`
	Changes []struct {
		Address     string       `json:"address"`
		SpecAddress string       `json:"spec_address"`
		Effects     spec.Effects `json:"effects"`
	} `json:"changes"`
	Applied []spec.AppliedChange `json:"applied"`
}) {
	t.Helper()
	b, err := spec.TerraformJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Understudy json.RawMessage `json:"understudy"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(doc.Understudy, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestTerraformJSONSensitiveAndImport(t *testing.T) {
	t.Parallel()
	out := readTF(t, secretsPlan())
	checkAddresses(t, "secrets", out.ResourceChanges)
	dest := out.ResourceChanges[1].Change
	wantBefore := map[string]any{"secrets": map[string]any{"api_key": true, "personal_key": true}}
	wantAfter := map[string]any{"secrets": map[string]any{"api_key": true, "project_token": true}}
	if !reflect.DeepEqual(dest.BeforeSensitive, wantBefore) || !reflect.DeepEqual(dest.AfterSensitive, wantAfter) {
		t.Errorf("before_sensitive %v after_sensitive %v", dest.BeforeSensitive, dest.AfterSensitive)
	}
	if s := dest.After.(map[string]any)["secrets"].(map[string]any); s["api_key"] != spec.SensitiveValue {
		t.Errorf("after secrets %v", s)
	}
	if created := out.ResourceChanges[0].Change; created.BeforeSensitive != false || created.Before != nil || len(created.AfterUnknown.(map[string]any)) != 0 {
		t.Errorf("a create's before %v before_sensitive %v after_unknown %v", created.Before, created.BeforeSensitive, created.AfterUnknown)
	}
	imports := readTF(t, importForgetPlan()).ResourceChanges
	checkAddresses(t, "import_forget", imports)
	if imports[0].Change.Importing == nil || imports[0].Change.Importing.ID != "production/seller" {
		t.Errorf("importing %+v", imports[0].Change.Importing)
	}
	if imports[1].Change.Importing == nil {
		t.Errorf("second import %+v", imports[1].Change.Importing)
	}
	forget := imports[2]
	if !forget.Change.Actions.Forget() || forget.Change.After != nil || forget.Change.AfterSensitive != false ||
		forget.ActionReason != tfjson.ActionReasonDeleteBecauseNoResourceConfig || forget.Address != "understudy_role.legacy" {
		t.Errorf("forget %s: actions %v after %v after_sensitive %v reason %q", forget.Address, forget.Change.Actions,
			forget.Change.After, forget.Change.AfterSensitive, forget.ActionReason)
	}
}

// A forgotten object's after is null even when the change carries the
// object's attributes after it, and drift names objects as changes do.
func TestTerraformJSONForgetAndDrift(t *testing.T) {
	t.Parallel()
	legacy := buyer(1)
	legacy["name"] = "legacy"
	forget := change(spec.Forget, "role.legacy", "production/legacy", legacy, legacy)
	p := newPlan(spec.ModeNormal, forget)
	p.Drift = driftAndChangesPlan().Drift
	p.Applied = []spec.AppliedChange{{Address: "role.legacy", Action: spec.Forget, At: planTime}}
	out := readTF(t, p)
	rc := out.ResourceChanges[0]
	if rc.Change.After != nil || rc.Change.AfterSensitive != false || rc.ActionReason == "" {
		t.Errorf("forget: after %v after_sensitive %v reason %q", rc.Change.After, rc.Change.AfterSensitive, rc.ActionReason)
	}
	if len(out.ResourceDrift) == 0 {
		t.Fatal("no resource_drift")
	}
	checkAddresses(t, "resource_drift", out.ResourceDrift)
	if u := readExtension(t, p); len(u.Applied) != 1 || u.Applied[0].Address != "understudy_role.legacy" {
		t.Errorf("understudy applied %+v", u.Applied)
	}
}

func TestAddressOfAnInstance(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"role.buyer": "understudy_role.buyer", `role.team["a"]`: `understudy_role.team["a"]`,
		"destination.mixpanel": "understudy_destination.mixpanel", "environment.production": "understudy_environment.production",
	} {
		if got := spec.Address(in); got != want {
			t.Errorf("Address(%q) = %q, want %q", in, got, want)
		}
	}
	p := newPlan(spec.ModeNormal, change(spec.Create, `role.team["a"]`, "production/team-a", nil, buyer(1)),
		change(spec.Create, `role.team["b-2"]`, "production/team-b-2", nil, buyer(1)))
	rcs := readTF(t, p).ResourceChanges
	checkAddresses(t, "for_each", rcs)
	rc := rcs[0]
	if rc.Address != `understudy_role.team["a"]` || rc.Name != "team" || rc.Index != "a" {
		t.Errorf("instance: address %q name %q index %v", rc.Address, rc.Name, rc.Index)
	}
}

// An object a moved block moved carries previous_address, in the
// JSON plan's words, as terraform-json reads it.
func TestTerraformJSONPreviousAddress(t *testing.T) {
	t.Parallel()
	moved := noOp(`role.team["buyer"]`, "production/buyer", buyer(2))
	moved.PreviousAddress = "role.buyer"
	unchanged := noOp("role.seller", "production/seller", buyer(1))
	out := readTF(t, newPlan(spec.ModeNormal, moved, unchanged))
	got := map[string]string{}
	for _, rc := range out.ResourceChanges {
		got[rc.Address] = rc.PreviousAddress
	}
	want := map[string]string{`understudy_role.team["buyer"]`: "understudy_role.buyer", "understudy_role.seller": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("previous_address by address %v, want %v", got, want)
	}
}

// instanceKey writes keys as Terraform's addresses do.
func TestInstanceKeyIsTerraformsRendering(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		index any
		want  string
	}{
		{nil, ""}, {float64(2), "[2]"}, {"a", `["a"]`}, {`a"b\c`, `["a\"b\\c"]`},
		{"x\ny\tz", `["x\ny\tz"]`}, {"${v}%{w}$x", `["$${v}%%{w}$x"]`}, {"\x01", `["\u0001"]`},
	} {
		if got := instanceKey(t, tc.index); got != tc.want {
			t.Errorf("instanceKey(%q) = %s, want %s", tc.index, got, tc.want)
		}
	}
}
