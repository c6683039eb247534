package lang

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// Limits on what a spec may ask of the machine that evaluates it, so that
// a hostile or broken spec fails with a diagnostic instead of exhausting
// the stack, the memory or the time of validate, plan and the CI job.
const (
	// MaxFiles is the most spec files a directory may hold.
	MaxFiles = 100
	// MaxFileSize is the largest spec or variables file, in bytes.
	MaxFileSize = 1 << 20
	// MaxNesting is the deepest nesting of brackets, braces, parentheses
	// and template interpolations, one inside another.
	MaxNesting = 64
	// MaxOperators is the most operators (and brackets following one
	// another, as in f(x)[y][z]) one expression may chain along its
	// nesting: each is one more level of the parsed expression.
	MaxOperators = 256
	// MaxWork bounds the work of evaluating a spec, counted in units: one
	// per iteration of a for expression, and the size of every value a
	// for expression, a function or a template interpolation produces
	// (one per element, one per 64 bytes of a string).
	MaxWork = 250_000
	// maxValueBytes is the longest string a function may produce.
	maxValueBytes = 4 << 20
	// MaxElements is the most elements of one list, map or object that a
	// spec, a variable or a function may produce: converting a collection
	// to its type costs the square of its length.
	MaxElements = 10_000
)

// scope is one level of checkNesting's scan.
type scope struct {
	kind   byte   // ( [ { of code; i an interpolation; " a string; h a heredoc
	ops    int    // operators at this level since its last separator
	marker string // a heredoc's closing marker
}

// checkNesting scans src, cheaply and without recursion, for nesting that
// the parser would have to recurse into: brackets, braces, parentheses and
// interpolations more than MaxNesting deep, or an expression chaining more
// than MaxOperators operators. Strings, heredocs and comments are skipped.
// It returns nil when src is within the limits.
func checkNesting(src []byte, filename string) *hcl.Diagnostic {
	stack := []scope{{kind: '{'}}
	total, line, lineStart := 0, 1, 0
	at := func(i int) *hcl.Diagnostic {
		p := hcl.Pos{Line: line, Column: i - lineStart + 1, Byte: i}
		return &hcl.Diagnostic{Severity: hcl.DiagError,
			Subject: &hcl.Range{Filename: filename, Start: p, End: hcl.Pos{Line: line, Column: p.Column + 1, Byte: i + 1}}}
	}
	tooDeep := func(i int) *hcl.Diagnostic {
		d := at(i)
		d.Summary = "Expression nested too deeply"
		d.Detail = fmt.Sprintf("Brackets, braces, parentheses and interpolations may be nested at most %d deep in a spec.", MaxNesting)
		return d
	}
	op := func(i int) *hcl.Diagnostic {
		stack[len(stack)-1].ops++
		if total++; total > MaxOperators {
			d := at(i)
			d.Summary = "Expression too long"
			d.Detail = fmt.Sprintf("An expression may chain at most %d operators; split it, or use a variable.", MaxOperators)
			return d
		}
		return nil
	}
	push := func(i int, s scope) *hcl.Diagnostic {
		if len(stack) > MaxNesting {
			return tooDeep(i)
		}
		stack = append(stack, s)
		return nil
	}
	pop := func() {
		total -= stack[len(stack)-1].ops
		stack = stack[:len(stack)-1]
	}
	reset := func() {
		total -= stack[len(stack)-1].ops
		stack[len(stack)-1].ops = 0
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\n' {
			line, lineStart = line+1, i+1
		}
		top := &stack[len(stack)-1]
		switch top.kind {
		case '"', 'h':
			switch {
			case top.kind == 'h' && i == lineStart && heredocEnd(src[i:], top.marker):
				pop()
			case c == '\\' && top.kind == '"':
				i++
			case c == '"' && top.kind == '"':
				pop()
			case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == c:
				i++ // $${ and %%{ are literal
			case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == '{':
				if c == '%' { // a directive: if and for nest without brackets
					if d := op(i); d != nil {
						return d
					}
				}
				if d := push(i, scope{kind: 'i'}); d != nil {
					return d
				}
				i++
			}
			continue
		}
		switch c {
		case '"':
			if d := push(i, scope{kind: '"'}); d != nil {
				return d
			}
		case '#':
			i = skipLine(src, i)
		case '/':
			switch {
			case i+1 < len(src) && src[i+1] == '/':
				i = skipLine(src, i)
			case i+1 < len(src) && src[i+1] == '*':
				end := bytes.Index(src[i+2:], []byte("*/"))
				if end < 0 {
					return nil // the parser reports it
				}
				for _, b := range src[i : i+2+end] {
					if b == '\n' {
						line++
					}
				}
				i += 2 + end + 1
				lineStart = bytes.LastIndexByte(src[:i], '\n') + 1
			default:
				if d := op(i); d != nil {
					return d
				}
			}
		case '<':
			if m := heredocStart(src[i:]); m != nil {
				if d := push(i, scope{kind: 'h', marker: string(m[1])}); d != nil {
					return d
				}
				i += len(m[0]) - 2 // to the newline, counted by the next round
				continue
			}
			if d := op(i); d != nil {
				return d
			}
		case '(', '[', '{':
			if d := op(i); d != nil { // f(x)[y][z] nests as much as operators do
				return d
			}
			if d := push(i, scope{kind: c}); d != nil {
				return d
			}
		case ')', ']', '}':
			if len(stack) > 1 {
				pop()
			}
		case ',':
			reset()
		case '\n':
			if top.kind == '{' {
				reset()
			}
		case '!', '-', '+', '*', '%', '>', '=', '&', '|', '?':
			if d := op(i); d != nil {
				return d
			}
		}
	}
	return nil
}

var heredocRE = regexp.MustCompile(`^<<-?([A-Za-z_][A-Za-z0-9_-]*)\r?\n`)

// heredocStart matches the start of a heredoc at the beginning of b.
func heredocStart(b []byte) [][]byte { return heredocRE.FindSubmatch(b) }

// heredocEnd reports whether the line b begins with is the marker, alone
// but for spaces.
func heredocEnd(b []byte, marker string) bool {
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		end = len(b)
	}
	return string(bytes.TrimSpace(b[:end])) == marker
}

func skipLine(src []byte, i int) int {
	for i < len(src) && src[i] != '\n' {
		i++
	}
	return i - 1 // the newline is counted by the next round
}

// meter counts the work of one Load, and stops it when the work exceeds
// MaxWork or the context is done.
type meter struct {
	ctx         context.Context
	used, limit int
	unchecked   int // units spent since the context was last checked
	// stop is the diagnostic that stopped the evaluation, nil while it
	// runs. Everything evaluated after it is unknown, and reports nothing
	// more.
	stop *hcl.Diagnostic
}

// spend counts n units of work done at r, and reports false once the
// evaluation must stop.
func (m *meter) spend(n int, r hcl.Range) bool {
	if m.stop != nil {
		return false
	}
	m.used += n
	m.unchecked += n
	var subject *hcl.Range
	if r.Filename != "" { // a function's call has no range here: attrValue places it
		subject = r.Ptr()
	}
	switch {
	case m.used > m.limit:
		m.stop = &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Evaluation too large", Subject: subject,
			Detail: fmt.Sprintf("Evaluating the spec would take more than %d units of work (an iteration of a for expression, an element or 64 bytes of a value produced); this expression is where it ran out. Iterate over fewer elements.", m.limit)}
	case m.unchecked >= 256:
		m.unchecked = 0
		if err := m.ctx.Err(); err != nil {
			m.stop = &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Evaluation interrupted", Subject: subject,
				Detail: fmt.Sprintf("The evaluation stopped here: %v.", err)}
		}
	}
	return m.stop == nil
}

// meteredExpr is an expression whose evaluations are counted: one unit
// each, and the size of its value when sized is set. It is a
// ParenthesesExpr, so that a walk of the syntax tree (the references of an
// expression) still sees the expression inside.
type meteredExpr struct {
	*hclsyntax.ParenthesesExpr
	m     *meter
	sized bool
}

func (e *meteredExpr) Value(ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	r := e.Range()
	if !e.m.spend(1, r) {
		return cty.DynamicVal, nil
	}
	v, diags := e.Expression.Value(ctx)
	if e.sized && !e.m.spend(valueSize(v), r) {
		return cty.DynamicVal, diags
	}
	return v, diags
}

func (m *meter) wrap(x hclsyntax.Expression, sized bool) hclsyntax.Expression {
	if x == nil {
		return nil
	}
	if _, ok := x.(*hclsyntax.LiteralValueExpr); ok {
		return x
	}
	return &meteredExpr{ParenthesesExpr: &hclsyntax.ParenthesesExpr{Expression: x, SrcRange: x.Range()}, m: m, sized: sized}
}

// meterSyntax makes the evaluation of every for expression and template
// in node count its work. It refuses a literal list, map or object of
// more than MaxElements elements, returning the diagnostic.
func (m *meter) meterSyntax(node hclsyntax.Node) *hcl.Diagnostic {
	var tooMany *hcl.Diagnostic
	_ = hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		switch x := n.(type) {
		case *hclsyntax.ForExpr:
			if _, done := x.ValExpr.(*meteredExpr); done {
				return nil
			}
			x.KeyExpr, x.ValExpr, x.CondExpr = m.wrap(x.KeyExpr, true), m.wrap(x.ValExpr, true), m.wrap(x.CondExpr, false)
		case *hclsyntax.TemplateExpr:
			for i, p := range x.Parts {
				if _, done := p.(*meteredExpr); !done {
					x.Parts[i] = m.wrap(p, true)
				}
			}
		case *hclsyntax.TupleConsExpr:
			if len(x.Exprs) > MaxElements && tooMany == nil {
				tooMany = tooManyElements(x.SrcRange.Ptr(), len(x.Exprs))
			}
		case *hclsyntax.ObjectConsExpr:
			if len(x.Items) > MaxElements && tooMany == nil {
				tooMany = tooManyElements(x.SrcRange.Ptr(), len(x.Items))
			}
		}
		return nil
	})
	return tooMany
}

// tooManyElements is the diagnostic of a literal collection of n
// elements, over MaxElements.
func tooManyElements(subject *hcl.Range, n int) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Too many elements", Subject: subject,
		Detail: fmt.Sprintf("This collection has %d elements; a list, map or object may have at most %d.", n, MaxElements)}
}

// overMaxElements reports whether v holds a list, set, map, tuple or
// object of more than MaxElements elements.
func overMaxElements(v cty.Value) bool {
	v, _ = v.UnmarkDeep()
	over := false
	_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		ty := v.Type()
		if v.IsKnown() && !v.IsNull() && (ty.IsCollectionType() || ty.IsTupleType() || ty.IsObjectType()) && v.LengthInt() > MaxElements {
			over = true
		}
		return !over, nil
	})
	return over
}

// valueSize is the work units of producing v: one per value, and one per
// 64 bytes of a string.
func valueSize(v cty.Value) int {
	v, _ = v.UnmarkDeep() // a secret from env() or file() counts as any value
	n := 0
	_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		n++
		if v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
			n += len(v.AsString()) / 64
		}
		return true, nil
	})
	return n
}

// meterFunc makes a call of f count the size of its arguments and of its
// result, and refuses one whose result would be too large to build.
func (m *meter) meterFunc(name string, f function.Function) function.Function {
	s := &function.Spec{
		Description: f.Description(),
		Params:      f.Params(),
		VarParam:    f.VarParam(),
		Type: func(args []cty.Value) (cty.Type, error) {
			return f.ReturnTypeForValues(args)
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			n := 1
			for _, a := range args {
				n += valueSize(a)
			}
			if !m.spend(n, hcl.Range{}) {
				return cty.UnknownVal(cty.DynamicPseudoType), errStopped
			}
			if err := checkResultSize(name, args); err != nil {
				return cty.UnknownVal(cty.DynamicPseudoType), err
			}
			v, err := f.Call(args)
			if err == nil && !m.spend(valueSize(v), hcl.Range{}) {
				return cty.UnknownVal(cty.DynamicPseudoType), errStopped
			}
			if err == nil && overMaxElements(v) {
				return cty.UnknownVal(cty.DynamicPseudoType), fmt.Errorf("the result would have a collection of more than %d elements", MaxElements)
			}
			return v, err
		},
	}
	return function.New(s)
}

// errStopped fails a function call once the evaluation has stopped; the
// meter's diagnostic says why, and is the one reported.
var errStopped = fmt.Errorf("the evaluation stopped")

var formatWidthRE = regexp.MustCompile(`%[-+# 0]*(\d*)(?:\.(\d*))?`)

// checkResultSize refuses a call of join, replace or format whose result
// would be longer than maxValueBytes, before it is built.
func checkResultSize(name string, args []cty.Value) error {
	str := func(v cty.Value) (string, bool) {
		v, _ = v.Unmark()
		if !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
			return "", false
		}
		return v.AsString(), true
	}
	size := 0
	switch name {
	case "join":
		sep, _ := str(args[0])
		for _, l := range args[1:] {
			l, _ = l.Unmark()
			if !l.IsKnown() || l.IsNull() || !l.CanIterateElements() {
				continue
			}
			for it := l.ElementIterator(); it.Next(); {
				_, e := it.Element()
				s, _ := str(e)
				size += len(s) + len(sep)
			}
		}
	case "replace":
		s, _ := str(args[0])
		sub, _ := str(args[1])
		repl, _ := str(args[2])
		size = len(s) + (len(s)+1)*len(repl) // every position replaced, at worst
		if sub != "" {
			size = len(s) + len(s)/len(sub)*len(repl)
		}
	case "format":
		f, _ := str(args[0])
		size = len(f)
		for _, m := range formatWidthRE.FindAllStringSubmatch(f, -1) {
			for _, d := range m[1:] {
				if w, err := strconv.Atoi(d); err == nil {
					size += w
				} else if d != "" {
					size = maxValueBytes + 1
				}
			}
		}
		for _, a := range args[1:] {
			size += valueSize(a) * 64
		}
	default:
		return nil
	}
	if size > maxValueBytes {
		return fmt.Errorf("the result would be longer than %d bytes", maxValueBytes)
	}
	return nil
}

// readSource reads a spec or variables file, refusing one larger than
// MaxFileSize or nested deeper than the parser may safely recurse. The
// diagnostic names the file, and the line where a limit was passed.
//
// A spec file must be a regular file: one that is a FIFO, or a link to a
// device such as /dev/zero, would otherwise block a plan or be read
// without end. A variables file, which the user names, may also be a
// named pipe, as in `-var-file=<(vault kv get …)`, the way Terraform reads
// one; a device is refused there too. The read itself stops past
// MaxFileSize, for a file that grows or a pipe that does not end.
func readSource(path string, pipeOK bool) ([]byte, *hcl.Diagnostic) {
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular() && !(pipeOK && fi.Mode()&fs.ModeNamedPipe != 0):
		return nil, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read a file",
			Detail: fmt.Sprintf("%s is not a regular file (it is a %s); a spec file must be one, and a variables file one or a named pipe.", path, fileType(fi.Mode()))}
	case err == nil && fi.Size() > MaxFileSize:
		return nil, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "File too large",
			Detail: fmt.Sprintf("The file %s has %d bytes; a spec or variables file may have at most %d.", path, fi.Size(), MaxFileSize)}
	}
	src, err := readAtMost(path, MaxFileSize+1)
	if err != nil {
		return nil, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read a file", Detail: fmt.Sprintf("%v.", err)}
	}
	if len(src) > MaxFileSize { // grown since the Stat
		return nil, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "File too large",
			Detail: fmt.Sprintf("The file %s has more than %d bytes.", path, MaxFileSize)}
	}
	if d := checkNesting(src, path); d != nil {
		return nil, d
	}
	return src, nil
}

// readAtMost reads up to n bytes of the file at path.
func readAtMost(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// fileType names the kind of a file that is not a regular one.
func fileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "special file"
	}
}
