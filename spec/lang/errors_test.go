package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// wantDiag is a diagnostic a test expects: where, and what it says.
type wantDiag struct {
	file         string // base name
	line, column int
	summary      string
	detailHas    string
	hasNoSubject bool
}

// loadFiles writes files into a new directory and loads it.
func loadFiles(t *testing.T, files map[string]string, o Options) (string, *Config, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	cfg, diags := Load(dir, o)
	return dir, cfg, diags
}

// checkDiags fails unless diags are exactly want, in order.
func checkDiags(t *testing.T, diags hcl.Diagnostics, want ...wantDiag) {
	t.Helper()
	if len(diags) != len(want) {
		t.Fatalf("got %d diagnostics, want %d:\n%s", len(diags), len(want), diagsText(diags))
	}
	for i, w := range want {
		d := diags[i]
		if d.Severity != hcl.DiagError || d.Summary != w.summary || !strings.Contains(d.Detail, w.detailHas) {
			t.Errorf("diagnostic %d is %q: %q, want an error %q with a detail holding %q", i, d.Summary, d.Detail, w.summary, w.detailHas)
		}
		if w.hasNoSubject {
			if d.Subject != nil {
				t.Errorf("diagnostic %d (%s) is at %s, want no subject", i, d.Summary, d.Subject)
			}
			continue
		}
		if d.Subject == nil {
			t.Errorf("diagnostic %d (%s) has no subject, want %s:%d,%d", i, d.Summary, w.file, w.line, w.column)
			continue
		}
		if s := d.Subject; filepath.Base(s.Filename) != w.file || s.Start.Line != w.line || s.Start.Column != w.column {
			t.Errorf("diagnostic %d (%s) is at %s:%d,%d, want %s:%d,%d", i, d.Summary,
				filepath.Base(s.Filename), s.Start.Line, s.Start.Column, w.file, w.line, w.column)
		}
	}
}

func diagsText(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		if d.Subject != nil {
			b.WriteString(d.Subject.String() + ": ")
		}
		b.WriteString(d.Summary + ": " + d.Detail + "\n")
	}
	return b.String()
}

const mainFile = "main.understudy.hcl"

func TestLangSyntaxError(t *testing.T) {
	t.Parallel()
	_, _, diags := loadFiles(t, map[string]string{
		mainFile:            "environment \"p\" {\n  email_domains = [\"a\"\n}\n",
		"ok.understudy.hcl": "role \"r\" {\n  environment = environment.p.name\n}\n",
	}, Options{})
	// The other file is not evaluated: its reference to the broken file
	// would be reported as undeclared.
	checkDiags(t, diags, wantDiag{file: mainFile, line: 3, column: 1, summary: "Missing item separator", detailHas: "comma"})
}

func TestLangUnknownAttribute(t *testing.T) {
	t.Parallel()
	_, _, diags := loadFiles(t, map[string]string{mainFile: `role "buyer" {
  environment = "production"
  pool      = 2
  lifecycle {
    prevent_destory = true
  }
  frobnicate {}
}
`}, Options{})
	checkDiags(t, diags,
		wantDiag{file: mainFile, line: 3, column: 3, summary: "Unsupported argument",
			detailHas: `A role block takes the arguments environment, name, description, pool_size, attributes, quarantine_on_violation, code_pattern, link_pattern, for_each.`},
		wantDiag{file: mainFile, line: 5, column: 5, summary: "Unsupported argument", detailHas: `Did you mean "prevent_destroy"?`},
		wantDiag{file: mainFile, line: 7, column: 3, summary: "Unsupported block type",
			detailHas: "A role block takes the blocks isolation_policy, lifecycle."})
}

func TestLangMissingRequired(t *testing.T) {
	t.Parallel()
	_, _, diags := loadFiles(t, map[string]string{mainFile: `environment "production" {
}

app "chirp" {
  environment = "production"
}

destination "posthog" {
  kind = "posthog"
}
`}, Options{})
	checkDiags(t, diags,
		wantDiag{file: mainFile, line: 1, column: 26, summary: "Missing required argument", detailHas: `"email_domains" is required`},
		wantDiag{file: mainFile, line: 4, column: 13, summary: "Missing required argument", detailHas: `"provider" is required`},
		wantDiag{file: mainFile, line: 8, column: 23, summary: "Missing required argument", detailHas: `"environment" is required`})
}

func TestLangUnknownReference(t *testing.T) {
	t.Parallel()
	_, cfg, diags := loadFiles(t, map[string]string{mainFile: `environment "production" {
  email_domains = ["qa.example.test"]
}

role "buyer" {
  environment = environment.prodution.name
  pool_size   = var.pool
  description = environment.production.nmae
}
`}, Options{})
	checkDiags(t, diags,
		wantDiag{file: mainFile, line: 6, column: 17, summary: "Reference to undeclared environment", detailHas: `"prodution". Did you mean "production"?`},
		wantDiag{file: mainFile, line: 7, column: 17, summary: "Reference to undeclared variable", detailHas: `"pool"`},
		wantDiag{file: mainFile, line: 8, column: 39, summary: "Unsupported attribute", detailHas: `"nmae"`})
	if len(cfg.Desired.Roles) != 1 || cfg.Desired.Roles[0].Environment != "" {
		t.Errorf("roles %+v: want buyer without an environment", cfg.Desired.Roles)
	}
}
