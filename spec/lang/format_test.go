package lang

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

const unformatted = "role \"buyer\" {\nenvironment=\"production\"\n  pool_size = 2\n}\n"

const formatted = "role \"buyer\" {\n  environment = \"production\"\n  pool_size   = 2\n}\n"

// Format lays out the file and makes terraform fmt's rewrites; each
// output parses and is its own canonical form.
func TestLangFormatCanonicalizes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, in, want string }{
		{"layout", unformatted, formatted},
		{"interpolation only", "a = \"${var.x}\"\n", "a = var.x\n"},
		{"interpolation with spaces and strip markers", "a = \"${~ var.x ~}\"\n", "a = var.x\n"},
		{"a call", "a = \"${upper(var.x)}\"\n", "a = upper(var.x)\n"},
		{"a template nested in the interpolation", "a = \"${upper(\"${var.x}-y\")}\"\n", "a = upper(\"${var.x}-y\")\n"},
		{"literal text after", "a = \"${var.x}-y\"\n", "a = \"${var.x}-y\"\n"},
		{"literal text before", "a = \"y${var.x}\"\n", "a = \"y${var.x}\"\n"},
		{"two interpolations", "a = \"${var.x}${var.y}\"\n", "a = \"${var.x}${var.y}\"\n"},
		{"a directive", "a = \"%{if var.b}${var.x}%{endif}\"\n", "a = \"%{if var.b}${var.x}%{endif}\"\n"},
		{"an interpolation then a directive", "a = \"${var.x}%{if var.b}y%{endif}\"\n", "a = \"${var.x}%{if var.b}y%{endif}\"\n"},
		{"a heredoc", "a = <<EOT\n${var.x}\nEOT\n", "a = <<EOT\n${var.x}\nEOT\n"},
		{"a plain string", "a = \"x\"\n", "a = \"x\"\n"},
		{"inside an object, left as terraform fmt leaves it", "a = { b = \"${var.x}\" }\n", "a = { b = \"${var.x}\" }\n"},
		{"newlines around the expression", "a = \"${\n  var.x\n}\"\n", "a = var.x\n"},
		{"an expression over lines gets parentheses", "a = \"${var.b ?\n1 : 2}\"\n", "a = (var.b ?\n1 : 2)\n"},
		{"parentheses already there", "a = \"${(var.b ?\n1 : 2)}\"\n", "a = (var.b ?\n1 : 2)\n"},
		{"a comment stays", "a   = \"${var.x}\" # why\nbb = 1\n", "a  = var.x # why\nbb = 1\n"},
		{"in a nested block", "role \"b\" {\n  lifecycle {\n    x = \"${var.y}\"\n  }\n}\n", "role \"b\" {\n  lifecycle {\n    x = var.y\n  }\n}\n"},
		{"a bare label is quoted", "role buyer {\n  pool_size = 1\n}\n", "role \"buyer\" {\n  pool_size = 1\n}\n"},
		{"a label with an escape", "role \"a\\\"b\" {\n}\n", "role \"a\\\"b\" {\n}\n"},
		{"a quoted variable type", "variable \"a\" {\n  type = \"string\"\n}\n", "variable \"a\" {\n  type = string\n}\n"},
		{"a quoted list type", "variable \"a\" {\n  type=\"list\"\n  default = []\n}\n", "variable \"a\" {\n  type    = list(string)\n  default = []\n}\n"},
		{"a quoted map type", "variable \"a\" {\n  type = \"map\"\n}\n", "variable \"a\" {\n  type = map(string)\n}\n"},
		{"a bare set type", "variable \"a\" {\n  type = set # of names\n}\n", "variable \"a\" {\n  type = set(any) # of names\n}\n"},
		{"a modern type stays", "variable \"a\" {\n  type = list(number)\n}\n", "variable \"a\" {\n  type = list(number)\n}\n"},
		{"a quoted type of another name stays", "variable \"a\" {\n  type = \"number\"\n}\n", "variable \"a\" {\n  type = \"number\"\n}\n"},
		{"a type outside a variable stays", "role \"a\" {\n  type = \"string\"\n}\n", "role \"a\" {\n  type = \"string\"\n}\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, diags := Format([]byte(c.in), "x.understudy.hcl")
			if len(diags) > 0 || string(out) != c.want {
				t.Fatalf("Format(%q) = %q, %v; want %q", c.in, out, diags, c.want)
			}
			if _, diags := hclsyntax.ParseConfig(out, "x.understudy.hcl", hcl.InitialPos); diags.HasErrors() {
				t.Errorf("the output does not parse: %v", diags)
			}
			if again, _ := Format(out, "x.understudy.hcl"); string(again) != string(out) {
				t.Errorf("Format is not idempotent: %q then %q", out, again)
			}
		})
	}
}

func TestLangFormatRefusesWhatDoesNotParse(t *testing.T) {
	t.Parallel()
	out, diags := Format([]byte("role \"x\" {\n  a = \"${var.x\"\n"), "broken.understudy.hcl")
	if out != nil || !diags.HasErrors() || diags[0].Subject.Filename != "broken.understudy.hcl" || diags[0].Subject.Start.Line != 2 {
		t.Errorf("Format of a broken file = %q, %v; want no output and an error at broken.understudy.hcl line 2", out, diags)
	}
}

func TestLangFormatTargets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, src := range map[string]string{"a.understudy.hcl": unformatted, "b.understudy.hcl": formatted,
		"c.hcl": unformatted, "notes.txt": "", "sub/d.understudy.hcl": formatted, "sub/deeper/e.understudy.hcl": formatted,
		".hidden/f.understudy.hcl": formatted} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	in := func(names ...string) []string {
		for i, n := range names {
			names[i] = filepath.Join(dir, n)
		}
		return names
	}
	for _, c := range []struct {
		name      string
		paths     []string
		recursive bool
		want      []string
		errs      []string
	}{
		{"a directory", in("."), false, in("a.understudy.hcl", "b.understudy.hcl"), nil},
		{"recursive, hidden skipped", in("."), true,
			in("a.understudy.hcl", "b.understudy.hcl", "sub/d.understudy.hcl", "sub/deeper/e.understudy.hcl"), nil},
		{"files named", in("c.hcl", "a.understudy.hcl"), false, in("c.hcl", "a.understudy.hcl"), nil},
		{"a file that is not HCL", in("notes.txt"), false, nil, []string{"Only .hcl files can be formatted", "notes.txt"}},
		{"a missing path", in("nothere"), false, nil, []string{"No file or directory at " + filepath.Join(dir, "nothere")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, diags := FormatTargets(c.paths, c.recursive)
			if !slices.Equal(got, c.want) {
				t.Errorf("files = %q, want %q", got, c.want)
			}
			text := ""
			for _, d := range diags {
				text += d.Summary + ": " + d.Detail + "\n"
			}
			if (len(c.errs) == 0) != (len(diags) == 0) {
				t.Fatalf("diagnostics %q, want %q", text, c.errs)
			}
			for _, e := range c.errs {
				if !strings.Contains(text, e) {
					t.Errorf("diagnostics %q do not say %q", text, e)
				}
			}
		})
	}
}

func TestLangFormatFile(t *testing.T) {
	t.Parallel()
	dir := writeDir(t, map[string]string{"a.understudy.hcl": unformatted, "broken.understudy.hcl": "role {\n"})
	src, out, diags := FormatFile(filepath.Join(dir, "a.understudy.hcl"))
	if string(src) != unformatted || string(out) != formatted || len(diags) != 0 {
		t.Errorf("FormatFile = %q, %q, %v", src, out, diags)
	}
	if _, out, diags := FormatFile(filepath.Join(dir, "broken.understudy.hcl")); out != nil || !diags.HasErrors() {
		t.Errorf("FormatFile of a broken file = %q, %v; want an error", out, diags)
	}
	if _, _, diags := FormatFile(filepath.Join(dir, "gone.understudy.hcl")); len(diags) != 1 || !strings.Contains(diags[0].Detail, "gone.understudy.hcl") {
		t.Errorf("FormatFile of a missing file: %v", diags)
	}
}
