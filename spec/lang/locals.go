package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// kindLocal is the kind of the graph node of a local value; its address
// is "local.<name>".
const kindLocal = "local"

// declareLocals declares the values of the locals blocks (a spec may
// hold several) as nodes of the graph, so that they are evaluated in the
// order of their references with the other blocks.
func (l *loader) declareLocals(blocks []*hcl.Block) {
	for _, b := range blocks {
		attrs, diags := b.Body.JustAttributes()
		l.diags = append(l.diags, diags...)
		for _, a := range sortedAttributes(attrs) {
			addr := kindLocal + "." + a.Name
			if prev, ok := l.resources[addr]; ok {
				l.errorf(a.NameRange.Ptr(), "Duplicate local value",
					"A local value named %q was already defined at %s; local value names must be unique within a spec.",
					a.Name, at(prev.localAttr.NameRange))
				continue
			}
			r := &resource{kind: kindLocal, label: a.Name, addr: addr, block: b, localAttr: a,
				attrs: hcl.Attributes{a.Name: a}, lifecycle: hcl.Attributes{}, policy: hcl.Attributes{}}
			l.resources[addr] = r
			l.locals = append(l.locals, r)
			l.cfg.Sources[addr] = a.Expr.Range()
		}
	}
}

// evaluateLocal evaluates a local value. A local that cannot be
// evaluated reads as unknown, so that only its own error is reported.
func (l *loader) evaluateLocal(r *resource) {
	if r.failed || l.meter.stop != nil {
		return
	}
	val, diags := r.localAttr.Expr.Value(l.evalContext(r))
	l.diags = append(l.diags, diags...)
	if st := l.meter.stop; st != nil && st.Subject == nil {
		st.Subject = r.localAttr.Expr.Range().Ptr()
	}
	if diags.HasErrors() {
		val = cty.DynamicVal
	}
	r.evaluated = true
	r.obj = val
}

// localReference records the reference t, to local.<name>, made by r,
// and reports a reference to a local value no locals block defines.
func (l *loader) localReference(r *resource, t hcl.Traversal) {
	name, ok := traversalLabel(t)
	if !ok { // local alone, or local[expr]: every local value
		l.wholeKindReference(r, kindLocal, l.locals, t)
		return
	}
	l.addRef(r, kindLocal, name)
	addr := kindLocal + "." + name
	if _, declared := l.resources[addr]; !declared {
		var names []string
		for _, lr := range l.locals {
			names = append(names, lr.label)
		}
		l.errorf(t.SourceRange().Ptr(), "Reference to undeclared local value",
			"No locals block defines %q.%s", name, suggest(name, names))
		return
	}
	if _, seen := r.deps[addr]; !seen {
		r.deps[addr] = t.SourceRange()
	}
}
