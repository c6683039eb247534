package spec_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/render from the current output")

// ansi matches an ANSI colour escape code.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// golden compares got with testdata/render/name, after rewriting the file
// with got when -update is set. equal compares decoded data.
func golden(t *testing.T, name string, got []byte, equal func(t *testing.T, got, want []byte)) {
	t.Helper()
	path := filepath.Join("testdata", "render", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the golden file (run with -update to create it): %v", err)
	}
	equal(t, got, want)
}

// equalLines compares two texts line by line and names the first line
// that differs.
func equalLines(t *testing.T, got, want []byte) {
	t.Helper()
	g := strings.Split(string(got), "\n")
	w := strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("line %d differs (run with -update if the change is intended)\n got: %q\nwant: %q\n\nwhole output:\n%s", i+1, gl, wl, got)
		}
	}
}

// render is WritePlan's output.
func render(t *testing.T, p spec.Plan, color bool) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := spec.WritePlan(&b, p, spec.RenderOptions{Color: color}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestWritePlanGolden(t *testing.T) {
	t.Parallel()
	for _, f := range planFixtures() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			golden(t, f.name+".txt", render(t, f.plan, false), equalLines)
		})
	}
}

func TestWriteAppliedGolden(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]spec.Plan{"applied": appliedPlan(), "apply_failed": failedPlan()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := spec.WriteApplied(&b, p, spec.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".txt", b.Bytes(), equalLines)
			var colored bytes.Buffer
			if err := spec.WriteApplied(&colored, p, spec.RenderOptions{Color: true}); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b.Bytes(), []byte("\x1b")) || !ansi.Match(colored.Bytes()) ||
				!bytes.Equal(ansi.ReplaceAll(colored.Bytes(), nil), b.Bytes()) {
				t.Fatalf("colour is not only escape codes added to the plain output:\n%q\n%q", colored.Bytes(), b.Bytes())
			}
		})
	}
}

func TestWriteAppliedDestroy(t *testing.T) {
	t.Parallel()
	p := newPlan(spec.ModeDestroy,
		change(spec.Delete, "role.buyer", "production/buyer", buyer(2), nil),
		change(spec.Delete, "environment.production", "production", production(), nil))
	for _, c := range p.Changes {
		p.Applied = append(p.Applied, spec.AppliedChange{Address: c.Address, Action: c.Action, At: planTime})
	}
	var b bytes.Buffer
	if err := spec.WriteApplied(&b, p, spec.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "role.buyer: Destruction complete\nenvironment.production: Destruction complete\n\nDestroy complete! Resources: 2 destroyed.\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestWritePlanColor checks that colour only adds escape codes: with them
// stripped the output is the plain one, and the plain one has none.
func TestWritePlanColor(t *testing.T) {
	t.Parallel()
	for _, f := range planFixtures() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			plain, colored := render(t, f.plan, false), render(t, f.plan, true)
			if bytes.Contains(plain, []byte("\x1b")) {
				t.Fatalf("plain output holds an escape code:\n%q", plain)
			}
			if !ansi.Match(colored) {
				t.Fatalf("coloured output holds no escape code:\n%s", colored)
			}
			if stripped := ansi.ReplaceAll(colored, nil); !bytes.Equal(stripped, plain) {
				t.Fatalf("coloured output without its escape codes differs from the plain one:\n%s\n---\n%s", stripped, plain)
			}
		})
	}
}

// TestWritePlanColorCodes checks each sign takes Terraform's colour.
func TestWritePlanColorCodes(t *testing.T) {
	t.Parallel()
	out := string(render(t, mixedPlan(), true))
	for code, what := range map[string]string{
		"\x1b[33m~\x1b[0m":                  "a yellow ~",
		"\x1b[31m-\x1b[0m/\x1b[32m+\x1b[0m": "a red and green -/+",
		"\x1b[31m-\x1b[0m app":              "a red - before a deleted block",
		"\x1b[1m  # role.buyer\x1b[0m":      "a bold comment",
		"\x1b[1mPlan:\x1b[0m":               "a bold Plan:",
	} {
		if !strings.Contains(out, code) {
			t.Errorf("no %s (%q) in:\n%s", what, code, out)
		}
	}
	if created := string(render(t, createOnlyPlan(), true)); !strings.Contains(created, "  \x1b[32m+\x1b[0m environment") {
		t.Errorf("no green + before a created block in:\n%s", created)
	}
}

func TestWritePlanSummary(t *testing.T) {
	t.Parallel()
	create := change(spec.Create, "role.a", "p/a", nil, map[string]any{"name": "a"})
	forget := change(spec.Forget, "role.b", "p/b", map[string]any{"name": "b"}, nil)
	imported := change(spec.NoOp, "role.c", "p/c", map[string]any{"name": "c"}, map[string]any{"name": "c"})
	imported.Importing = true
	replace := change(spec.Replace, "app.d", "p/d", map[string]any{"name": "d"}, map[string]any{"name": "e"})
	for _, tc := range []struct {
		plan spec.Plan
		want string
	}{
		{newPlan(spec.ModeNormal, create), "Plan: 1 to add, 0 to change, 0 to destroy."},
		{newPlan(spec.ModeNormal, create, replace), "Plan: 2 to add, 0 to change, 1 to destroy."},
		{newPlan(spec.ModeNormal, imported, create), "Plan: 1 to import, 1 to add, 0 to change, 0 to destroy."},
		{newPlan(spec.ModeNormal, forget), "Plan: 0 to add, 0 to change, 0 to destroy, 1 to forget."},
		{newPlan(spec.ModeNormal, imported, forget), "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy, 1 to forget."},
	} {
		lines := strings.Split(strings.TrimSpace(string(render(t, tc.plan, false))), "\n")
		if got := lines[len(lines)-1]; got != tc.want {
			t.Errorf("last line %q, want %q", got, tc.want)
		}
	}
}

func TestWritePlanHidesNoOps(t *testing.T) {
	t.Parallel()
	p := newPlan(spec.ModeNormal,
		noOp("environment.production", "production", production()),
		change(spec.Create, "role.a", "production/a", nil, map[string]any{"name": "a"}))
	out := string(render(t, p, false))
	if strings.Contains(out, "environment.production") || strings.Contains(out, `environment "production"`) {
		t.Errorf("a no-op change is shown:\n%s", out)
	}
	if !strings.Contains(out, "# role.a will be created") {
		t.Errorf("the create is not shown:\n%s", out)
	}
}
