package lang

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// FuzzLoadSource evaluates one spec file of arbitrary bytes: Load must
// never panic, and must return a Config whatever it finds.
func FuzzLoadSource(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*/*.understudy.hcl")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range append(seeds, "../../examples/spec/main.understudy.hcl", "../../examples/spec/with-chirp/main.understudy.hcl") {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(buyerSpec))
	f.Add([]byte("role \"a\" {\n  environment = role.a.environment\n}\n"))
	f.Add([]byte("removed {\n  from = role[\"x\"]\n}\nimport {\n  to = environment.x\n  id = 1\n}\n"))
	env := map[string]string{"CHIRP_SIGNING_SECRET": "s", "CHIRP_WEBHOOK_SECRET": "w", "CHIRP_DATABASE_URL": "d"}
	f.Fuzz(func(t *testing.T, src []byte) {
		l := newLoader(t.TempDir(), Options{Getenv: func(k string) string { return env[k] },
			Vars: map[string]string{}})
		l.parse("fuzz.understudy.hcl", src)
		if !l.broken {
			l.evaluate()
		}
		diags := l.finish()
		if l.cfg == nil || l.cfg.Files["fuzz.understudy.hcl"] == nil && !diags.HasErrors() {
			t.Fatalf("no config or no file without an error")
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Fatalf("a diagnostic without a summary: %+v", d)
			}
		}
	})
}

// FuzzFormat checks that what Format returns parses: its rewrites never
// turn a spec that parses into one that does not.
func FuzzFormat(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*/*.understudy.hcl")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{unformatted, "a = \"${var.x}\"\n", "a = \"${var.b ?\n1 : 2}\"\n", "a = \"${upper(\"${var.x}-y\")}\"\n",
		"a = \"%{if var.b}${var.x}%{endif}\"\n", "a = <<EOT\n${var.x}\nEOT\n", "role buyer {\n  x = \"${\n  var.x\n}\"\n}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, diags := Format(src, "fuzz.understudy.hcl")
		if diags.HasErrors() {
			return
		}
		if _, d := hclsyntax.ParseConfig(out, "fuzz.understudy.hcl", hcl.InitialPos); d.HasErrors() {
			t.Fatalf("Format(%q) = %q, which does not parse: %v", src, out, d)
		}
	})
}
