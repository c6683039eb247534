package lang

import (
	"fmt"
	"maps"
	"slices"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/understudy-dev/understudy/spec"
)

// resource is an environment, app, role, destination or flow block.
type resource struct {
	kind, label, addr string
	block             *hcl.Block
	attrs             hcl.Attributes
	lifecycle         hcl.Attributes
	policy            hcl.Attributes // the entries of isolation_policy
	// deps maps the address of each block this one refers to to the
	// first reference.
	deps map[string]hcl.Range
	// refs holds the labels of each kind (and local) that this block
	// refers to, declared or not; wholeKind, the kinds it reads whole
	// (environment, not environment.e).
	refs      map[string]map[string]bool
	wholeKind map[string]bool
	// failed leaves the block out of evaluation (it is in a loop).
	failed bool

	// Set by evaluation. vals holds the attributes that evaluated to a
	// known value; unknown names those that did not.
	evaluated      bool
	vals           map[string]cty.Value
	unknown        map[string]bool
	preventDestroy bool
	isolation      map[string]string
	obj            cty.Value // what references to the block read

	// localAttr is the attribute of a local value (kind local).
	localAttr *hcl.Attribute
	// forEach is the block's for_each argument, nil when it has none;
	// evaluation makes one instance of the block per key.
	forEach   *hcl.Attribute
	instances []*resource
	// key is the instance key of an instance of a for_each block.
	key *string
}

// validLabel reports whether b's label is an identifier, and reports an
// error when it is not.
func (l *loader) validLabel(b *hcl.Block) bool {
	if hclsyntax.ValidIdentifier(b.Labels[0]) {
		return true
	}
	l.errorf(b.LabelRanges[0].Ptr(), "Invalid label",
		"The label of %s block must be an identifier: letters, digits, underscores and dashes, not starting with a digit or a dash.", article(b.Type))
	return false
}

// article returns kind with its indefinite article: "an environment".
func article(kind string) string {
	switch kind[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + kind
	}
	return "a " + kind
}

// declare decodes the structure of a resource block and records where
// each of its attributes is.
func (l *loader) declare(b *hcl.Block) {
	if !l.validLabel(b) {
		return
	}
	addr := b.Type + "." + b.Labels[0]
	if prev, ok := l.resources[addr]; ok {
		l.errorf(b.LabelRanges[0].Ptr(), "Duplicate "+b.Type+" block",
			"%s block labelled %q was already declared at %s; labels must be unique within a kind.",
			capital(article(b.Type)), b.Labels[0], at(prev.block.DefRange))
		return
	}
	r := &resource{kind: b.Type, label: b.Labels[0], addr: addr, block: b, lifecycle: hcl.Attributes{}, policy: hcl.Attributes{}}
	l.resources[addr] = r
	l.declared = append(l.declared, r)
	l.cfg.Sources[addr] = b.DefRange
	l.cfg.Sources[addr+".name"] = b.LabelRanges[0]
	schema := kinds[b.Type].schema()
	content, diags := b.Body.Content(schema)
	l.diags = append(l.diags, expected(diags, capital(article(b.Type))+" block", schema)...)
	r.attrs = content.Attributes
	l.sources(addr, r.attrs)
	if fe, ok := r.attrs[metaForEach]; ok {
		r.forEach = fe
		delete(r.attrs, metaForEach)
	}
	seen := map[string]*hcl.Block{}
	for _, nb := range content.Blocks {
		if prev, ok := seen[nb.Type]; ok {
			l.errorf(nb.DefRange.Ptr(), "Duplicate "+nb.Type+" block",
				"%s block holds at most one %s block; the first is at %s.", capital(article(b.Type)), nb.Type, at(prev.DefRange))
			continue
		}
		seen[nb.Type] = nb
		l.cfg.Sources[addr+"."+nb.Type] = nb.DefRange
		switch nb.Type {
		case blockLifecycle:
			content, diags := nb.Body.Content(lifecycleSchema)
			l.diags = append(l.diags, expected(diags, "A lifecycle block", lifecycleSchema)...)
			r.lifecycle = content.Attributes
			l.sources(addr+"."+nb.Type, r.lifecycle)
		case blockIsolationPolicy:
			attrs, diags := nb.Body.JustAttributes()
			l.diags = append(l.diags, diags...)
			r.policy = attrs
			l.sources(addr+"."+nb.Type, r.policy)
		}
	}
}

// sources records the range of each attribute under prefix, and of each
// entry of an attribute written as an object ({ key = value }).
func (l *loader) sources(prefix string, attrs hcl.Attributes) {
	for name, a := range attrs {
		key := prefix + "." + name
		l.cfg.Sources[key] = a.Expr.Range()
		items, diags := hcl.ExprMap(a.Expr)
		if diags.HasErrors() {
			continue
		}
		for _, kv := range items {
			k, diags := kv.Key.Value(nil)
			if !diags.HasErrors() && k.Type() == cty.String && k.IsKnown() && !k.IsNull() {
				l.cfg.Sources[key+"."+k.AsString()] = kv.Value.Range()
			}
		}
	}
}

// capital returns s with its first letter in upper case (s is ASCII).
func capital(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// expressions returns every expression of the block, in source order.
func (r *resource) expressions() []hcl.Expression {
	var list []hcl.Expression
	if r.forEach != nil {
		list = append(list, r.forEach.Expr)
	}
	for _, attrs := range []hcl.Attributes{r.attrs, r.lifecycle, r.policy} {
		for _, a := range sortedAttributes(attrs) {
			list = append(list, a.Expr)
		}
	}
	return list
}

// checkReferences finds what each block refers to, and reports the
// references to undeclared blocks and variables.
func (l *loader) checkReferences() {
	for _, r := range append(slices.Clone(l.declared), l.locals...) {
		r.deps, r.refs, r.wholeKind = map[string]hcl.Range{}, map[string]map[string]bool{}, map[string]bool{}
		for _, expr := range r.expressions() {
			for _, t := range expr.Variables() {
				l.reference(r, t)
			}
		}
	}
}

// reference records one reference t made by r.
func (l *loader) reference(r *resource, t hcl.Traversal) {
	root := t.RootName()
	if root == "each" && r.forEach == nil {
		l.errorf(t.SourceRange().Ptr(), `Reference to "each" in context without for_each`,
			`The "each" object can be used only in a block that sets the "for_each" argument.`)
		return
	}
	if root == kindLocal {
		l.localReference(r, t)
		return
	}
	if _, isKind := kinds[root]; !isKind && root != "var" {
		return // evaluation reports an unknown name
	}
	name, ok := traversalLabel(t)
	if !ok && root != "var" {
		// The whole kind, or an index computed at evaluation.
		l.wholeKindReference(r, root, l.declared, t)
		return
	}
	if !ok {
		return
	}
	l.addRef(r, root, name)
	if root == "var" {
		if _, declared := l.vars[name]; !declared {
			l.errorf(t.SourceRange().Ptr(), "Reference to undeclared variable",
				"No variable block declares %q.%s", name, suggest(name, slices.Collect(maps.Keys(l.vars))))
		}
		return
	}
	addr := root + "." + name
	if _, declared := l.resources[addr]; !declared {
		l.errorf(t.SourceRange().Ptr(), "Reference to undeclared "+root,
			"No %s block is labelled %q.%s", root, name, suggest(name, l.labels(root)))
		return
	}
	if _, seen := r.deps[addr]; !seen {
		r.deps[addr] = t.SourceRange()
	}
}

// wholeKindReference records that r reads every block of kind (of
// candidates) through t. Reading them counts as work, so that many blocks
// each reading many others stop at the limit instead of building a graph
// of every pair.
func (l *loader) wholeKindReference(r *resource, kind string, candidates []*resource, t hcl.Traversal) {
	if r.wholeKind[kind] || l.meter.stop != nil {
		return
	}
	r.wholeKind[kind] = true
	n := 0
	for _, other := range candidates {
		if _, seen := r.deps[other.addr]; other.kind == kind && !seen {
			r.deps[other.addr] = t.SourceRange()
			n++
		}
	}
	l.meter.spend(n, t.SourceRange())
}

// addRef records that r refers to the label name of kind (or var),
// declared or not.
func (l *loader) addRef(r *resource, kind, name string) {
	if l.refs[kind] == nil {
		l.refs[kind] = map[string]bool{}
	}
	l.refs[kind][name] = true
	if r.refs[kind] == nil {
		r.refs[kind] = map[string]bool{}
	}
	r.refs[kind][name] = true
}

// traversalLabel returns the name t reads after its root: the label of a
// block or the name of a variable.
func traversalLabel(t hcl.Traversal) (string, bool) {
	if len(t) < 2 {
		return "", false
	}
	switch step := t[1].(type) {
	case hcl.TraverseAttr:
		return step.Name, true
	case hcl.TraverseIndex:
		if step.Key.Type() == cty.String && step.Key.IsKnown() && !step.Key.IsNull() {
			return step.Key.AsString(), true
		}
	}
	return "", false
}

// labels returns the labels of the blocks of a kind.
func (l *loader) labels(kind string) []string {
	var list []string
	for _, r := range l.declared {
		if r.kind == kind {
			list = append(list, r.label)
		}
	}
	return list
}

// suggest returns " Did you mean "x"?" for the candidate closest to name,
// or "" when none is close.
func suggest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein.Distance(name, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

// kindOf returns the kind of an address.
func kindOf(addr string) string {
	for _, k := range spec.Kinds {
		if len(addr) > len(k) && addr[:len(k)+1] == k+"." {
			return k
		}
	}
	return ""
}
