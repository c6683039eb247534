package lang

import (
	"testing"
)

func TestLangForEachErrors(t *testing.T) {
	t.Parallel()
	_, cfg, diags := loadFiles(t, map[string]string{mainFile: `role "list" {
  for_each    = ["a", "b"]
  environment = "production"
}

role "secret" {
  for_each    = toset([env("TOKEN")])
  environment = "production"
}

role "numbers" {
  for_each    = toset([1, 2])
  environment = "production"
}

role "null" {
  for_each    = null
  environment = "production"
}

role "plain" {
  environment = "production"
  description = each.key
}

locals {
  k = each.value
}

role "undeclared" {
  for_each    = var.nope
  environment = "production"
}

role "ok" {
  for_each    = { a = "x" }
  environment = "production"
  description = each.value
}
`}, Options{Getenv: func(string) string { return "s3cret-token" }})
	checkDiags(t, diags,
		wantDiag{file: mainFile, line: 2, column: 17, summary: "Invalid for_each argument",
			detailHas: `the "for_each" argument must be a map, or set of strings, and you have provided a value of type tuple.`},
		wantDiag{file: mainFile, line: 7, column: 17, summary: "Invalid for_each argument", detailHas: "Sensitive values"},
		wantDiag{file: mainFile, line: 12, column: 17, summary: "Invalid for_each argument",
			detailHas: `"for_each" supports maps and sets of strings, but you have provided a set containing type number.`},
		wantDiag{file: mainFile, line: 17, column: 17, summary: "Invalid for_each argument", detailHas: "value is null"},
		wantDiag{file: mainFile, line: 23, column: 17, summary: `Reference to "each" in context without for_each`, detailHas: "for_each"},
		wantDiag{file: mainFile, line: 27, column: 7, summary: `Reference to "each" in context without for_each`, detailHas: "for_each"},
		wantDiag{file: mainFile, line: 31, column: 17, summary: "Reference to undeclared variable", detailHas: `"nope"`})
	var got []string
	for _, r := range cfg.Desired.Roles {
		got = append(got, r.Address+"="+r.Name+"/"+r.Description)
	}
	if len(got) != 2 || got[0] != `role.ok["a"]=a/x` || got[1] != "role.plain=plain/" {
		t.Errorf("roles %q: want role.ok[\"a\"] named a, and role.plain", got)
	}
}

// An error the server reports about an instance's attribute is placed at
// the attribute in the block; each.value reaches only the secrets when
// it is sensitive.
func TestLangForEachSourcesAndSecrets(t *testing.T) {
	t.Parallel()
	_, cfg, diags := loadFiles(t, map[string]string{mainFile: `app "chirp" {
  for_each    = { a = env("TOKEN_A"), b = env("TOKEN_B") }
  environment = "production"
  provider    = "webhook"
  secrets     = { token = each.value }
}

role "buyer" {
  for_each    = { x = 1 }
  environment = "production"
  pool_size   = each.value
}
`}, Options{Getenv: func(k string) string {
		return map[string]string{"TOKEN_A": "token-aaaaaaaa", "TOKEN_B": "token-bbbbbbbb"}[k]
	}})
	checkDiags(t, diags)
	if len(cfg.Desired.Apps) != 2 || cfg.Desired.Apps[1].Secrets["token"] != "token-bbbbbbbb" || cfg.Desired.Apps[1].Name != "b" {
		t.Fatalf("apps %+v: want a and b with their tokens", cfg.Desired.Apps)
	}
	d := cfg.Diagnostic(`role.buyer["x"].pool_size`, "Invalid value", "too large")
	if d.Subject == nil || d.Subject.Start.Line != 11 || d.Subject.Start.Column != 17 {
		t.Errorf("diagnostic at %v, want line 11, column 17", d.Subject)
	}
}
