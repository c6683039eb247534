package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// noSecrets fails if any diagnostic text holds one of secrets.
func noSecrets(t *testing.T, diags hcl.Diagnostics, secrets ...string) {
	t.Helper()
	text := diagsText(diags)
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("a diagnostic shows the secret %q:\n%s", s, text)
		}
	}
}

func TestLangEnvUnsetNamesItAndShowsNoSecret(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PRESENT": "hunter2-present", "UNDERSTUDY_VAR_key": "hunter2-variable"}
	_, _, diags := loadFiles(t, map[string]string{mainFile: `variable "key" {
  type      = string
  sensitive = true
}

app "chirp" {
  environment = "production"
  provider    = "webhook"
  settings    = { url = env("PRESENT") }
  secrets     = { signing_secret = env("CHIRP_SIGNING_SECRET"), key = var.key }
}

role "buyer" {
  environment = "production"
  pool_size   = tonumber(var.key)
  description = "${var.key}!"
}
`}, Options{Getenv: func(k string) string { return env[k] }})
	checkDiags(t, diags,
		wantDiag{file: mainFile, line: 9, column: 17, summary: "Sensitive value outside secrets", detailHas: "settings is stored and shown in clear"},
		wantDiag{file: mainFile, line: 10, column: 36, summary: "Error in function call", detailHas: "the environment variable CHIRP_SIGNING_SECRET is not set"},
		wantDiag{file: mainFile, line: 15, column: 26, summary: "Invalid function argument", detailHas: "(sensitive value)"},
		wantDiag{file: mainFile, line: 16, column: 17, summary: "Sensitive value outside secrets", detailHas: "description"})
	noSecrets(t, diags, "hunter2")
}

func TestLangRequiredVariable(t *testing.T) {
	t.Parallel()
	_, _, diags := loadFiles(t, map[string]string{mainFile: `variable "optional" {
  default = "x"
}

variable "posthog_api_key" {
  type      = string
  sensitive = true
}
`}, Options{Vars: map[string]string{"nope": "1"}})
	checkDiags(t, diags,
		wantDiag{hasNoSubject: true, summary: "Value for undeclared variable", detailHas: `A -var option sets "nope"`},
		wantDiag{file: mainFile, line: 5, column: 1, summary: "No value for required variable", detailHas: `"posthog_api_key"`})
}

func TestLangVariableValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	varFile := filepath.Join(dir, "bad.vars.hcl")
	if err := os.WriteFile(varFile, []byte("pool = \"many\"\nother = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, diags := loadFiles(t, map[string]string{mainFile: `variable "pool" {
  type = number
}

variable "domains" {
  type = list(string)
}

variable "flag" {
  type = bool
}
`}, Options{VarFiles: []string{varFile}, Vars: map[string]string{"domains": "[oops", "flag": "maybe"}})
	checkDiags(t, diags,
		wantDiag{hasNoSubject: true, summary: "Invalid value for variable", detailHas: `-var flag gives variable "flag" is not valid: a bool is required`},
		wantDiag{file: "bad.vars.hcl", line: 1, column: 8, summary: "Invalid value for variable", detailHas: `gives variable "pool" is not valid: a number is required`},
		wantDiag{file: "bad.vars.hcl", line: 2, column: 1, summary: "Value for undeclared variable", detailHas: `sets "other", but no variable block declares it`},
		wantDiag{file: "<value for var.domains>", line: 1, column: 1, summary: "Unterminated tuple constructor expression", detailHas: "closing bracket"})
}

func TestLangPoolSizeType(t *testing.T) {
	t.Parallel()
	_, _, diags := loadFiles(t, map[string]string{mainFile: `role "a" {
  environment = "production"
  pool_size   = "two"
}

role "b" {
  environment = "production"
  pool_size   = 2.5
}

role "c" {
  environment = "production"
  pool_size   = "3"
  attributes  = ["plan"]
}
`}, Options{})
	checkDiags(t, diags,
		wantDiag{file: mainFile, line: 3, column: 17, summary: "Incorrect attribute value type", detailHas: `"pool_size": a number is required`},
		wantDiag{file: mainFile, line: 8, column: 17, summary: "Incorrect attribute value type", detailHas: `"pool_size": a whole number is required`},
		wantDiag{file: mainFile, line: 14, column: 17, summary: "Incorrect attribute value type", detailHas: `"attributes": map of string required`})
}

func TestLangDuplicates(t *testing.T) {
	t.Parallel()
	_, _, diags := loadFiles(t, map[string]string{mainFile: `role "buyer" {
  environment = "production"
}

role "buyer_two" {
  environment = "production"
  name        = "buyer"
}

role "other_env" {
  environment = "staging"
  name        = "buyer"
}
`, "more.understudy.hcl": `role "buyer" {
  environment = "production"
}

variable "x" {}
variable "x" {}

environment "9lives" {
  email_domains = []
}
`}, Options{Vars: map[string]string{"x": "1"}})
	checkDiags(t, diags,
		wantDiag{file: mainFile, line: 7, column: 17, summary: "Duplicate name", detailHas: `role.buyer_two and role.buyer (at `},
		wantDiag{file: "more.understudy.hcl", line: 1, column: 6, summary: "Duplicate role block", detailHas: `labelled "buyer" was already declared at `},
		wantDiag{file: "more.understudy.hcl", line: 6, column: 10, summary: "Duplicate variable", detailHas: `"x"`},
		wantDiag{file: "more.understudy.hcl", line: 8, column: 13, summary: "Invalid label", detailHas: "must be an identifier"})
}

func TestLangImportAndRemoved(t *testing.T) {
	t.Parallel()
	_, cfg, diags := loadFiles(t, map[string]string{mainFile: `role "buyer" {
  environment = "production"
}

import {
  to = role.seller
  id = "production/seller"
}

import {
  to = role.buyer
  id = "buyer"
}

removed {
  from = role.buyer
}

removed {
  from = "role.gone"
}

removed {
  from = role.gone
}
`}, Options{})
	checkDiags(t, diags,
		wantDiag{file: mainFile, line: 6, column: 8, summary: "Import to an undeclared address", detailHas: `No role block is labelled "seller"`},
		wantDiag{file: mainFile, line: 12, column: 8, summary: "Invalid import id", detailHas: `"<environment>/<name>"`},
		wantDiag{file: mainFile, line: 16, column: 10, summary: "Removed object is still declared", detailHas: "role.buyer is declared at "},
		wantDiag{file: mainFile, line: 20, column: 10, summary: "Invalid address", detailHas: "<kind>.<label>"})
	if got := cfg.Desired.Removed; len(got) != 1 || got[0].From != "role.gone" {
		t.Errorf("removed = %+v, want role.gone only", got)
	}
}

func TestLangCycleAndFunctions(t *testing.T) {
	t.Parallel()
	_, cfg, diags := loadFiles(t, map[string]string{mainFile: `role "a" {
  environment = role.b.environment
}

role "b" {
  environment = role.a.environment
}

role "c" {
  environment = role.a.environment
}

app "x" {
  environment = "production"
  provider    = "webhook"
  secrets     = { ca = file("missing.pem") }
}
`}, Options{})
	checkDiags(t, diags,
		wantDiag{file: mainFile, line: 6, column: 17, summary: "Reference cycle", detailHas: "role.a → role.b → role.a"},
		wantDiag{file: mainFile, line: 16, column: 24, summary: "Error in function call", detailHas: "cannot read the file missing.pem: no such file"})
	if n := len(cfg.Desired.Roles); n != 1 {
		t.Errorf("%d roles, want role.c only (the loop's blocks left out)", n)
	}
}

func TestLangNoSpecFiles(t *testing.T) {
	t.Parallel()
	_, _, diags := loadFiles(t, map[string]string{"main.hcl": "role \"x\" {}\n"}, Options{})
	checkDiags(t, diags, wantDiag{hasNoSubject: true, summary: "No spec files", detailHas: "no *.understudy.hcl files"})
}
