package lang

import (
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// order returns the resources in dependency order, each after the blocks
// it refers to. It reports each loop of references and marks its blocks
// failed.
func (l *loader) order() []*resource {
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var out []*resource
	var stack []string
	var visit func(r *resource)
	visit = func(r *resource) {
		state[r.addr] = visiting
		stack = append(stack, r.addr)
		for _, dep := range slices.Sorted(maps.Keys(r.deps)) {
			switch state[dep] {
			case unseen:
				visit(l.resources[dep])
			case visiting:
				l.cycle(stack, dep, r.deps[dep])
			}
		}
		stack = stack[:len(stack)-1]
		state[r.addr] = done
		out = append(out, r)
	}
	for _, addr := range slices.Sorted(maps.Keys(l.resources)) {
		if state[addr] == unseen {
			visit(l.resources[addr])
		}
	}
	return out
}

// cycle reports the loop of references that ref, to the block at to,
// closes on the stack of blocks being visited.
func (l *loader) cycle(stack []string, to string, ref hcl.Range) {
	loop := append(slices.Clone(stack[slices.Index(stack, to):]), to)
	for _, addr := range loop {
		l.resources[addr].failed = true
	}
	l.errorf(&ref, "Reference cycle",
		"%s: blocks and local values cannot refer to each other in a loop.", strings.Join(loop, " → "))
}

// evalContext returns what the expressions of r read (of every block
// when r is nil): var, the blocks and local values r refers to, evaluated
// so far, and the functions. Whatever is undeclared, invalid or not
// evaluated reads as unknown, so that it is reported once. Reading only
// r's references keeps the evaluation of a spec linear in its size.
func (l *loader) evalContext(r *resource) *hcl.EvalContext {
	if l.varObj == cty.NilVal {
		vars := map[string]cty.Value{}
		for name, v := range l.vars {
			vars[name] = v.value
		}
		unknownRefs(vars, l.refs["var"])
		l.varObj = cty.ObjectVal(vars)
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": l.varObj}, Functions: l.funcs}
	objs := map[string]map[string]cty.Value{kindLocal: {}}
	for kind := range kinds {
		objs[kind] = map[string]cty.Value{}
	}
	if r == nil {
		for _, d := range append(slices.Clone(l.declared), l.locals...) {
			objs[d.kind][d.label] = d.object()
		}
	} else {
		for addr := range r.deps {
			d := l.resources[addr]
			objs[d.kind][d.label] = d.object()
		}
	}
	for kind, vals := range objs {
		if r == nil || r.wholeKind[kind] {
			unknownRefs(vals, l.refs[kind])
		} else {
			unknownRefs(vals, r.refs[kind])
		}
		ctx.Variables[kind] = cty.ObjectVal(vals)
	}
	// each outside a block with for_each is reported by reference; the
	// instances of such a block read theirs from a child context.
	ctx.Variables["each"] = cty.DynamicVal
	return ctx
}

// unknownRefs adds an unknown value to vals for each name referred to
// that vals lacks.
func unknownRefs(vals map[string]cty.Value, refs map[string]bool) {
	for name := range refs {
		if _, ok := vals[name]; !ok {
			vals[name] = cty.DynamicVal
		}
	}
}

// object returns what a reference to r reads: its attributes but its
// secrets, with name defaulted to the label.
func (r *resource) object() cty.Value {
	if !r.evaluated || r.failed {
		return cty.DynamicVal
	}
	if r.obj != cty.NilVal {
		return r.obj
	}
	if r.forEach != nil {
		insts := map[string]cty.Value{}
		for _, inst := range r.instances {
			insts[*inst.key] = inst.object()
		}
		r.obj = cty.ObjectVal(insts)
		return r.obj
	}
	attrs := map[string]cty.Value{}
	for _, as := range kinds[r.kind].attrs {
		switch v, ok := r.vals[as.name]; {
		case as.secret:
		case r.unknown[as.name]:
			attrs[as.name] = cty.DynamicVal
		case ok:
			attrs[as.name] = v
		default:
			attrs[as.name] = cty.NullVal(as.typ)
		}
	}
	if !r.unknown["name"] {
		attrs["name"] = cty.StringVal(r.name())
	}
	r.obj = cty.ObjectVal(attrs)
	return r.obj
}
