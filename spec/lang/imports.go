package lang

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/understudy-dev/understudy/spec"
)

// decodeImports decodes the import blocks: each adopts an existing object
// into a block the spec declares.
func (l *loader) decodeImports(blocks []*hcl.Block) {
	seen := map[string]*hcl.Block{}
	ctx := l.evalContext(nil)
	for _, b := range blocks {
		content, diags := b.Body.Content(importSchema)
		l.diags = append(l.diags, expected(diags, "An import block", importSchema)...)
		toAttr := content.Attributes["to"]
		to, ok := l.address(toAttr)
		if !ok {
			continue
		}
		if prev, dup := seen[to]; dup {
			l.errorf(toAttr.Expr.Range().Ptr(), "Duplicate import", "%s is already imported at %s.", to, at(prev.DefRange))
			continue
		}
		seen[to] = b
		key := "import." + to
		l.cfg.Sources[key] = b.DefRange
		l.sources(key, content.Attributes)
		if l.object(to) == nil {
			what := fmt.Sprintf("No %s block is labelled %q", kindOf(to), strings.TrimPrefix(to, kindOf(to)+"."))
			if strings.HasSuffix(to, "]") {
				what = fmt.Sprintf("No for_each key of a %s block makes %s", kindOf(to), to)
			}
			l.errorf(toAttr.Expr.Range().Ptr(), "Import to an undeclared address",
				"%s: an import block adopts an existing object into a block of the spec, so declare it.", what)
			continue
		}
		idAttr := content.Attributes["id"]
		if idAttr == nil {
			continue
		}
		id, ok := l.attrValue(idAttr, attrSpec{name: "id", typ: cty.String, required: true}, ctx)
		if ok && l.checkImportID(idAttr, to, id.AsString()) {
			l.cfg.Desired.Imports = append(l.cfg.Desired.Imports, spec.Import{To: to, ID: id.AsString()})
		}
	}
}

// checkImportID reports whether id has the form of an id of the object at
// address to: the name of an environment, "<environment>/<name>" else.
func (l *loader) checkImportID(a *hcl.Attribute, to, id string) bool {
	parts := strings.Split(id, "/")
	if kindOf(to) == spec.KindEnvironment {
		if id != "" && len(parts) == 1 {
			return true
		}
		l.errorf(a.Expr.Range().Ptr(), "Invalid import id", "The id of an environment is its name, without a slash.")
		return false
	}
	if len(parts) == 2 && parts[0] != "" && parts[1] != "" {
		return true
	}
	l.errorf(a.Expr.Range().Ptr(), "Invalid import id",
		"The id of %s is \"<environment>/<name>\", the name of its environment, a slash and its name.", article(kindOf(to)))
	return false
}

// decodeRemoved decodes the removed blocks: each stops managing an object
// the spec no longer declares.
func (l *loader) decodeRemoved(blocks []*hcl.Block) {
	seen := map[string]*hcl.Block{}
	for _, b := range blocks {
		content, diags := b.Body.Content(removedSchema)
		l.diags = append(l.diags, expected(diags, "A removed block", removedSchema)...)
		fromAttr := content.Attributes["from"]
		from, ok := l.address(fromAttr)
		if !ok {
			continue
		}
		if prev, dup := seen[from]; dup {
			l.errorf(fromAttr.Expr.Range().Ptr(), "Duplicate removed block", "%s is already removed at %s.", from, at(prev.DefRange))
			continue
		}
		seen[from] = b
		key := "removed." + from
		l.cfg.Sources[key] = b.DefRange
		l.sources(key, content.Attributes)
		if r := l.object(from); r != nil {
			l.errorf(fromAttr.Expr.Range().Ptr(), "Removed object is still declared",
				"%s is declared at %s: a removed block is for an object the spec no longer declares. Delete that block, or this one.",
				from, at(r.block.DefRange))
			continue
		}
		l.cfg.Desired.Removed = append(l.cfg.Desired.Removed, spec.Removed{From: from})
	}
}

// address returns the block address that attribute a holds, such as
// role.buyer, or reports why it is not one.
func (l *loader) address(a *hcl.Attribute) (string, bool) {
	if a == nil {
		return "", false // reported as missing
	}
	t, diags := hcl.AbsTraversalForExpr(a.Expr)
	if !diags.HasErrors() && (len(t) == 2 || len(t) == 3) {
		if step, ok := t[1].(hcl.TraverseAttr); ok {
			if _, isKind := kinds[t.RootName()]; isKind {
				addr := t.RootName() + "." + step.Name
				if len(t) == 2 {
					return addr, true
				}
				if ix, ok := t[2].(hcl.TraverseIndex); ok && ix.Key.Type() == cty.String && !ix.Key.IsNull() {
					return InstanceAddress(addr, ix.Key.AsString()), true
				}
			}
		}
	}
	l.errorf(a.Expr.Range().Ptr(), "Invalid address",
		`%s must be the address of a block, <kind>.<label> (role.buyer), or of an instance of a block with for_each, <kind>.<label>["key"], where kind is environment, app, role, destination or flow; not a string or an expression.`,
		a.Name)
	return "", false
}

// decodeMoved decodes the moved blocks: each gives an object the
// workspace manages at from the address to, which a block declares (or
// another moved block moves on, as when a block is renamed twice), so
// that renaming a block (or a for_each key) keeps the object.
func (l *loader) decodeMoved(blocks []*hcl.Block) {
	seen := map[string]*hcl.Block{}
	type move struct {
		spec.Moved
		toAttr *hcl.Attribute
	}
	var moves []move
	for _, b := range blocks {
		content, diags := b.Body.Content(movedSchema)
		l.diags = append(l.diags, expected(diags, "A moved block", movedSchema)...)
		fromAttr, toAttr := content.Attributes["from"], content.Attributes["to"]
		from, okFrom := l.address(fromAttr)
		to, okTo := l.address(toAttr)
		if !okFrom || !okTo {
			continue
		}
		if prev, dup := seen[from]; dup {
			l.errorf(fromAttr.Expr.Range().Ptr(), "Duplicate moved block", "%s is already moved at %s.", from, at(prev.DefRange))
			continue
		}
		seen[from] = b
		key := "moved." + from
		l.cfg.Sources[key] = b.DefRange
		l.sources(key, content.Attributes)
		switch {
		case kindOf(from) != kindOf(to):
			l.errorf(toAttr.Expr.Range().Ptr(), "Invalid moved block",
				"A moved block gives an object a new address, and an object keeps its kind: %s cannot move to %s.", from, to)
			continue
		case from == to:
			l.errorf(toAttr.Expr.Range().Ptr(), "Invalid moved block", "%s is moved to itself.", from)
			continue
		}
		if r := l.object(from); r != nil {
			l.errorf(fromAttr.Expr.Range().Ptr(), "Moved object still declared",
				"%s is declared at %s: a moved block's from is the old address, which no block declares any more. Rename that block, or delete this one.",
				from, at(r.block.DefRange))
			continue
		}
		moves = append(moves, move{spec.Moved{From: from, To: to}, toAttr})
	}
	for _, m := range moves {
		if _, chained := seen[m.To]; !chained && l.object(m.To) == nil {
			l.errorf(m.toAttr.Expr.Range().Ptr(), "Moved to an undeclared address",
				"No block declares %s, and no moved block moves it on: a moved block's to is the new address of a block of the spec.", m.To)
			continue
		}
		l.cfg.Desired.Moved = append(l.cfg.Desired.Moved, m.Moved)
	}
}
