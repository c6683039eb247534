package lang

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/understudy-dev/understudy/spec"
)

// Suffix ends the name of every spec file; other files are ignored.
const Suffix = ".understudy.hcl"

// Options are the values given to a spec from outside its files.
type Options struct {
	// Vars are the -var name=value options, raw. Defaults to none.
	Vars map[string]string
	// VarFiles are the -var-file paths, in order: a later file overrides
	// an earlier one. Defaults to none.
	VarFiles []string
	// Getenv reads the environment for env() and UNDERSTUDY_VAR_<name>.
	// Defaults to os.Getenv.
	Getenv func(string) string
	// Context stops the evaluation when it is done (a signal, a
	// deadline), with a diagnostic. Defaults to context.Background().
	Context context.Context
	// MaxWork bounds the work of the evaluation (see the constant
	// MaxWork, the default); a test may lower or raise it.
	MaxWork int
}

// Config is an evaluated spec.
type Config struct {
	// Desired is what the spec declares, each slice sorted by address.
	Desired spec.Desired
	// Sources maps "<address>" to the range of the block's header, and
	// "<address>.<attribute>" (role.buyer.pool_size) to the range of the
	// attribute's value; an attribute the spec leaves out (a name that
	// defaults to the label) maps to the label. Entries of the maps and
	// of isolation_policy have keys of their own
	// (role.buyer.isolation_policy.leaderboards, app.chirp.settings.url).
	// Import, removed and moved blocks are "import.<to>", "removed.<from>"
	// and "moved.<from>".
	Sources map[string]hcl.Range
	// Files are the parsed spec files by name, to render diagnostics
	// with their source lines. Variable files are left out: they may
	// hold secrets, so their lines are never shown.
	Files map[string]*hcl.File
	// Variables are the variables' values, sensitive ones without their
	// value, for the plan's JSON.
	Variables []spec.Variable
}

// Load parses and evaluates the *.understudy.hcl files of dir. It always
// returns a Config, whose Files render the diagnostics; when diags has
// errors its Desired is incomplete and must not be planned.
func Load(dir string, o Options) (*Config, hcl.Diagnostics) {
	l := newLoader(dir, o)
	for _, name := range l.listDir() {
		src, d := readSource(name, false)
		if d != nil {
			l.diags = append(l.diags, d)
			l.broken = true
			continue
		}
		l.parse(name, src)
	}
	if !l.broken {
		l.evaluate()
		l.cfg.Variables = l.planVariables()
	}
	if l.meter.stop != nil {
		l.diags = slices.DeleteFunc(l.diags, func(d *hcl.Diagnostic) bool { return strings.Contains(d.Detail, errStopped.Error()) })
		l.diags = append(l.diags, l.meter.stop)
	}
	return l.cfg, l.finish()
}

// loader holds the state of one Load.
type loader struct {
	dir     string
	opts    Options
	getenv  func(string) string
	parser  *hclparse.Parser
	cfg     *Config
	diags   hcl.Diagnostics
	secrets []string // sensitive strings, redacted from every diagnostic
	funcs   map[string]function.Function
	meter   *meter
	// broken tells that a file did not parse: the others are not
	// evaluated, as they may refer to its blocks.
	broken bool
	blocks map[string][]*hcl.Block

	vars      map[string]*variable
	resources map[string]*resource // by address
	declared  []*resource          // in the order of the files
	locals    []*resource          // the local values, by name within each block
	// refs maps each kind and "var" to the labels the spec refers to,
	// declared or not, so that evaluation finds an undeclared one unknown
	// and reports nothing more about it.
	refs map[string]map[string]bool
	// varObj is what var reads, once the variables are resolved.
	varObj cty.Value
	// suffixes indexes the keys of Sources under each block with
	// for_each (see sourceSuffixes).
	suffixes map[string][]string
}

func newLoader(dir string, o Options) *loader {
	l := &loader{dir: dir, opts: o, getenv: o.Getenv, parser: hclparse.NewParser(),
		cfg: &Config{Sources: map[string]hcl.Range{}, Files: map[string]*hcl.File{}, Desired: spec.Desired{
			Environments: []spec.Environment{}, Apps: []spec.App{}, Roles: []spec.Role{},
			Destinations: []spec.Destination{}, Flows: []spec.Flow{}, Imports: []spec.Import{}, Removed: []spec.Removed{}, Moved: []spec.Moved{}}},
		blocks: map[string][]*hcl.Block{}, vars: map[string]*variable{}, resources: map[string]*resource{},
		refs: map[string]map[string]bool{}}
	if l.getenv == nil {
		l.getenv = os.Getenv
	}
	l.meter = &meter{ctx: cmp.Or(o.Context, context.Background()), limit: cmp.Or(o.MaxWork, MaxWork)}
	l.funcs = l.functions()
	for name, f := range l.funcs {
		l.funcs[name] = l.meter.meterFunc(name, f)
	}
	return l
}

// listDir returns the paths of the spec files of the directory, sorted.
func (l *loader) listDir() []string {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		l.errorf(nil, "Cannot read the spec directory", "%v.", err)
		return nil
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), Suffix) {
			names = append(names, filepath.Join(l.dir, e.Name()))
		}
	}
	if len(names) == 0 {
		l.errorf(nil, "No spec files", "The directory %s holds no *%s files.", l.dir, Suffix)
	}
	if len(names) > MaxFiles {
		l.errorf(nil, "Too many spec files", "The directory %s holds %d *%s files; a spec may have at most %d.", l.dir, len(names), Suffix, MaxFiles)
		l.broken = true
		return nil
	}
	return names
}

// fileSchema is what a spec file may hold.
var fileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "locals"},
	{Type: spec.KindEnvironment, LabelNames: []string{"name"}},
	{Type: spec.KindApp, LabelNames: []string{"name"}},
	{Type: spec.KindRole, LabelNames: []string{"name"}},
	{Type: spec.KindDestination, LabelNames: []string{"name"}},
	{Type: spec.KindFlow, LabelNames: []string{"name"}},
	{Type: "import"},
	{Type: "removed"},
	{Type: "moved"},
}}

// parse parses one spec file and sorts its blocks by type.
func (l *loader) parse(name string, src []byte) {
	f, diags := l.parser.ParseHCL(src, name)
	l.diags = append(l.diags, diags...)
	if f == nil {
		return
	}
	l.cfg.Files[name] = f
	if diags.HasErrors() {
		l.broken = true
		return
	}
	if body, ok := f.Body.(*hclsyntax.Body); ok {
		if d := l.meter.meterSyntax(body); d != nil {
			l.diags = append(l.diags, d)
			l.broken = true
			return
		}
	}
	content, diags := f.Body.Content(fileSchema)
	l.diags = append(l.diags, expected(diags, "A spec file", fileSchema)...)
	for _, b := range content.Blocks {
		l.blocks[b.Type] = append(l.blocks[b.Type], b)
	}
}

// evaluate evaluates the parsed files into cfg.
func (l *loader) evaluate() {
	l.declareVariables(l.blocks["variable"])
	l.resolveVariables()
	for _, kind := range spec.Kinds {
		for _, b := range l.blocks[kind] {
			l.declare(b)
		}
	}
	l.declareLocals(l.blocks["locals"])
	l.checkReferences()
	for _, r := range l.order() {
		l.evaluateResource(r)
	}
	l.checkNames()
	l.decodeImports(l.blocks["import"])
	l.decodeRemoved(l.blocks["removed"])
	l.decodeMoved(l.blocks["moved"])
	// Sorted by address, so that the JSON of a spec is stable.
	d := &l.cfg.Desired
	slices.SortFunc(d.Environments, func(a, b spec.Environment) int { return strings.Compare(a.Address, b.Address) })
	slices.SortFunc(d.Apps, func(a, b spec.App) int { return strings.Compare(a.Address, b.Address) })
	slices.SortFunc(d.Roles, func(a, b spec.Role) int { return strings.Compare(a.Address, b.Address) })
	slices.SortFunc(d.Destinations, func(a, b spec.Destination) int { return strings.Compare(a.Address, b.Address) })
	slices.SortFunc(d.Flows, func(a, b spec.Flow) int { return strings.Compare(a.Address, b.Address) })
	slices.SortFunc(d.Imports, func(a, b spec.Import) int { return strings.Compare(a.To, b.To) })
	slices.SortFunc(d.Removed, func(a, b spec.Removed) int { return strings.Compare(a.From, b.From) })
	slices.SortFunc(d.Moved, func(a, b spec.Moved) int { return strings.Compare(a.From, b.From) })
}

// finish returns the diagnostics sorted by file and position (those
// without a subject first), cleaned of anything that could show a
// sensitive value.
func (l *loader) finish() hcl.Diagnostics {
	slices.SortStableFunc(l.diags, func(a, b *hcl.Diagnostic) int {
		switch {
		case a.Subject == nil || b.Subject == nil:
			return cmp.Compare(boolInt(a.Subject != nil), boolInt(b.Subject != nil))
		case a.Subject.Filename != b.Subject.Filename:
			return strings.Compare(a.Subject.Filename, b.Subject.Filename)
		}
		return cmp.Compare(a.Subject.Start.Byte, b.Subject.Start.Byte)
	})
	return redact(l.diags, l.secrets)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// errorf records an error diagnostic at subject (nil for none).
func (l *loader) errorf(subject *hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary,
		Detail: fmt.Sprintf(format, args...), Subject: subject})
}

// sensitive records the strings in v as secrets to redact.
func (l *loader) sensitive(v cty.Value) {
	v, _ = v.UnmarkDeep()
	_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
			l.secrets = append(l.secrets, v.AsString())
		}
		return true, nil
	})
}

// at returns the position of r for a diagnostic's detail: file:line.
func at(r hcl.Range) string {
	return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line)
}
