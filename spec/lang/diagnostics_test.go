package lang

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const buyerSpec = `environment "production" {
  email_domains = ["qa.example.test"]
}

role "buyer" {
  environment = environment.production.name
  pool_size   = 2
  attributes  = { plan = "pro" }

  isolation_policy {
    leaderboards = "hidden"
  }
}

import {
  to = role.buyer
  id = "production/buyer"
}
`

func TestLangDiagnosticPlacesServerErrors(t *testing.T) {
	t.Parallel()
	_, cfg, diags := loadFiles(t, map[string]string{mainFile: buyerSpec}, Options{})
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %s", diagsText(diags))
	}
	for _, c := range []struct {
		field        string
		line, column int
	}{
		{"role.buyer.pool_size", 7, 17},
		{"role.buyer.attributes.plan", 8, 26},
		{"role.buyer.isolation_policy.leaderboards", 11, 20},
		{"role.buyer.isolation_policy.unknown_surface", 10, 3}, // the block
		{"role.buyer.name", 5, 6},                              // the label: name defaults to it
		{"role.buyer.quarantine_on_violation", 5, 1},           // not written: the block
		{"environment.production.email_domains", 2, 19},
		{"environment.production", 1, 1},
		{"import.role.buyer.id", 17, 8},
	} {
		d := cfg.Diagnostic(c.field, "Invalid value", "must be at most 1")
		if d.Severity != hcl.DiagError || d.Summary != "Invalid value" || d.Detail != "must be at most 1" {
			t.Errorf("%s: diagnostic %+v", c.field, d)
		}
		if d.Subject == nil || d.Subject.Start.Line != c.line || d.Subject.Start.Column != c.column {
			t.Errorf("%s: subject %v, want line %d column %d", c.field, d.Subject, c.line, c.column)
		}
	}
	if d := cfg.Diagnostic("role.nobody.pool_size", "x", "y"); d.Subject != nil {
		t.Errorf("an undeclared block's field is placed at %s, want no subject", d.Subject)
	}
}

func TestLangWriteDiagnosticsShowsTheSource(t *testing.T) {
	t.Parallel()
	_, cfg, _ := loadFiles(t, map[string]string{mainFile: buyerSpec}, Options{})
	d := cfg.Diagnostic("role.buyer.pool_size", "Pool too large", "The server allows at most 1.")
	for _, color := range []bool{false, true} {
		var out bytes.Buffer
		if err := WriteDiagnostics(&out, cfg.Files, hcl.Diagnostics{d}, color, 0); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		for _, want := range []string{"Error", ": Pool too large", "main.understudy.hcl line 7", "pool_size   = ", "The server allows at most 1."} {
			if !strings.Contains(text, want) {
				t.Errorf("color=%v: output lacks %q:\n%s", color, want, text)
			}
		}
		if hasEscape := strings.Contains(text, "\x1b["); hasEscape != color {
			t.Errorf("color=%v: escape codes present = %v", color, hasEscape)
		}
	}
}
