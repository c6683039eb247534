package lang

import (
	"strings"
	"testing"
)

func TestLangLocals(t *testing.T) {
	t.Parallel()
	_, cfg, diags := loadFiles(t, map[string]string{mainFile: `locals {
  env  = environment.production.name
  desc = "${local.prefix} buyer in ${local.env}"
}

environment "production" {
  email_domains = [local.domain]
}

role "buyer" {
  environment = local.env
  description = local.desc
  pool_size   = local.sizes.buyer
}
`, "more.understudy.hcl": `locals {
  prefix = upper("chirp")
  domain = "qa.example.test"
  sizes  = { buyer = 3 }
}
`}, Options{})
	checkDiags(t, diags)
	d := cfg.Desired
	if len(d.Environments) != 1 || d.Environments[0].EmailDomains[0] != "qa.example.test" {
		t.Fatalf("environments %+v: want production with qa.example.test", d.Environments)
	}
	if len(d.Roles) != 1 {
		t.Fatalf("roles %+v: want buyer", d.Roles)
	}
	r := d.Roles[0]
	if r.Environment != "production" || r.Description != "CHIRP buyer in production" || r.PoolSize == nil || *r.PoolSize != 3 {
		t.Errorf("role %+v (pool %v): want buyer in production, described from locals, pool 3", r, r.PoolSize)
	}
}

func TestLangLocalsErrors(t *testing.T) {
	t.Parallel()
	_, _, diags := loadFiles(t, map[string]string{mainFile: `locals {
  a = local.b
  b = role.buyer.description
  c = "x"
}

locals {
  c = "y"
}

role "buyer" {
  environment = "production"
  description = local.a
  pool_size   = local.e
}
`}, Options{})
	checkDiags(t, diags,
		wantDiag{file: mainFile, line: 8, column: 3, summary: "Duplicate local value", detailHas: `"c" was already defined at`},
		wantDiag{file: mainFile, line: 13, column: 17, summary: "Reference cycle",
			detailHas: "local.a → local.b → role.buyer → local.a: blocks and local values cannot refer to each other in a loop."},
		wantDiag{file: mainFile, line: 14, column: 17, summary: "Reference to undeclared local value", detailHas: `"e". Did you mean "a"?`})
}

func TestLangLocalSensitive(t *testing.T) {
	t.Parallel()
	_, _, diags := loadFiles(t, map[string]string{mainFile: `locals {
  token = env("TOKEN")
}

role "buyer" {
  environment = "production"
  description = local.token
}
`}, Options{Getenv: func(string) string { return "s3cret" }})
	checkDiags(t, diags,
		wantDiag{file: mainFile, line: 7, column: 17, summary: "Sensitive value outside secrets", detailHas: "description"})
}

// Local values are evaluated under the same work limit as the blocks:
// one that is too large stops the evaluation at its own expression.
func TestLangLocalsStopAtTheWorkLimit(t *testing.T) {
	t.Parallel()
	src := thousand + "locals {\n  big = [for a in var.items : [for b in var.items : [for c in var.items : \"x\"]]]\n}\n" +
		"environment \"p\" {\n  email_domains = local.big[0][0]\n}\n"
	diags := bounded(t, map[string]string{mainFile: src}, Options{MaxWork: MaxWork / 10})
	d := onlyError(t, diags)
	if d.Summary != "Evaluation too large" || d.Subject == nil || d.Subject.Start.Line != 6 || !strings.Contains(d.Detail, "25000 units") {
		t.Fatalf("diagnostic %v at %v", d, d.Subject)
	}
}
