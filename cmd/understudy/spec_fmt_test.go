package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/spec/lang"
)

// stdinCLI is localCLI with stdin as standard input.
func stdinCLI(t *testing.T, stdin string, argv ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	a := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, now: time.Now,
		getenv: func(string) string { return "" }}
	code := a.run(context.Background(), argv)
	return cliResult{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// readFile returns the contents of the file at path.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const (
	// canonicalSpec is unformattedSpec formatted.
	canonicalSpec = "role \"buyer\" {\n  environment = \"production\"\n}\n"
	// interpolatedSpec has a value that is only an interpolation.
	interpolatedSpec = "role buyer {\n  environment = \"${var.env}\"\n  name = \"b-${var.env}\"\n}\n"
	// interpolatedCanonical is interpolatedSpec formatted.
	interpolatedCanonical = "role \"buyer\" {\n  environment = var.env\n  name        = \"b-${var.env}\"\n}\n"
)

// fmt takes files and directories: a directory gives its spec files, and
// an .hcl file named is formatted too.
func TestFmtFilesAndDirectories(t *testing.T) {
	t.Parallel()
	dir := specDir(t, map[string]string{"main.understudy.hcl": interpolatedSpec, "values.hcl": "a=1\nbb=2\n",
		"other.hcl": "c=1\ndd=2\n"})
	main, values := filepath.Join(dir, "main.understudy.hcl"), filepath.Join(dir, "values.hcl")
	res := mustOK(t, localCLI(t, nil, "fmt", dir, values))
	if res.Stdout != main+"\n"+values+"\n" || res.Stderr != "" {
		t.Errorf("fmt printed %q / %q, want the two files it changed", res.Stdout, res.Stderr)
	}
	if got := readFile(t, main); got != interpolatedCanonical {
		t.Errorf("main.understudy.hcl = %q, want %q", got, interpolatedCanonical)
	}
	if got := readFile(t, values); got != "a  = 1\nbb = 2\n" {
		t.Errorf("values.hcl = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "other.hcl")); got != "c=1\ndd=2\n" {
		t.Errorf("an .hcl file fmt was not given changed: %q", got)
	}
	// Neither listed nor written: printed, as terraform fmt prints it,
	// and left as it is.
	dry := specDir(t, map[string]string{"main.understudy.hcl": interpolatedSpec})
	dryMain := filepath.Join(dry, "main.understudy.hcl")
	if res := mustOK(t, localCLI(t, nil, "fmt", "-list=false", "-write=false", dryMain)); res.Stdout != interpolatedCanonical ||
		readFile(t, dryMain) != interpolatedSpec {
		t.Errorf("fmt -list=false -write=false printed %q; want %q, and the file unchanged", res.Stdout, interpolatedCanonical)
	}
	if res := mustOK(t, localCLI(t, nil, "fmt", "-write=false", dryMain)); res.Stdout != dryMain+"\n" {
		t.Errorf("fmt -write=false printed %q; want the file's name alone", res.Stdout)
	}
	mustFail(t, localCLI(t, nil, "fmt", filepath.Join(dir, "notes.txt")), exitUsage, "No file or directory at "+filepath.Join(dir, "notes.txt"))
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustFail(t, localCLI(t, nil, "fmt", filepath.Join(dir, "notes.txt")), exitUsage, "Error: Only .hcl files can be formatted")
}

// A path that does not exist is named, and nothing is formatted.
func TestFmtMissingPath(t *testing.T) {
	t.Parallel()
	dir := specDir(t, map[string]string{"main.understudy.hcl": unformattedSpec})
	missing := filepath.Join(dir, "nosuchdir")
	res := localCLI(t, nil, "fmt", dir, missing)
	mustFail(t, res, exitUsage, "Error: No file or directory at "+missing)
	if res.Stdout != "" || readFile(t, filepath.Join(dir, "main.understudy.hcl")) != unformattedSpec {
		t.Errorf("fmt formatted %q despite the missing path", res.Stdout)
	}
}

// -recursive descends into subdirectories, but not hidden ones.
func TestFmtRecursive(t *testing.T) {
	t.Parallel()
	dir := specDir(t, map[string]string{"main.understudy.hcl": canonicalSpec})
	for _, sub := range []string{"envs/qa", ".git"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sub, "x.understudy.hcl"), []byte(unformattedSpec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	nested, hidden := filepath.Join(dir, "envs/qa/x.understudy.hcl"), filepath.Join(dir, ".git/x.understudy.hcl")
	if res := mustOK(t, localCLI(t, nil, "fmt", dir)); res.Stdout != "" || readFile(t, nested) != unformattedSpec {
		t.Fatalf("fmt without -recursive printed %q and left %q", res.Stdout, readFile(t, nested))
	}
	res := localCLI(t, nil, "fmt", "-check", "-recursive", dir)
	if res.Code != 3 || res.Stdout != nested+"\n" || readFile(t, nested) != unformattedSpec {
		t.Fatalf("fmt -check -recursive: code %d, stdout %q", res.Code, res.Stdout)
	}
	if res := mustOK(t, localCLI(t, nil, "fmt", "-recursive", dir)); res.Stdout != nested+"\n" {
		t.Errorf("fmt -recursive printed %q, want %q", res.Stdout, nested)
	}
	if readFile(t, nested) != canonicalSpec || readFile(t, hidden) != unformattedSpec {
		t.Errorf("fmt -recursive left %q in envs/qa and %q in .git; want the first formatted, the hidden one untouched",
			readFile(t, nested), readFile(t, hidden))
	}
}

// -diff prints a unified diff; with -write=false or -check the file stays.
func TestFmtDiff(t *testing.T) {
	t.Parallel()
	dir := specDir(t, map[string]string{"main.understudy.hcl": unformattedSpec})
	file := filepath.Join(dir, "main.understudy.hcl")
	diff := "--- old/" + file + "\n+++ new/" + file + "\n@@ -1,3 +1,3 @@\n role \"buyer\" {\n" +
		"-environment=\"production\"\n+  environment = \"production\"\n }\n"
	res := mustOK(t, localCLI(t, nil, "fmt", "-diff", "-write=false", dir))
	if res.Stdout != file+"\n"+diff {
		t.Errorf("fmt -diff -write=false printed\n%s\nwant\n%s%s", res.Stdout, file+"\n", diff)
	}
	res = localCLI(t, nil, "fmt", "-check", "-diff", "-list=false", dir)
	if res.Code != 3 || res.Stdout != diff {
		t.Errorf("fmt -check -diff -list=false: code %d, printed\n%s\nwant the diff alone", res.Code, res.Stdout)
	}
	if got := readFile(t, file); got != unformattedSpec {
		t.Fatalf("-write=false or -check wrote the file: %q", got)
	}
	if res := mustOK(t, localCLI(t, nil, "fmt", "-diff", dir)); res.Stdout != file+"\n"+diff || readFile(t, file) != canonicalSpec {
		t.Errorf("fmt -diff printed %q and wrote %q", res.Stdout, readFile(t, file))
	}
	if res := mustOK(t, localCLI(t, nil, "fmt", "-diff", dir)); res.Stdout != "" {
		t.Errorf("fmt -diff of a formatted spec printed %q", res.Stdout)
	}
}

// "-" reads standard input and writes the result to standard output.
func TestFmtStdin(t *testing.T) {
	t.Parallel()
	if res := mustOK(t, stdinCLI(t, interpolatedSpec, "fmt", "-")); res.Stdout != interpolatedCanonical || res.Stderr != "" {
		t.Errorf("fmt - printed %q / %q, want %q", res.Stdout, res.Stderr, interpolatedCanonical)
	}
	res := mustOK(t, stdinCLI(t, unformattedSpec, "fmt", "-diff", "-"))
	if !strings.HasPrefix(res.Stdout, "--- old/<stdin>\n+++ new/<stdin>\n@@ ") || !strings.Contains(res.Stdout, "\n+  environment = \"production\"\n") {
		t.Errorf("fmt -diff - printed %q, want a diff of <stdin> alone", res.Stdout)
	}
	if res := stdinCLI(t, unformattedSpec, "fmt", "-check", "-"); res.Code != 3 || res.Stdout != "" {
		t.Errorf("fmt -check - of unformatted input: code %d, stdout %q; want 3 and nothing, as terraform fmt -check -", res.Code, res.Stdout)
	}
	if res := mustOK(t, stdinCLI(t, canonicalSpec, "fmt", "-check", "-")); res.Stdout != "" {
		t.Errorf("fmt -check - of formatted input printed %q", res.Stdout)
	}
	res = stdinCLI(t, "role \"buyer\" {\n  environment = [\n}\n", "fmt", "-")
	mustFail(t, res, exitUsage, "Error: Invalid expression", "on <stdin> line 3", "   3: }")
	if res.Stdout != "" {
		t.Errorf("fmt - of a broken spec printed %q on stdout", res.Stdout)
	}
	mustFail(t, stdinCLI(t, "", "fmt", "-", "."), exitError, `"-" (standard input) must be the only path`)
	mustFail(t, stdinCLI(t, strings.Repeat("#", lang.MaxFileSize+1), "fmt", "-"), exitUsage,
		fmt.Sprintf("standard input has more than %d bytes", lang.MaxFileSize))
}

// A file that does not parse is named with its line and left as it is;
// the other files are still formatted, and the exit code is 2, as terraform fmt's.
func TestFmtSyntaxErrorFormatsTheOthers(t *testing.T) {
	t.Parallel()
	broken := "role \"x\" {\n  environment = \"${var.env\"\n}\n"
	dir := specDir(t, map[string]string{"a.understudy.hcl": broken, "b.understudy.hcl": unformattedSpec})
	res := localCLI(t, nil, "fmt", dir)
	mustFail(t, res, exitUsage, "on "+filepath.Join(dir, "a.understudy.hcl")+" line 2")
	if res.Stdout != filepath.Join(dir, "b.understudy.hcl")+"\n" {
		t.Errorf("fmt printed %q, want b.understudy.hcl, which it formatted", res.Stdout)
	}
	if readFile(t, filepath.Join(dir, "a.understudy.hcl")) != broken || readFile(t, filepath.Join(dir, "b.understudy.hcl")) != canonicalSpec {
		t.Errorf("the broken file changed, or the other was not formatted")
	}
}
