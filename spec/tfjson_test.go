package spec_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

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

// tfPlan is the part of Terraform's JSON plan format the test reads, with
// the field names of the format.
type tfPlan struct {
	FormatVersion   string `json:"format_version"`
	Applyable       bool   `json:"applyable"`
	Complete        bool   `json:"complete"`
	Errored         bool   `json:"errored"`
	ResourceChanges []struct {
		Address      string `json:"address"`
		Mode         string `json:"mode"`
		Type         string `json:"type"`
		Name         string `json:"name"`
		ActionReason string `json:"action_reason"`
		Change       struct {
			Actions         []string             `json:"actions"`
			Before          map[string]any       `json:"before"`
			After           map[string]any       `json:"after"`
			AfterUnknown    map[string]any       `json:"after_unknown"`
			BeforeSensitive any                  `json:"before_sensitive"`
			AfterSensitive  any                  `json:"after_sensitive"`
			ReplacePaths    [][]string           `json:"replace_paths"`
			Importing       *struct{ ID string } `json:"importing"`
		} `json:"change"`
	} `json:"resource_changes"`
	PlannedValues struct {
		RootModule struct {
			Resources []struct {
				Address string `json:"address"`
			} `json:"resources"`
		} `json:"root_module"`
	} `json:"planned_values"`
	Understudy struct {
		PlanID  string `json:"plan_id"`
		Serial  int64  `json:"serial"`
		Changes []struct {
			Address string       `json:"address"`
			Effects spec.Effects `json:"effects"`
		} `json:"changes"`
	} `json:"understudy"`
}

// readTF decodes TerraformJSON's output of p.
func readTF(t *testing.T, p spec.Plan) tfPlan {
	t.Helper()
	b, err := spec.TerraformJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	var out tfPlan
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTerraformJSONFields(t *testing.T) {
	t.Parallel()
	out := readTF(t, mixedPlan())
	if out.FormatVersion != "1.2" || !out.Applyable || !out.Complete || out.Errored {
		t.Fatalf("header %q applyable=%v complete=%v errored=%v", out.FormatVersion, out.Applyable, out.Complete, out.Errored)
	}
	byAddress := map[string]int{}
	for i, rc := range out.ResourceChanges {
		byAddress[rc.Address] = i
	}
	want := map[string]string{
		"environment.production": "no-op", "environment.staging": "update", "role.buyer": "update",
		"role.seller": "update", "app.chirp": "delete,create", "app.old": "delete",
	}
	for addr, actions := range want {
		rc := out.ResourceChanges[byAddress[addr]]
		if rc.Address != addr || strings.Join(rc.Change.Actions, ",") != actions || rc.Mode != "managed" {
			t.Errorf("%s: address %q actions %v mode %q, want actions %s", addr, rc.Address, rc.Change.Actions, rc.Mode, actions)
		}
	}
	chirp := out.ResourceChanges[byAddress["app.chirp"]]
	if chirp.Type != "understudy_app" || chirp.Name != "chirp" || chirp.ActionReason != "replace_because_cannot_update" {
		t.Errorf("app.chirp: type %q name %q reason %q", chirp.Type, chirp.Name, chirp.ActionReason)
	}
	if !reflect.DeepEqual(chirp.Change.ReplacePaths, [][]string{{"name"}}) || chirp.Change.After["name"] != "chirp2" {
		t.Errorf("app.chirp: replace_paths %v, after name %v", chirp.Change.ReplacePaths, chirp.Change.After["name"])
	}
	if old := out.ResourceChanges[byAddress["app.old"]]; old.Change.After != nil || old.Change.Before["name"] != "old" {
		t.Errorf("app.old: before %v after %v", old.Change.Before, old.Change.After)
	}
	var planned []string
	for _, r := range out.PlannedValues.RootModule.Resources {
		planned = append(planned, r.Address)
	}
	if w := []string{"app.chirp", "environment.production", "environment.staging", "role.buyer", "role.seller"}; !reflect.DeepEqual(planned, w) {
		t.Errorf("planned_values resources %v, want %v", planned, w)
	}
	u := out.Understudy
	if u.PlanID != "plan_01" || u.Serial != 7 || len(u.Changes) != 6 || u.Changes[2].Effects.Retire[0].LeasedBy != "ci run 42" {
		t.Errorf("understudy extension %+v", u)
	}
}

func TestTerraformJSONSensitiveAndImport(t *testing.T) {
	t.Parallel()
	out := readTF(t, secretsPlan())
	dest := out.ResourceChanges[1].Change
	wantBefore := map[string]any{"secrets": map[string]any{"api_key": true, "personal_key": true}}
	wantAfter := map[string]any{"secrets": map[string]any{"api_key": true, "project_token": true}}
	if !reflect.DeepEqual(dest.BeforeSensitive, wantBefore) || !reflect.DeepEqual(dest.AfterSensitive, wantAfter) {
		t.Errorf("before_sensitive %v after_sensitive %v", dest.BeforeSensitive, dest.AfterSensitive)
	}
	if s := dest.After["secrets"].(map[string]any); s["api_key"] != spec.SensitiveValue {
		t.Errorf("after secrets %v", s)
	}
	if created := out.ResourceChanges[0].Change; created.BeforeSensitive != false || created.Before != nil || len(created.AfterUnknown) != 0 {
		t.Errorf("a create's before %v before_sensitive %v after_unknown %v", created.Before, created.BeforeSensitive, created.AfterUnknown)
	}
	imports := readTF(t, importForgetPlan()).ResourceChanges
	if imports[0].Change.Importing == nil || imports[0].Change.Importing.ID != "production/seller" {
		t.Errorf("importing %+v", imports[0].Change.Importing)
	}
	if got := strings.Join(imports[2].Change.Actions, ","); got != "forget" || imports[1].Change.Importing == nil {
		t.Errorf("forget actions %s, second import %+v", got, imports[1].Change.Importing)
	}
}
