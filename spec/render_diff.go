package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// secretsKey is the attribute holding an app's or a destination's secrets.
// Every value under it is sensitive, whatever the plan says.
const secretsKey = "secrets"

// attrMeta is what a change's Attributes say about one attribute, or
// about one key of a map attribute (an AttributeChange named
// "secrets.api_key").
type attrMeta struct {
	listed, sensitive, replace bool
	before, after              any
	keys                       map[string]*attrMeta
}

// metaOf indexes a change's attribute differences by name.
func metaOf(attrs []AttributeChange) map[string]*attrMeta {
	top := map[string]*attrMeta{}
	for _, a := range attrs {
		name, key, nested := strings.Cut(a.Name, ".")
		m := metaAt(top, name)
		if nested {
			if m.keys == nil {
				m.keys = map[string]*attrMeta{}
			}
			m = metaAt(m.keys, key)
		}
		m.listed = true
		m.sensitive = m.sensitive || a.Sensitive
		m.replace = m.replace || a.ForcesReplacement
		m.before, m.after = a.Before, a.After
	}
	return top
}

// metaAt returns the entry of k, adding it when missing.
func metaAt(m map[string]*attrMeta, k string) *attrMeta {
	if m[k] == nil {
		m[k] = &attrMeta{}
	}
	return m[k]
}

// key returns the entry of a map attribute's key, or nil.
func (m *attrMeta) key(k string) *attrMeta {
	if m == nil {
		return nil
	}
	return m.keys[k]
}

// maskObject returns a copy of obj in JSON's types with every secret
// replaced by SensitiveValue, and the object Terraform calls
// before_sensitive/after_sensitive: true at each secret. A nil obj gives
// nil and false.
func maskObject(obj map[string]any, meta map[string]*attrMeta) (map[string]any, any, error) {
	if obj == nil {
		return nil, false, nil
	}
	out, err := jsonValue(obj)
	if err != nil {
		return nil, nil, err
	}
	values, _ := out.(map[string]any)
	sens := map[string]any{}
	for k, v := range values {
		m := meta[k]
		switch {
		case v == nil:
		case k == secretsKey || (m != nil && m.sensitive):
			values[k], sens[k] = maskValue(v, k == secretsKey, nil)
		case m != nil && len(m.keys) > 0:
			if vm, ok := v.(map[string]any); ok {
				values[k], sens[k] = maskValue(vm, false, m)
			}
		}
		if s, ok := sens[k].(map[string]any); ok && len(s) == 0 {
			delete(sens, k)
		}
	}
	return values, sens, nil
}

// maskValue masks v whole, or each key of a map of secrets, or the keys
// m marks sensitive, and says which values it masked.
func maskValue(v any, secrets bool, m *attrMeta) (any, any) {
	vm, isMap := v.(map[string]any)
	if !isMap || (!secrets && m == nil) {
		return SensitiveValue, true
	}
	sens := map[string]any{}
	for k, x := range vm {
		if x != nil && (secrets || (m.key(k) != nil && m.key(k).sensitive)) {
			vm[k], sens[k] = SensitiveValue, true
		}
	}
	return vm, sens
}

// jsonValue turns any value into JSON's types (map[string]any, []any,
// string, json.Number, bool, nil) by a JSON round trip.
func jsonValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding a plan value: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, fmt.Errorf("decoding a plan value: %w", err)
	}
	return out, nil
}

// valueKind says whether a value is, or holds, secrets.
type valueKind int

const (
	plainValue   valueKind = iota
	secretsValue           // the secrets attribute: a map of secrets
	secretValue            // one secret
)

// diffChange computes the attribute differences of a change from its
// masked Before and After, completed by its Attributes. A sensitive
// attribute listed without values takes implied: the change's action.
func diffChange(c Change) (*diffNode, error) {
	meta := metaOf(c.Attributes)
	before, _, err := maskObject(c.Before, meta)
	if err != nil {
		return nil, fmt.Errorf("%s before: %w", c.Address, err)
	}
	after, _, err := maskObject(c.After, meta)
	if err != nil {
		return nil, fmt.Errorf("%s after: %w", c.Address, err)
	}
	implied := Update
	if c.Action == Create || c.Action == Delete {
		implied = c.Action
	}
	root := diffObject(before, after, &attrMeta{keys: meta}, plainValue, implied, true)
	root.action = c.Action
	return root, nil
}

// diffValue computes the difference of one value; m is what Attributes
// say about it.
func diffValue(b, a any, m *attrMeta, kind valueKind, implied Action) *diffNode {
	sensitive := kind != plainValue || (m != nil && m.sensitive)
	bm, bIsMap := b.(map[string]any)
	am, aIsMap := a.(map[string]any)
	hasKeys := m != nil && len(m.keys) > 0
	objects := (bIsMap || b == nil) && (aIsMap || a == nil) && (bIsMap || aIsMap || hasKeys)
	if objects && (kind == secretsValue || !sensitive) {
		n := diffObject(bm, am, m, kind, implied, false)
		if kind == secretsValue && n.action == NoOp && m != nil && m.listed {
			return &diffNode{action: implied, sensitive: true, replace: m.replace}
		}
		return n
	}
	bl, bIsList := b.([]any)
	al, aIsList := a.([]any)
	if (bIsList || b == nil) && (aIsList || a == nil) && (bIsList || aIsList) && !sensitive {
		return diffList(bl, al, b == nil, a == nil)
	}
	n := &diffNode{before: b, after: a, sensitive: sensitive, replace: m != nil && m.replace}
	listed := m != nil && m.listed
	switch {
	case b == nil && a == nil && sensitive && listed:
		n.action = implied
	case b == nil && a == nil:
		n.action = NoOp
	case b == nil:
		n.action = Create
	case a == nil:
		n.action = Delete
	case (sensitive && listed) || !reflect.DeepEqual(b, a):
		n.action = Update
	default:
		n.action = NoOp
	}
	return n
}

// diffObject computes the difference of two objects key by key; keys null
// on both sides are left out, as Terraform leaves them out. root marks the
// change's own attributes, where the secrets attribute lives.
func diffObject(bm, am map[string]any, m *attrMeta, kind valueKind, implied Action, root bool) *diffNode {
	n := &diffNode{isObject: true, fields: map[string]*diffNode{}, replace: m != nil && m.replace}
	changed := false
	for _, k := range unionKeys(bm, am, m) {
		cb, inB := bm[k]
		ca, inA := am[k]
		cm := m.key(k)
		if !inB && !inA && cm != nil {
			cb, ca = cm.before, cm.after
		}
		childKind := plainValue
		switch {
		case kind == secretsValue:
			childKind = secretValue
		case root && k == secretsKey:
			childKind = secretsValue
		}
		c := diffValue(cb, ca, cm, childKind, implied)
		if c.action == NoOp && cb == nil && ca == nil {
			continue
		}
		n.fields[k] = c
		changed = changed || c.action != NoOp
	}
	n.action = containerAction(bm == nil, am == nil, changed)
	return n
}

// unionKeys lists the keys of both objects and of m.
func unionKeys(bm, am map[string]any, m *attrMeta) []string {
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for k := range bm {
		add(k)
	}
	for k := range am {
		add(k)
	}
	if m != nil {
		for k := range m.keys {
			add(k)
		}
	}
	return keys
}

// containerAction is the action of an object or a list: created when it
// was null, deleted when it becomes null, else updated if a child changed.
func containerAction(beforeNull, afterNull, changed bool) Action {
	switch {
	case beforeNull && !afterNull:
		return Create
	case afterNull && !beforeNull:
		return Delete
	case changed:
		return Update
	}
	return NoOp
}

// diffList matches two lists' elements by their longest common
// subsequence, as Terraform does: the rest are deleted or created.
func diffList(bl, al []any, beforeNull, afterNull bool) *diffNode {
	n := &diffNode{isList: true}
	common := make([][]int, len(bl)+1)
	for i := range common {
		common[i] = make([]int, len(al)+1)
	}
	for i := len(bl) - 1; i >= 0; i-- {
		for j := len(al) - 1; j >= 0; j-- {
			if reflect.DeepEqual(bl[i], al[j]) {
				common[i][j] = common[i+1][j+1] + 1
			} else {
				common[i][j] = max(common[i+1][j], common[i][j+1])
			}
		}
	}
	i, j, changed := 0, 0, false
	for i < len(bl) || j < len(al) {
		switch {
		case i < len(bl) && j < len(al) && reflect.DeepEqual(bl[i], al[j]):
			n.elems = append(n.elems, &diffNode{action: NoOp, before: bl[i], after: al[j]})
			i, j = i+1, j+1
		case j == len(al) || (i < len(bl) && common[i+1][j] >= common[i][j+1]):
			n.elems = append(n.elems, diffValue(bl[i], nil, nil, plainValue, Delete))
			i, changed = i+1, true
		default:
			n.elems = append(n.elems, diffValue(nil, al[j], nil, plainValue, Create))
			j, changed = j+1, true
		}
	}
	n.action = containerAction(beforeNull, afterNull, changed)
	return n
}
