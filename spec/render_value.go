package spec

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// diffNode is the difference of one value in a human plan: a leaf, an
// object (a map attribute, shown as Terraform shows a nested object) or a
// list. Its action is NoOp, Create, Update or Delete.
type diffNode struct {
	action        Action
	before, after any
	// sensitive hides the value: only "(sensitive value)" is shown.
	sensitive bool
	// replace marks the value that forces the object's replacement.
	replace  bool
	fields   map[string]*diffNode // an object's keys
	elems    []*diffNode          // a list's elements
	isObject bool
	isList   bool
}

// renderOpts tune how a node is shown.
type renderOpts struct {
	pal palette
	// noNullSuffix drops the " -> null" of a deleted value, for the
	// children of a deleted object or list, whose parent shows it.
	noNullSuffix bool
	// showAll shows unchanged children too (an import).
	showAll bool
}

// render shows n at the given depth; indent counts Terraform's
// four-column steps.
func (n *diffNode) render(indent int, o renderOpts) string {
	switch {
	case n.isObject:
		return renderObject(n, indent, o, false)
	case n.isList:
		return renderList(n, indent, o)
	}
	return renderLeaf(n, o)
}

// renderLeaf shows a single value: "a", "a -> b", "a -> null".
func renderLeaf(n *diffNode, o renderOpts) string {
	p := o.pal
	tail := replaceSuffix(n.replace, p)
	if n.sensitive {
		if n.action == Update {
			return "(sensitive value changed)" + tail
		}
		return "(sensitive value)" + nullSuffix(n.action, o) + tail
	}
	switch n.action {
	case Create:
		return formatValue(n.after, p) + tail
	case Delete:
		return formatValue(n.before, p) + nullSuffix(n.action, o) + tail
	case Update:
		return formatValue(n.before, p) + " " + p.yellow("->") + " " + formatValue(n.after, p) + tail
	}
	if n.after == nil {
		return formatValue(n.before, p) + tail
	}
	return formatValue(n.after, p) + tail
}

// renderObject shows an object's keys in name order, aligned, hiding the
// unchanged ones behind a count. A block (the object itself) ends without
// a null suffix and lets its attributes show theirs.
func renderObject(n *diffNode, indent int, o renderOpts, block bool) string {
	p := o.pal
	end := nullSuffix(n.action, o)
	if block {
		end = ""
	}
	if len(n.fields) == 0 {
		return "{}" + end + replaceSuffix(n.replace, p)
	}
	keys := make([]string, 0, len(n.fields))
	width := 0
	for k := range n.fields {
		keys = append(keys, k)
		width = max(width, len(escapeKey(k)))
	}
	slices.Sort(keys)
	child := o
	child.noNullSuffix = !block
	var b strings.Builder
	b.WriteString("{" + replaceSuffix(n.replace, p) + "\n")
	hidden := 0
	for _, k := range keys {
		f := n.fields[k]
		if f.action == NoOp && !o.showAll && !alwaysShown(k) {
			hidden++
			continue
		}
		fmt.Fprintf(&b, "%s%s%-*s = %s\n", pad(indent+1), symbol(f.action, p), width, escapeKey(k), f.render(indent+1, child))
	}
	if hidden > 0 {
		fmt.Fprintf(&b, "%s%s%s\n", pad(indent+1), symbol(NoOp, p), p.gray(unchangedNote(hidden, "attribute")))
	}
	b.WriteString(pad(indent) + symbol(NoOp, p) + "}" + end)
	return b.String()
}

// renderList shows a list's changed elements, each with the unchanged
// element on either side for context, and counts the other unchanged ones.
func renderList(n *diffNode, indent int, o renderOpts) string {
	p := o.pal
	if len(n.elems) == 0 {
		return "[]" + nullSuffix(n.action, o) + replaceSuffix(n.replace, p)
	}
	child := o
	child.noNullSuffix = true
	var b strings.Builder
	line := func(e *diffNode) {
		fmt.Fprintf(&b, "%s%s%s,\n", pad(indent+1), symbol(e.action, p), e.render(indent+1, child))
	}
	skipped := func(count int) {
		if count > 0 {
			fmt.Fprintf(&b, "%s%s%s\n", pad(indent+1), symbol(NoOp, p), p.gray(unchangedNote(count, "element")))
		}
	}
	b.WriteString("[" + replaceSuffix(n.replace, p) + "\n")
	var waiting []*diffNode // unchanged elements not shown yet
	showNext := false
	for _, e := range n.elems {
		if e.action == NoOp && !showNext && !o.showAll {
			waiting = append(waiting, e)
			continue
		}
		if len(waiting) > 0 {
			skipped(len(waiting) - 1)
			line(waiting[len(waiting)-1])
			waiting = nil
		}
		showNext = e.action != NoOp
		line(e)
	}
	skipped(len(waiting))
	b.WriteString(pad(indent) + symbol(NoOp, p) + "]" + nullSuffix(n.action, o))
	return b.String()
}

// formatValue shows a JSON value as HCL would: strings quoted, null grey.
func formatValue(v any, p palette) string {
	switch v := v.(type) {
	case nil:
		return p.gray("null")
	case string:
		return strconv.Quote(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// symbol is an action's sign right-aligned in three columns, coloured,
// and a space: "  + ", "-/+ ", "    ".
func symbol(a Action, p palette) string {
	s := a.Symbol()
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", max(0, 3-len(s))))
	for _, r := range s {
		switch r {
		case '+':
			b.WriteString(p.green("+"))
		case '-':
			b.WriteString(p.red("-"))
		case '~':
			b.WriteString(p.yellow("~"))
		default:
			b.WriteRune(r)
		}
	}
	return b.String() + " "
}

// nullSuffix is " -> null" after a deleted value, unless its parent
// shows the deletion.
func nullSuffix(a Action, o renderOpts) string {
	if a != Delete || o.noNullSuffix {
		return ""
	}
	return " " + o.pal.gray("-> null")
}

// replaceSuffix marks the value that forces a replacement.
func replaceSuffix(replace bool, p palette) string {
	if !replace {
		return ""
	}
	return " " + p.red("# forces replacement")
}

// unchangedNote is "# (1 unchanged attribute hidden)".
func unchangedNote(count int, noun string) string {
	if count != 1 {
		noun += "s"
	}
	return fmt.Sprintf("# (%d unchanged %s hidden)", count, noun)
}

// alwaysShown reports the keys shown even when unchanged, so a reader
// knows which object a diff is about.
func alwaysShown(key string) bool { return key == "id" || key == "name" }

// pad is the indentation of a depth.
func pad(indent int) string { return strings.Repeat("    ", indent) }

// escapeKey quotes a key that is not a valid HCL identifier.
func escapeKey(k string) string {
	for i, r := range k {
		ok := r == '_' || unicode.IsLetter(r) || (i > 0 && (r == '-' || unicode.IsDigit(r)))
		if !ok {
			return strconv.Quote(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}
