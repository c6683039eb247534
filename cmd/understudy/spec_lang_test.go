package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// localCLI runs the command line in-process with env as the environment,
// for the commands that need no server.
func localCLI(t *testing.T, env map[string]string, argv ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	a := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: time.Now,
		getenv: func(k string) string { return env[k] }}
	code := a.run(context.Background(), argv)
	return cliResult{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// specDir writes files into a new directory and returns it.
func specDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const unformattedSpec = "role \"buyer\" {\nenvironment=\"production\"\n}\n"

func TestFmtCheckChangesNothingAndFails(t *testing.T) {
	t.Parallel()
	dir := specDir(t, map[string]string{"main.understudy.hcl": unformattedSpec, "ok.understudy.hcl": "environment \"p\" {\n  email_domains = []\n}\n"})
	file := filepath.Join(dir, "main.understudy.hcl")

	res := localCLI(t, nil, "fmt", "-check", dir)
	if res.Code != 3 || res.Stderr != "" {
		t.Errorf("fmt -check of an unformatted file: code %d, stderr %q; want 3 and nothing, as terraform fmt -check", res.Code, res.Stderr)
	}
	if res.Stdout != file+"\n" {
		t.Errorf("fmt -check printed %q, want the unformatted file only", res.Stdout)
	}
	if b, _ := os.ReadFile(file); string(b) != unformattedSpec {
		t.Fatalf("fmt -check changed the file: %q", b)
	}

	res = mustOK(t, localCLI(t, nil, "fmt", dir))
	if res.Stdout != file+"\n" {
		t.Errorf("fmt printed %q, want the file it changed", res.Stdout)
	}
	if b, _ := os.ReadFile(file); string(b) != "role \"buyer\" {\n  environment = \"production\"\n}\n" {
		t.Errorf("fmt wrote %q", b)
	}
	if res := mustOK(t, localCLI(t, nil, "fmt", "--check", dir)); res.Stdout != "" {
		t.Errorf("fmt --check of a formatted spec printed %q", res.Stdout)
	}
}

func TestFmtReportsAFileThatDoesNotParse(t *testing.T) {
	t.Parallel()
	dir := specDir(t, map[string]string{"main.understudy.hcl": "role \"buyer\" {\n  environment = [\n}\n"})
	res := localCLI(t, nil, "fmt", dir)
	mustFail(t, res, exitUsage, "main.understudy.hcl line 3", "Error: Invalid expression")
	if strings.Contains(res.Stderr, "understudy:") {
		t.Errorf("stderr has an understudy: line besides the diagnostic:\n%s", res.Stderr)
	}
}

func TestValidateSuccess(t *testing.T) {
	t.Parallel()
	res := mustOK(t, localCLI(t, nil, "validate", "../../examples/spec"))
	if res.Stdout != "Success! The configuration is valid.\n" || res.Stderr != "" {
		t.Errorf("validate printed %q / %q", res.Stdout, res.Stderr)
	}
	env := map[string]string{"CHIRP_WEBHOOK_SECRET": "w", "CHIRP_DATABASE_URL": "d", "UNDERSTUDY_VAR_posthog_project_api_key": "k"}
	mustOK(t, localCLI(t, env, "validate", "-var", "posthog_project_id=7", "../../examples/spec/with-chirp"))
}

func TestValidatePrintsDiagnosticsOnce(t *testing.T) {
	t.Parallel()
	dir := specDir(t, map[string]string{"main.understudy.hcl": `role "buyer" {
  environment = "production"
  pool_size   = "two"
  pol_size    = 2
}
`})
	res := localCLI(t, nil, "validate", dir)
	mustFail(t, res, exitError,
		"Error: Incorrect attribute value type",
		"on "+filepath.Join(dir, "main.understudy.hcl")+` line 3, in role "buyer":`,
		`   3:   pool_size   = "two"`,
		`Inappropriate value for attribute "pool_size": a number is required.`,
		"Error: Unsupported argument",
		`   4:   pol_size    = 2`)
	if n := strings.Count(res.Stderr, "Incorrect attribute value type"); n != 1 {
		t.Errorf("the diagnostic is printed %d times, want once:\n%s", n, res.Stderr)
	}
	if strings.Count(res.Stderr, "Error: ") != 2 || strings.Contains(res.Stderr, "understudy:") || strings.Contains(res.Stderr, "\x1b[") {
		t.Errorf("stderr holds more than the two diagnostics, or has colour:\n%s", res.Stderr)
	}
	if res.Stdout != "" {
		t.Errorf("stdout = %q, want nothing", res.Stdout)
	}
}

func TestValidateVariables(t *testing.T) {
	t.Parallel()
	dir := specDir(t, map[string]string{"main.understudy.hcl": `variable "pool" {
  type = number
}

variable "domain" {
  type = string
}

environment "production" {
  email_domains = [var.domain]
}

role "buyer" {
  environment = environment.production.name
  pool_size   = var.pool
}
`, "values.vars.hcl": "pool = 2\n"})
	varFile := filepath.Join(dir, "values.vars.hcl")
	mustOK(t, localCLI(t, nil, "validate", dir, "-var-file", varFile, "-var", "domain=qa.example.test"))
	mustOK(t, localCLI(t, map[string]string{"UNDERSTUDY_VAR_domain": "qa.example.test"}, "validate", dir, "--var-file="+varFile))
	mustFail(t, localCLI(t, nil, "validate", dir, "-var", "pool=2"), exitError,
		`Error: No value for required variable`, `The variable "domain" has no default`)
	// A usage error of a spec command is exit 1, as Terraform's.
	mustFail(t, localCLI(t, nil, "validate", dir, "-var", "domain"), exitError, `Error: malformed --var "domain": want NAME=VALUE`)
	mustFail(t, localCLI(t, nil, "validate", dir, dir), exitError, "Error: expected at most 1 argument")
}

func TestFlagSingleDashLongFlagsAreNormalised(t *testing.T) {
	t.Parallel()
	root := (&cli{}).rootCommand()
	for _, c := range []struct{ in, want []string }{
		{[]string{"validate", "-var", "a=b", "-var-file=x.hcl", "-o", "json", "-url=http://x", "dir"},
			[]string{"validate", "--var", "a=b", "--var-file=x.hcl", "-o", "json", "--url=http://x", "dir"}},
		{[]string{"fmt", "-check", "-help", "-", "-x"}, []string{"fmt", "--check", "--help", "-", "-x"}},
		{[]string{"roles", "update", "production", "buyer", "-pool", "3"}, []string{"roles", "update", "production", "buyer", "--pool", "3"}},
		{[]string{"lease", "-environment", "p", "--", "sh", "-check"}, []string{"lease", "--environment", "p", "--", "sh", "-check"}},
		{[]string{"fmt", "-var", "x"}, []string{"fmt", "-var", "x"}}, // not a flag of fmt
		{[]string{"nosuchcommand", "-check"}, []string{"nosuchcommand", "-check"}},
	} {
		if got := longFlags(root, c.in); !slices.Equal(got, c.want) {
			t.Errorf("longFlags(%q) = %q, want %q", c.in, got, c.want)
		}
	}

	dir := specDir(t, map[string]string{"main.understudy.hcl": unformattedSpec})
	if res := localCLI(t, nil, "fmt", "-check", dir); res.Code != 3 || res.Stdout != filepath.Join(dir, "main.understudy.hcl")+"\n" {
		t.Errorf("fmt -check: code %d, stdout %q", res.Code, res.Stdout)
	}
}

// validate -json prints terraform validate -json's object, and only it:
// format_version, valid, the counts and the diagnostics, each with its
// range in the file, and exits 1 when the spec is not valid.
func TestValidateJSONIsTerraformsOutput(t *testing.T) {
	t.Parallel()
	keysOf := func(t *testing.T, raw []byte) (map[string]json.RawMessage, string) {
		t.Helper()
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("not one JSON object: %v\n%s", err, raw)
		}
		keys := slices.Sorted(maps.Keys(m))
		return m, strings.Join(keys, " ")
	}
	res := mustOK(t, localCLI(t, nil, "validate", "-json", "../../examples/spec"))
	m, keys := keysOf(t, []byte(res.Stdout))
	if keys != "diagnostics error_count format_version valid warning_count" || res.Stderr != "" {
		t.Fatalf("validate -json of a valid spec: keys %q, stderr %q\n%s", keys, res.Stderr, res.Stdout)
	}
	if string(m["format_version"]) != `"1.0"` || string(m["valid"]) != "true" || string(m["error_count"]) != "0" ||
		string(m["warning_count"]) != "0" || string(m["diagnostics"]) != "[]" {
		t.Errorf("validate -json of a valid spec:\n%s", res.Stdout)
	}

	dir := specDir(t, map[string]string{"main.understudy.hcl": `role "buyer" {
  environment = "production"
  pool_size   = "two"
  pol_size    = 2
}
`})
	res = localCLI(t, nil, "validate", "-json", dir)
	if res.Code != exitError || res.Stderr != "" {
		t.Fatalf("validate -json of an invalid spec: code %d, stderr %q", res.Code, res.Stderr)
	}
	var out struct {
		FormatVersion string `json:"format_version"`
		Valid         bool
		ErrorCount    int `json:"error_count"`
		WarningCount  int `json:"warning_count"`
		Diagnostics   []json.RawMessage
	}
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.FormatVersion != "1.0" || out.Valid || out.ErrorCount != 2 || out.WarningCount != 0 || len(out.Diagnostics) != 2 {
		t.Fatalf("validate -json of an invalid spec:\n%s", res.Stdout)
	}
	d, keys := keysOf(t, out.Diagnostics[0])
	if keys != "detail range severity summary" {
		t.Fatalf("a diagnostic has the keys %q", keys)
	}
	var diag struct {
		Severity, Summary, Detail string
		Range                     struct {
			Filename   string
			Start, End struct{ Line, Column, Byte int }
		}
	}
	if err := json.Unmarshal(out.Diagnostics[0], &diag); err != nil {
		t.Fatal(err)
	}
	src := "role \"buyer\" {\n  environment = \"production\"\n  pool_size   = "
	if r := diag.Range; diag.Severity != "error" || diag.Summary != "Incorrect attribute value type" || diag.Detail == "" ||
		r.Filename != filepath.Join(dir, "main.understudy.hcl") || r.Start.Line != 3 || r.Start.Column != 17 ||
		r.Start.Byte != len(src) || r.End.Line != 3 || r.End.Byte != len(src)+len(`"two"`) {
		t.Errorf("the first diagnostic: %s", d["range"])
	}

	res = localCLI(t, nil, "validate", "-json", dir, "-var", "domain")
	if res.Code != exitError || !strings.Contains(res.Stdout, `"summary": "malformed --var \"domain\": want NAME=VALUE"`) || res.Stderr != "" {
		t.Errorf("validate -json with a malformed -var: code %d\n%s\nstderr %q", res.Code, res.Stdout, res.Stderr)
	}
}
