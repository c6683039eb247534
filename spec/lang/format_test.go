package lang

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const unformatted = "role \"buyer\" {\nenvironment=\"production\"\n  pool_size = 2\n}\n"

const formatted = "role \"buyer\" {\n  environment = \"production\"\n  pool_size   = 2\n}\n"

func TestLangFormat(t *testing.T) {
	t.Parallel()
	out, diags := Format([]byte(unformatted), "x.understudy.hcl")
	if len(diags) > 0 || string(out) != formatted {
		t.Fatalf("Format = %q, %v; want %q", out, diags, formatted)
	}
	if out, diags := Format([]byte("role \"x\" {\n"), "broken.understudy.hcl"); out != nil || !diags.HasErrors() ||
		diags[0].Subject.Filename != "broken.understudy.hcl" {
		t.Errorf("Format of a broken file = %q, %v; want no output and an error in broken.understudy.hcl", out, diags)
	}
}

func TestLangFormatDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{"a.understudy.hcl": unformatted, "b.understudy.hcl": formatted,
		"c.hcl": unformatted, "d.understudy.hcl": "role {\n"}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	changed, diags := FormatDir(dir, true)
	if want := []string{filepath.Join(dir, "a.understudy.hcl")}; !slices.Equal(changed, want) || len(diags) != 1 {
		t.Fatalf("FormatDir check = %v, %v; want %v and the error of d", changed, diags, want)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if read("a.understudy.hcl") != unformatted {
		t.Fatal("FormatDir with check wrote a file")
	}
	changed, _ = FormatDir(dir, false)
	if len(changed) != 1 || read("a.understudy.hcl") != formatted || read("c.hcl") != unformatted || read("d.understudy.hcl") != "role {\n" {
		t.Errorf("FormatDir = %v; a: %q, c: %q; want a formatted and the others untouched", changed, read("a.understudy.hcl"), read("c.hcl"))
	}
	if fi, err := os.Stat(filepath.Join(dir, "a.understudy.hcl")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the rewritten file's mode = %v (%v), want 0600 kept", fi.Mode(), err)
	}
	if changed, _ := FormatDir(dir, true); len(changed) != 0 {
		t.Errorf("a second check finds %v to format", changed)
	}
}
