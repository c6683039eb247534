package lang

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// thousand is a variable of 1,000 items, for nested for expressions.
var thousand = "variable \"items\" {\n  type    = list(number)\n  default = [" + "0" + strings.Repeat(", 0", 999) + "]\n}\n"

// bounded loads files, and fails unless its allocations stayed under
// 200 MB. How long it took is not checked here: the limits are counted in
// work and bytes, and speed belongs to benchmarks.
func bounded(t *testing.T, files map[string]string, o Options) hcl.Diagnostics {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, diags := loadFiles(t, files, o)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200<<20 {
		t.Errorf("the load allocated %d MB, want under 200", alloc>>20)
	}
	return diags
}

// Deep nesting, which the parser would recurse into until the stack
// overflows, is refused before parsing, at the line it passes the limit.
func TestDeepNestingIsRefusedBeforeParsing(t *testing.T) {
	const n = 100_000
	for name, expr := range map[string]string{
		"brackets":       strings.Repeat("[", n) + strings.Repeat("]", n),
		"parentheses":    strings.Repeat("(", n) + "1" + strings.Repeat(")", n),
		"objects":        strings.Repeat("{a = ", n) + "1" + strings.Repeat("}", n),
		"interpolations": strings.Repeat(`"${`, n) + "1" + strings.Repeat(`}"`, n),
		"nots":           strings.Repeat("!", n) + "true",
		"negations":      strings.Repeat("-", n) + "1",
		"sums":           strings.Repeat("1 + ", n) + "1",
		"conditionals":   strings.Repeat("true ? 1 : ", n/4) + "1",
		"indexes":        "var.x" + strings.Repeat("[var.x]", n),
		"directives":     `"` + strings.Repeat("%{ if true }", n/4) + strings.Repeat("%{ endif }", n/4) + `"`,
	} {
		t.Run(name, func(t *testing.T) {
			src := "environment \"p\" {\n  email_domains = " + expr + "\n}\n"
			diags := bounded(t, map[string]string{"main.understudy.hcl": src}, Options{})
			if len(diags) != 1 || diags[0].Subject == nil || filepath.Base(diags[0].Subject.Filename) != "main.understudy.hcl" ||
				diags[0].Subject.Start.Line != 2 || !strings.Contains(diags[0].Summary+diags[0].Detail, "at most") {
				t.Fatalf("diagnostics %v", diags)
			}
		})
	}
}

// Nesting and operators within the limits, and brackets in comments,
// strings and heredocs, are not refused.
func TestNestingWithinTheLimitsIsAccepted(t *testing.T) {
	src := `# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
/* ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((
*/
environment "p" {
  email_domains = [lower("QA.EXAMPLE.TEST")]
  custom_surfaces = [` + strings.Repeat("[", 30) + strings.Repeat("]", 30) + `[0][0][0][0] == [] ? "a" : "b", "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{"]
}

role "r" {
  environment = environment.p.name
  description = <<-EOT
    ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((( "
    ${environment.p.name}
    EOT
  pool_size = ` + strings.Repeat("1 + ", 100) + `0 - 99
}
`
	_, cfg, diags := loadFiles(t, map[string]string{"main.understudy.hcl": src}, Options{})
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %v", diags)
	}
	if r := cfg.Desired.Roles; len(r) != 1 || r[0].PoolSize == nil || *r[0].PoolSize != 1 || !strings.Contains(r[0].Description, "\np\n") {
		t.Fatalf("roles %+v", r)
	}
}

// Nested for expressions over 1,000 items (10^9 iterations) stop at the
// work limit, quickly, with a diagnostic at the expression.
func TestNestedForExpressionsStopAtTheWorkLimit(t *testing.T) {
	for name, expr := range map[string]string{
		"three fors":  "[for a in var.items : [for b in var.items : [for c in var.items : \"x\"]]]",
		"for and if":  "[for a in var.items : length([for b in var.items : [for c in var.items : c] if b == 0])]",
		"template":    "[for a in var.items : \"%{ for b in var.items }%{ for c in var.items }x%{ endfor }%{ endfor }\"]",
		"join":        "[for a in var.items : join(\",\", [for b in var.items : join(\",\", [for c in var.items : \"x\"])])]",
		"object":      "[for a in var.items : {for b in var.items : tostring(b) => [for c in var.items : c]...}]",
		"concat grow": "[for a in var.items : concat([for b in var.items : b], [for b in var.items : b], [for b in var.items : [for c in var.items : c]])]",
	} {
		t.Run(name, func(t *testing.T) {
			src := thousand + "environment \"p\" {\n  email_domains = " + expr + "\n}\n"
			// A tenth of the default limit keeps the test short; the
			// limit is counted in work, so its size changes nothing else.
			diags := bounded(t, map[string]string{"main.understudy.hcl": src}, Options{MaxWork: MaxWork / 10})
			d := onlyError(t, diags)
			if d.Summary != "Evaluation too large" || d.Subject == nil || d.Subject.Start.Line != 6 ||
				filepath.Base(d.Subject.Filename) != "main.understudy.hcl" || !strings.Contains(d.Detail, "25000 units") {
				t.Fatalf("diagnostic %v", d)
			}
		})
	}
}

// A function whose result would be huge is refused before it builds it.
func TestHugeFunctionResultsAreRefused(t *testing.T) {
	for name, expr := range map[string]string{
		"format width": `[format("%999999999d", 1)]`,
		"replace":      `[replace("` + strings.Repeat("a", 5000) + `", "", "` + strings.Repeat("b", 5000) + `")]`,
		"join":         `[join("` + strings.Repeat("s", 10000) + `", [for a in var.items : "x"])]`,
	} {
		t.Run(name, func(t *testing.T) {
			src := thousand + "environment \"p\" {\n  email_domains = " + expr + "\n}\n"
			diags := bounded(t, map[string]string{"main.understudy.hcl": src}, Options{})
			d := onlyError(t, diags)
			if !strings.Contains(d.Detail, "longer than") || d.Subject == nil || d.Subject.Start.Line != 6 {
				t.Fatalf("diagnostic %v", d)
			}
		})
	}
}

// A cancelled context (SIGTERM in the CLI) stops the evaluation.
func TestAnEvaluationStopsWhenItsContextIsDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := thousand + "environment \"p\" {\n  email_domains = [for a in var.items : [for b in var.items : [for c in var.items : \"x\"]]]\n}\n"
	diags := bounded(t, map[string]string{"main.understudy.hcl": src}, Options{Context: ctx, MaxWork: 1 << 40})
	d := onlyError(t, diags)
	if d.Summary != "Evaluation interrupted" || d.Subject == nil || d.Subject.Start.Line != 6 || !strings.Contains(d.Detail, "context canceled") {
		t.Fatalf("diagnostic %v", d)
	}
}

// Too large a file, and too many files, are refused, naming them.
func TestFileSizeAndCountAreBounded(t *testing.T) {
	big := "environment \"p\" {\n  email_domains = []\n}\n#" + strings.Repeat("x", MaxFileSize) + "\n"
	_, _, diags := loadFiles(t, map[string]string{"main.understudy.hcl": big}, Options{})
	if d := onlyError(t, diags); d.Summary != "File too large" || !strings.Contains(d.Detail, "main.understudy.hcl") {
		t.Errorf("diagnostic %v", d)
	}
	if _, _, d := FormatFile(filepath.Join(writeDir(t, map[string]string{"main.understudy.hcl": big}), "main.understudy.hcl")); len(d) != 1 || d[0].Summary != "File too large" {
		t.Errorf("fmt: diagnostics %v", d)
	}
	files := map[string]string{}
	for i := range MaxFiles + 1 {
		files[fmt.Sprintf("f%d.understudy.hcl", i)] = ""
	}
	_, _, diags = loadFiles(t, files, Options{})
	if d := onlyError(t, diags); d.Summary != "Too many spec files" || !strings.Contains(d.Detail, "101") {
		t.Errorf("diagnostic %v", d)
	}
	if _, d := FormatTargets([]string{writeDir(t, files)}, false); len(d) != 1 || d[0].Summary != "Too many spec files" {
		t.Errorf("fmt: diagnostics %v", d)
	}
	// A variables file, too.
	vars := filepath.Join(t.TempDir(), "values.hcl")
	if err := os.WriteFile(vars, []byte("x = "+strings.Repeat("[", 1000)+strings.Repeat("]", 1000)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, diags = loadFiles(t, map[string]string{"main.understudy.hcl": "variable \"x\" {\n  default = []\n}\n"}, Options{VarFiles: []string{vars}})
	if d := onlyError(t, diags); d.Summary != "Expression nested too deeply" || d.Subject == nil || d.Subject.Filename != vars {
		t.Errorf("variables file: diagnostic %v", d)
	}
}

func onlyError(t *testing.T, diags hcl.Diagnostics) *hcl.Diagnostic {
	t.Helper()
	if len(diags) != 1 || diags[0].Severity != hcl.DiagError {
		t.Fatalf("want one error, got %d: %v", len(diags), diags)
	}
	return diags[0]
}

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Secrets from env() go through the metered templates, for expressions and
// functions as any value.
func TestSecretsThroughMeteredExpressions(t *testing.T) {
	src := `environment "p" {
  email_domains = ["qa.example.test"]
}

app "a" {
  environment = environment.p.name
  provider    = "webhook"
  settings    = { url = "https://hooks.example.test" }
  secrets = {
    k = "${env("K")}-${upper(env("K"))}"
    l = join(",", [for s in [env("K"), "x"] : "${s}!"])
  }
}
`
	_, cfg, diags := loadFiles(t, map[string]string{"main.understudy.hcl": src}, Options{Getenv: func(string) string { return "sekrit" }})
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %v", diags)
	}
	if s := cfg.Desired.Apps[0].Secrets; s["k"] != "sekrit-SEKRIT" || s["l"] != "sekrit!,x!" {
		t.Fatalf("secrets %v", s)
	}
}

// MaxElements elements is converted in bounded time.
func TestLongCollectionsAreRefused(t *testing.T) {
	list := func(n int) string {
		return "[" + strings.Repeat("\"s\", ", n) + "]"
	}
	object := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, "k%d = \"v\", ", i)
		}
		return b.String() + "}"
	}
	spec := func(surfaces string) string {
		return "variable \"v\" {\n  type    = list(string)\n  default = []\n}\n\nenvironment \"p\" {\n  email_domains   = [\"qa.example.test\"]\n  custom_surfaces = " + surfaces + "\n}\n"
	}
	long := strings.Repeat(",", 50_000)
	for name, c := range map[string]struct {
		files   map[string]string
		o       Options
		summary string
		detail  string
	}{
		"literal list":   {files: map[string]string{"main.understudy.hcl": spec(list(MaxElements + 1))}, summary: "Too many elements", detail: "10001 elements"},
		"literal object": {files: map[string]string{"main.understudy.hcl": spec("[for k, v in " + object(MaxElements+1) + " : k]")}, summary: "Too many elements", detail: "10001 elements"},
		"var file":       {files: map[string]string{"main.understudy.hcl": spec("var.v"), "big.hcl": "v = " + list(MaxElements+1) + "\n"}, o: Options{VarFiles: []string{"big.hcl"}}, summary: "Too many elements"},
		"var":            {files: map[string]string{"main.understudy.hcl": spec("var.v")}, o: Options{Vars: map[string]string{"v": list(MaxElements + 1)}}, summary: "Too many elements"},
		"function":       {files: map[string]string{"main.understudy.hcl": spec(`split(",", "` + long + `")`)}, summary: "Error in function call", detail: "more than 10000 elements"},
	} {
		t.Run(name, func(t *testing.T) {
			files := c.files
			if len(c.o.VarFiles) > 0 {
				dir := t.TempDir()
				p := filepath.Join(dir, "big.hcl")
				if err := os.WriteFile(p, []byte(files["big.hcl"]), 0o600); err != nil {
					t.Fatal(err)
				}
				c.o.VarFiles = []string{p}
				files = map[string]string{"main.understudy.hcl": files["main.understudy.hcl"]}
			}
			diags := bounded(t, files, c.o)
			d := onlyError(t, diags)
			if d.Summary != c.summary || !strings.Contains(d.Detail, c.detail) || d.Subject == nil {
				t.Fatalf("diagnostic %v", d)
			}
		})
	}
	_, cfg, diags := loadFiles(t, map[string]string{"main.understudy.hcl": spec(list(MaxElements))}, Options{})
	if diags.HasErrors() || len(cfg.Desired.Environments) != 1 || len(cfg.Desired.Environments[0].CustomSurfaces) != MaxElements {
		t.Fatalf("diagnostics %s", diagsText(diags))
	}
}

// manyBlocks is a spec of one environment and n roles, each role
// declaring role.
func manyBlocks(n int, role string) string {
	var b strings.Builder
	b.WriteString("variable \"domain\" {\n  default = \"qa.example.test\"\n}\n\n")
	for i := range n {
		fmt.Fprintf(&b, "environment \"e%d\" {\n  email_domains = [var.domain]\n}\n\n", i)
	}
	for i := range n {
		fmt.Fprintf(&b, role, i)
	}
	return b.String()
}

// A spec of as many blocks as its files can hold is evaluated in memory
// that grows with its size: each block reads only the blocks it refers
// to, not every block declared before it.
func TestManyBlocksAreEvaluatedInLinearTime(t *testing.T) {
	src := manyBlocks(4000, "role \"r%[1]d\" {\n  environment = environment.e%[1]d.name\n}\n\n")
	if len(src) > MaxFileSize {
		t.Fatalf("the spec has %d bytes, over the limit of a file", len(src))
	}
	diags := bounded(t, map[string]string{mainFile: src}, Options{})
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %s", diagsText(diags))
	}
	_, cfg, _ := loadFiles(t, map[string]string{mainFile: manyBlocks(3, "role \"r%[1]d\" {\n  environment = environment.e%[1]d.name\n}\n\n")}, Options{})
	if len(cfg.Desired.Roles) != 3 || cfg.Desired.Roles[2].Environment != "e2" || cfg.Desired.Environments[1].EmailDomains[0] != "qa.example.test" {
		t.Fatalf("desired %+v", cfg.Desired)
	}
}

// manyInstances is a spec of n local values, n environments and n roles,
// each environment with two instances and each role with one, reading the
// local value and the environment of the same number.
func manyInstances(n int) string {
	var b strings.Builder
	b.WriteString("variable \"domain\" {\n  default = \"qa.example.test\"\n}\n\n")
	for i := range n {
		fmt.Fprintf(&b, "locals {\n  d%d = \"%d.${var.domain}\"\n}\n\n", i, i)
		fmt.Fprintf(&b, "environment \"e%[1]d\" {\n  for_each      = toset([\"a%[1]d\", \"b%[1]d\"])\n  email_domains = [\"${each.key}.${local.d%[1]d}\"]\n}\n\n", i)
		fmt.Fprintf(&b, "role \"r%[1]d\" {\n  for_each    = {x%[1]d = local.d%[1]d}\n  environment = environment.e%[1]d[\"b%[1]d\"].name\n  description = \"${each.key} ${each.value} ${environment.e%[1]d[\"a%[1]d\"].email_domains[0]}\"\n}\n\n", i)
	}
	return b.String()
}

// Blocks with for_each, and local values, read only what they refer to
// too: a reference to a for_each block reads its instances by key.
func TestManyForEachBlocksAndLocalsAreEvaluatedInLinearTime(t *testing.T) {
	src := manyInstances(1000)
	if len(src) > MaxFileSize {
		t.Fatalf("the spec has %d bytes, over the limit of a file", len(src))
	}
	diags := bounded(t, map[string]string{mainFile: src}, Options{})
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %s", diagsText(diags))
	}
	_, cfg, diags := loadFiles(t, map[string]string{mainFile: manyInstances(3)}, Options{})
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %s", diagsText(diags))
	}
	d := cfg.Desired
	if len(d.Environments) != 6 || d.Environments[5].Address != `environment.e2["b2"]` || d.Environments[5].EmailDomains[0] != "b2.2.qa.example.test" {
		t.Fatalf("environments %+v", d.Environments)
	}
	if len(d.Roles) != 3 {
		t.Fatalf("roles %+v", d.Roles)
	}
	r := d.Roles[1]
	if r.Address != `role.r1["x1"]` || r.Environment != "b1" || r.Description != "x1 1.qa.example.test a1.1.qa.example.test" {
		t.Fatalf("role %+v", r)
	}
}

// A reference to every block of a kind (environment, not environment.e)
// reads each of them: from many blocks it counts as that much work, and
// stops at the limit instead of building a graph of every pair.
func TestWholeKindReferencesCountAsWork(t *testing.T) {
	src := manyBlocks(2000, "role \"r%[1]d\" {\n  environment = environment.e0.name\n  description = \"${length([for e in environment : e.name])}\"\n}\n\n")
	diags := bounded(t, map[string]string{mainFile: src}, Options{})
	d := onlyError(t, diags)
	if d.Summary != "Evaluation too large" || d.Subject == nil || d.Subject.Start.Line < 6000 || !strings.Contains(d.Detail, "more than 250000 units of work") {
		t.Fatalf("diagnostic %v", d)
	}
	// A few are fine, and read every block of the kind.
	_, cfg, diags := loadFiles(t, map[string]string{mainFile: manyBlocks(3, "role \"r%[1]d\" {\n  environment = environment.e0.name\n  description = \"${length([for e in environment : e.name])}\"\n}\n\n")}, Options{})
	if diags.HasErrors() || len(cfg.Desired.Roles) != 3 || cfg.Desired.Roles[0].Description != "3" {
		t.Fatalf("diagnostics %s, desired %+v", diagsText(diags), cfg.Desired)
	}
}

// A spec file that is not a regular file, such as a link to a device
// (/dev/zero would be read without end) or a named pipe (which would
// block), is refused by name, by fmt and by a load alike.
func TestASpecFileThatIsNotARegularFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "dev.understudy.hcl")
	if err := os.Symlink(os.DevNull, dev); err != nil {
		t.Fatal(err)
	}
	if _, _, d := FormatFile(dev); len(d) != 1 || d[0].Summary != "Cannot read a file" || !strings.Contains(d[0].Detail, "dev.understudy.hcl is not a regular file (it is a device)") {
		t.Errorf("fmt of a link to a device: %v", d)
	}
	if _, d := Load(dir, Options{Getenv: func(string) string { return "" }}); !d.HasErrors() || !strings.Contains(d.Error(), "is not a regular file") {
		t.Errorf("load of a link to a device: %v", d)
	}
	pipe := filepath.Join(t.TempDir(), "pipe.understudy.hcl")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	if _, _, d := FormatFile(pipe); len(d) != 1 || !strings.Contains(d[0].Detail, "is not a regular file (it is a named pipe)") {
		t.Errorf("fmt of a named pipe: %v", d)
	}
	// A variables file may be a named pipe (-var-file=<(…)), read up to
	// the size limit; a device may not.
	go func() {
		if f, err := os.OpenFile(pipe, os.O_WRONLY, 0); err == nil {
			f.WriteString("region = \"eu\"\n")
			f.Close()
		}
	}()
	if _, d := readSource(pipe, true); d != nil {
		t.Errorf("a variables file that is a named pipe: %v", d)
	}
	if _, d := readSource(dev, true); d == nil || !strings.Contains(d.Detail, "(it is a device)") {
		t.Errorf("a variables file that is a device: %v", d)
	}
}
