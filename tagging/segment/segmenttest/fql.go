package segmenttest

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The fake's FQL: enough of https://segment.com/docs/api/public-api/fql/
// to parse what a publisher writes and refuse what is not FQL: paths,
// 'strings', numbers, true/false/null, [lists], = != < <= > >= in, and or !,
// parentheses, and the functions contains, match, lowercase, length, typeof.

type fqlToken struct {
	kind string // "path", "str", "num", "op", "word"
	text string
}

func lexFQL(src string) ([]fqlToken, error) {
	var out []fqlToken
	for i := 0; i < len(src); {
		c := rune(src[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '\'' || c == '"':
			j := strings.IndexByte(src[i+1:], src[i])
			if j < 0 {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			out = append(out, fqlToken{"str", src[i+1 : i+1+j]})
			i += j + 2
		case strings.ContainsRune("()[],", c):
			out = append(out, fqlToken{"op", string(c)})
			i++
		case strings.ContainsRune("=!<>", c):
			op := string(c)
			if i+1 < len(src) && src[i+1] == '=' {
				op += "="
			}
			out = append(out, fqlToken{"op", op})
			i += len(op)
		case unicode.IsDigit(c) || c == '-':
			j := i + 1
			for j < len(src) && (unicode.IsDigit(rune(src[j])) || src[j] == '.') {
				j++
			}
			out = append(out, fqlToken{"num", src[i:j]})
			i = j
		case unicode.IsLetter(c) || c == '_':
			j := i
			for j < len(src) && (unicode.IsLetter(rune(src[j])) || unicode.IsDigit(rune(src[j])) || strings.ContainsRune("_-.\\", rune(src[j]))) {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			word := src[i:j]
			switch word {
			case "and", "or", "in", "true", "false", "null":
				out = append(out, fqlToken{"word", word})
			default:
				out = append(out, fqlToken{"path", word})
			}
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at %d", c, i)
		}
	}
	return out, nil
}

// fqlNode evaluates against an event.
type fqlNode func(event map[string]any) any

type fqlParser struct {
	toks []fqlToken
	pos  int
}

// parseFQL parses an FQL statement, or says why it is not one.
func parseFQL(src string) (fqlNode, error) {
	toks, err := lexFQL(src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty statement")
	}
	p := &fqlParser{toks: toks}
	n, err := p.or()
	if err == nil && p.pos < len(toks) {
		err = fmt.Errorf("unexpected %q", toks[p.pos].text)
	}
	return n, err
}

func (p *fqlParser) peek(text string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].text == text && p.toks[p.pos].kind != "str"
}

func (p *fqlParser) or() (fqlNode, error)  { return p.binary("or", p.and) }
func (p *fqlParser) and() (fqlNode, error) { return p.binary("and", p.unary) }

func (p *fqlParser) binary(op string, next func() (fqlNode, error)) (fqlNode, error) {
	l, err := next()
	for err == nil && p.peek(op) {
		p.pos++
		var r fqlNode
		if r, err = next(); err == nil {
			a, b := l, r
			if op == "or" {
				l = func(e map[string]any) any { return a(e) == true || b(e) == true }
			} else {
				l = func(e map[string]any) any { return a(e) == true && b(e) == true }
			}
		}
	}
	return l, err
}

func (p *fqlParser) unary() (fqlNode, error) {
	if p.peek("!") {
		p.pos++
		n, err := p.unary()
		return func(e map[string]any) any { return n(e) != true }, err
	}
	l, err := p.primary()
	if err != nil || p.pos >= len(p.toks) {
		return l, err
	}
	op := p.toks[p.pos].text
	if !slices.Contains([]string{"=", "!=", "<", "<=", ">", ">=", "in"}, op) || p.toks[p.pos].kind == "str" {
		return l, nil
	}
	p.pos++
	r, err := p.primary()
	if err != nil {
		return nil, err
	}
	return func(e map[string]any) any { return compare(op, l(e), r(e)) }, nil
}

func (p *fqlParser) primary() (fqlNode, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("unexpected end of statement")
	}
	t := p.toks[p.pos]
	p.pos++
	switch {
	case t.kind == "str":
		return func(map[string]any) any { return t.text }, nil
	case t.kind == "num":
		f, err := strconv.ParseFloat(t.text, 64)
		return func(map[string]any) any { return f }, err
	case t.kind == "word" && (t.text == "true" || t.text == "false"):
		v := t.text == "true"
		return func(map[string]any) any { return v }, nil
	case t.kind == "word" && t.text == "null":
		return func(map[string]any) any { return nil }, nil
	case t.text == "(":
		n, err := p.or()
		if err == nil && !p.peek(")") {
			err = fmt.Errorf("missing )")
		}
		p.pos++
		return n, err
	case t.text == "[":
		return p.list()
	case t.kind == "path" && p.peek("("):
		return p.call(t.text)
	case t.kind == "path":
		return func(e map[string]any) any { return lookup(e, t.text) }, nil
	}
	return nil, fmt.Errorf("unexpected %q", t.text)
}

func (p *fqlParser) list() (fqlNode, error) {
	var items []fqlNode
	for !p.peek("]") {
		if len(items) > 0 {
			if !p.peek(",") {
				return nil, fmt.Errorf("missing , in list")
			}
			p.pos++
		}
		n, err := p.primary()
		if err != nil {
			return nil, err
		}
		items = append(items, n)
	}
	p.pos++
	return func(e map[string]any) any {
		out := make([]any, len(items))
		for i, n := range items {
			out[i] = n(e)
		}
		return out
	}, nil
}

func (p *fqlParser) call(name string) (fqlNode, error) {
	arity := map[string]int{"contains": 2, "match": 2, "lowercase": 1, "length": 1, "typeof": 1}[name]
	if arity == 0 {
		return nil, fmt.Errorf("unknown function %q", name)
	}
	p.pos++ // (
	var args []fqlNode
	for !p.peek(")") {
		if len(args) > 0 {
			if !p.peek(",") {
				return nil, fmt.Errorf("missing , in %s()", name)
			}
			p.pos++
		}
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		args = append(args, n)
	}
	p.pos++
	if len(args) != arity {
		return nil, fmt.Errorf("%s() takes %d arguments", name, arity)
	}
	return func(e map[string]any) any {
		a, _ := args[0](e).(string)
		switch name {
		case "contains":
			b, _ := args[1](e).(string)
			return strings.Contains(a, b)
		case "match":
			b, _ := args[1](e).(string)
			ok, _ := path.Match(b, a)
			return ok
		case "lowercase":
			return strings.ToLower(a)
		case "length":
			return float64(len(a))
		}
		return fmt.Sprintf("%T", args[0](e))
	}, nil
}

func lookup(e map[string]any, p string) any {
	var cur any = e
	for _, part := range strings.Split(strings.ReplaceAll(p, `\`, ""), ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

func compare(op string, l, r any) bool {
	switch op {
	case "=":
		return fmt.Sprintf("%T%v", l, l) == fmt.Sprintf("%T%v", r, r)
	case "!=":
		return fmt.Sprintf("%T%v", l, l) != fmt.Sprintf("%T%v", r, r)
	case "in":
		list, _ := r.([]any)
		for _, x := range list {
			if compare("=", l, x) {
				return true
			}
		}
		return false
	}
	a, ok1 := l.(float64)
	b, ok2 := r.(float64)
	if !ok1 || !ok2 {
		return false
	}
	return map[string]bool{"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
}
