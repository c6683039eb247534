package lang

import (
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the want.json files of testdata from what Load returns")

// caseOptions is testdata/<case>/options.json: the Options of the case.
type caseOptions struct {
	Env      map[string]string `json:"env"`
	Vars     map[string]string `json:"vars"`
	VarFiles []string          `json:"var_files"` // relative to the case
}

// optionsOf reads the options of the case in dir (none when it has no
// options.json).
func optionsOf(t *testing.T, dir string) Options {
	t.Helper()
	var co caseOptions
	b, err := os.ReadFile(filepath.Join(dir, "options.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		t.Fatal(err)
	default:
		if err := json.Unmarshal(b, &co); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{Vars: co.Vars, Getenv: func(k string) string { return co.Env[k] }}
	for _, f := range co.VarFiles {
		o.VarFiles = append(o.VarFiles, filepath.Join(dir, f))
	}
	return o
}

// decoded returns v marshalled to JSON and decoded as plain data.
func decoded(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLangGolden(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("testdata/*/want.json")
	if err != nil || len(dirs) < 4 {
		t.Fatalf("want at least 4 golden cases, found %d (%v)", len(dirs), err)
	}
	for _, want := range dirs {
		dir := filepath.Dir(want)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			cfg, diags := Load(dir, optionsOf(t, dir))
			if len(diags) > 0 {
				t.Fatalf("diagnostics: %v", diags)
			}
			if *update {
				b, _ := json.MarshalIndent(cfg.Desired, "", "  ")
				if err := os.WriteFile(want, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			var w any
			if err := json.Unmarshal(b, &w); err != nil {
				t.Fatal(err)
			}
			if got := decoded(t, cfg.Desired); !reflect.DeepEqual(got, w) {
				gb, _ := json.MarshalIndent(cfg.Desired, "", "  ")
				t.Errorf("Desired differs from %s; got:\n%s", want, gb)
			}
		})
	}
}
