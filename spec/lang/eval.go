package lang

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// evaluateResource evaluates r's attributes and adds it to the Desired.
// Once the evaluation has stopped (the work limit, a signal) nothing more
// is evaluated: every value would read unknown.
func (l *loader) evaluateResource(r *resource) {
	if r.kind == kindLocal {
		l.evaluateLocal(r)
		return
	}
	if r.failed || l.meter.stop != nil {
		return
	}
	ctx := l.evalContext(r)
	if r.forEach != nil {
		l.expand(r, ctx)
		return
	}
	l.evaluateInstance(r, ctx)
}

// evaluateInstance evaluates the attributes of r, a block without
// for_each or an instance of one, in ctx, and adds it to the Desired.
func (l *loader) evaluateInstance(r *resource, ctx *hcl.EvalContext) {
	r.vals, r.unknown = map[string]cty.Value{}, map[string]bool{}
	for _, as := range kinds[r.kind].attrs {
		a, ok := r.attrs[as.name]
		if !ok {
			continue
		}
		if v, ok := l.attrValue(a, as, ctx); ok {
			r.vals[as.name] = v
		} else {
			r.unknown[as.name] = true
		}
	}
	if a, ok := r.lifecycle["prevent_destroy"]; ok {
		v, ok := l.attrValue(a, attrSpec{name: a.Name, typ: cty.Bool}, ctx)
		r.preventDestroy = ok && v.True()
	}
	r.isolation = map[string]string{}
	for _, a := range sortedAttributes(r.policy) {
		if v, ok := l.attrValue(a, attrSpec{name: a.Name, typ: cty.String}, ctx); ok {
			r.isolation[a.Name] = v.AsString()
		}
	}
	r.evaluated = true
	l.add(r)
}

// attrValue evaluates attribute a and converts it to its type. It reports
// false, having reported why, when there is no valid value; it reports
// nothing about an unknown value (one that reads something invalid).
func (l *loader) attrValue(a *hcl.Attribute, as attrSpec, ctx *hcl.EvalContext) (cty.Value, bool) {
	val, diags := a.Expr.Value(ctx)
	l.diags = append(l.diags, diags...)
	if st := l.meter.stop; st != nil && st.Subject == nil {
		st.Subject = a.Expr.Range().Ptr()
	}
	if diags.HasErrors() || !val.IsWhollyKnown() {
		return cty.NilVal, false
	}
	subject := a.Expr.Range().Ptr()
	if val.ContainsMarked() && !as.secret {
		l.errorf(subject, "Sensitive value outside secrets",
			"The value of %s comes from env(), file() or a sensitive variable. Such values may only be used in secrets: %s is stored and shown in clear.",
			a.Name, a.Name)
		return cty.NilVal, false
	}
	val, _ = val.UnmarkDeep()
	if val.IsNull() {
		if as.required {
			l.errorf(subject, "Missing value for "+a.Name, "The argument %q is required; it cannot be null.", a.Name)
		}
		return cty.NilVal, false
	}
	if as.typ == anyObject {
		if t := val.Type(); !t.IsObjectType() && !t.IsMapType() {
			l.errorf(subject, "Incorrect attribute value type", "Inappropriate value for attribute %q: an object is required.", a.Name)
			return cty.NilVal, false
		}
		return val, true
	}
	val, err := convert.Convert(val, as.typ)
	if err == nil {
		err = checkValue(val)
	}
	if err != nil {
		l.errorf(subject, "Incorrect attribute value type", "Inappropriate value for attribute %q: %s.", a.Name, errText(err))
		return cty.NilVal, false
	}
	return val, true
}

// checkValue refuses a number that is not a whole number in the range of
// int, and a null element of a list or map.
func checkValue(v cty.Value) error {
	if v.Type() == cty.Number {
		f := v.AsBigFloat()
		if !f.IsInt() {
			return fmt.Errorf("a whole number is required")
		}
		if i, acc := f.Int64(); acc != big.Exact || i < math.MinInt32 || i > math.MaxInt32 {
			return fmt.Errorf("the number is too large")
		}
		return nil
	}
	if !v.CanIterateElements() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			return fmt.Errorf("element %s is null", pathText(cty.IndexPath(k)))
		}
	}
	return nil
}

// errText is the text of a conversion error, with the path to the value
// at fault ("element [1]: string required").
func errText(err error) string {
	if pe, ok := err.(cty.PathError); ok && len(pe.Path) > 0 {
		return "element " + pathText(pe.Path) + ": " + pe.Error()
	}
	return err.Error()
}

// pathText renders a path as in HCL: .name, ["key"], [0].
func pathText(p cty.Path) string {
	var b strings.Builder
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			b.WriteString("." + s.Name)
		case cty.IndexStep:
			switch {
			case s.Key.Type() == cty.String:
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			case s.Key.Type() == cty.Number:
				fmt.Fprintf(&b, "[%s]", s.Key.AsBigFloat().Text('f', -1))
			default:
				b.WriteString("[…]")
			}
		}
	}
	return strings.TrimPrefix(b.String(), ".")
}
