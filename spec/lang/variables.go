package lang

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// markSensitive marks the values that come from env(), file() and the
// variables declared sensitive.
const markSensitive = "sensitive"

// envVarPrefix prefixes the environment variables that set variables.
const envVarPrefix = "UNDERSTUDY_VAR_"

// variable is a variable block and the value it was given.
type variable struct {
	name      string
	block     *hcl.Block
	typ       cty.Type
	def       cty.Value // cty.NilVal when there is no default
	sensitive bool
	value     cty.Value // cty.NilVal until set
	// invalid tells that the declaration or a value given is invalid
	// (and reported): the variable reads as unknown.
	invalid bool
}

// parseHCL tells whether a raw value is parsed as an HCL expression
// rather than taken as a string: for the complex types, as Terraform does.
func (v *variable) parseHCL() bool {
	return !v.typ.IsPrimitiveType() && v.typ != cty.DynamicPseudoType
}

// declareVariables decodes the variable blocks.
func (l *loader) declareVariables(blocks []*hcl.Block) {
	for _, b := range blocks {
		name := b.Labels[0]
		if !l.validLabel(b) {
			continue
		}
		if prev, ok := l.vars[name]; ok {
			l.errorf(b.LabelRanges[0].Ptr(), "Duplicate variable",
				"A variable named %q was already declared at %s; variable names must be unique.", name, at(prev.block.DefRange))
			continue
		}
		v := &variable{name: name, block: b, typ: cty.DynamicPseudoType}
		l.vars[name] = v
		content, diags := b.Body.Content(variableSchema)
		l.diags = append(l.diags, expected(diags, "A variable block", variableSchema)...)
		v.invalid = !l.decodeVariable(v, content.Attributes)
	}
}

// decodeVariable decodes a variable's attributes; it reports whether they
// are valid.
func (l *loader) decodeVariable(v *variable, attrs hcl.Attributes) bool {
	ok := true
	if a, found := attrs["type"]; found {
		t, diags := typeexpr.TypeConstraint(a.Expr)
		l.diags = append(l.diags, diags...)
		ok = !diags.HasErrors()
		v.typ = t
	}
	if a, found := attrs["sensitive"]; found {
		val, good := l.literal(a, cty.Bool)
		v.sensitive = good && val.True()
		ok = ok && good
	}
	if a, found := attrs["description"]; found {
		_, good := l.literal(a, cty.String)
		ok = ok && good
	}
	if a, found := attrs["default"]; found && ok {
		v.def, ok = l.literal(a, v.typ)
	}
	return ok
}

// literal evaluates a constant attribute and converts it to typ.
func (l *loader) literal(a *hcl.Attribute, typ cty.Type) (cty.Value, bool) {
	val, diags := a.Expr.Value(nil)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	val, err := convert.Convert(val, typ)
	if err != nil {
		l.errorf(a.Expr.Range().Ptr(), "Invalid value for "+a.Name,
			"The value of %s is not valid: %s.", a.Name, errText(err))
		return cty.NilVal, false
	}
	if val.IsNull() && typ == cty.Bool {
		return cty.False, true
	}
	return val, true
}

// resolveVariables gives every variable its value: its default, then
// UNDERSTUDY_VAR_<name>, then the -var-file files, then -var.
func (l *loader) resolveVariables() {
	names := make([]string, 0, len(l.vars))
	for name := range l.vars {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if raw := l.getenv(envVarPrefix + name); raw != "" {
			l.setRaw(l.vars[name], raw, "the environment variable "+envVarPrefix+name)
		}
	}
	for _, path := range l.opts.VarFiles {
		l.readVarFile(path)
	}
	vars := make([]string, 0, len(l.opts.Vars))
	for name := range l.opts.Vars {
		vars = append(vars, name)
	}
	slices.Sort(vars)
	for _, name := range vars {
		v, ok := l.vars[name]
		if !ok {
			l.errorf(nil, "Value for undeclared variable",
				"A -var option sets %q, but no variable block declares it.", name)
			continue
		}
		l.setRaw(v, l.opts.Vars[name], "-var "+name)
	}
	for _, name := range names {
		l.finishVariable(l.vars[name])
	}
}

// finishVariable falls back to the default and marks a sensitive value.
func (l *loader) finishVariable(v *variable) {
	if v.invalid {
		v.value = cty.DynamicVal
		return
	}
	if v.value == cty.NilVal {
		v.value = v.def
	}
	if v.value == cty.NilVal {
		l.errorf(v.block.DefRange.Ptr(), "No value for required variable",
			"The variable %q has no default; give it a value with -var %s=…, a -var-file or the environment variable %s%s.",
			v.name, v.name, envVarPrefix, v.name)
		v.value = cty.DynamicVal
	}
	if v.sensitive && v.value.IsWhollyKnown() {
		l.sensitive(v.value)
		v.value = v.value.Mark(markSensitive)
	}
}

// setRaw sets v from a raw string given by what.
func (l *loader) setRaw(v *variable, raw, what string) {
	if v.sensitive {
		l.secrets = append(l.secrets, raw)
	}
	val := cty.StringVal(raw)
	if v.parseHCL() {
		name := fmt.Sprintf("<value for var.%s>", v.name)
		if d := checkNesting([]byte(raw), name); d != nil {
			l.diags = append(l.diags, d)
			v.invalid = true
			return
		}
		expr, diags := hclsyntax.ParseExpression([]byte(raw), name, hcl.InitialPos)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			v.invalid = true
			return
		}
		if d := l.meter.meterSyntax(expr); d != nil {
			l.diags = append(l.diags, d)
			v.invalid = true
			return
		}
		if val, diags = expr.Value(nil); diags.HasErrors() {
			l.diags = append(l.diags, diags...)
			v.invalid = true
			return
		}
	}
	l.set(v, val, nil, what)
}

// set converts val to v's type and sets it; subject is where val was
// written, if anywhere.
func (l *loader) set(v *variable, val cty.Value, subject *hcl.Range, what string) {
	val, err := convert.Convert(val, v.typ)
	if err != nil {
		l.errorf(subject, "Invalid value for variable",
			"The value that %s gives variable %q is not valid: %s.", what, v.name, errText(err))
		v.invalid = true
		return
	}
	v.value = val
}

// readVarFile sets the variables of a -var-file.
func (l *loader) readVarFile(path string) {
	src, d := readSource(path, true)
	if d != nil {
		l.diags = append(l.diags, d)
		return
	}
	f, diags := l.parser.ParseHCL(src, path)
	l.diags = append(l.diags, diags...)
	if f == nil || diags.HasErrors() {
		return
	}
	if body, ok := f.Body.(*hclsyntax.Body); ok {
		if d := l.meter.meterSyntax(body); d != nil {
			l.diags = append(l.diags, d)
			return
		}
	}
	attrs, diags := f.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	for _, a := range sortedAttributes(attrs) {
		v, ok := l.vars[a.Name]
		if !ok {
			l.errorf(a.NameRange.Ptr(), "Value for undeclared variable",
				"The file %s sets %q, but no variable block declares it.", path, a.Name)
			continue
		}
		val, diags := a.Expr.Value(nil)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			v.invalid = true
			continue
		}
		l.set(v, val, a.Expr.Range().Ptr(), "the file "+path)
	}
}

// sortedAttributes returns the attributes of one body in source order.
func sortedAttributes(attrs hcl.Attributes) []*hcl.Attribute {
	list := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		list = append(list, a)
	}
	slices.SortFunc(list, func(a, b *hcl.Attribute) int {
		return a.Range.Start.Byte - b.Range.Start.Byte
	})
	return list
}
