package lang

import (
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// InstanceAddress is the address of the instance of the block at addr
// (role.buyer) with the for_each key key: role.buyer["key"], as in
// Terraform.
func InstanceAddress(addr, key string) string {
	return addr + "[" + strconv.Quote(key) + "]"
}

// expand evaluates the for_each argument of r and evaluates one instance
// of r per key, reading each.key and each.value. An instance's address is
// <kind>.<label>["key"] and its name defaults to its key.
func (l *loader) expand(r *resource, ctx *hcl.EvalContext) {
	each, ok := l.forEachValue(r, ctx)
	if !ok {
		r.failed = true
		return
	}
	suffixes := l.sourceSuffixes(r.addr)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range each {
			if !yield(k) {
				return
			}
		}
	}) {
		if !l.meter.spend(1, r.forEach.Expr.Range()) {
			break
		}
		key := k
		inst := &resource{kind: r.kind, label: r.label, addr: InstanceAddress(r.addr, k), block: r.block,
			attrs: r.attrs, lifecycle: r.lifecycle, policy: r.policy, key: &key}
		for _, s := range suffixes {
			l.cfg.Sources[inst.addr+s] = l.cfg.Sources[r.addr+s]
		}
		ictx := ctx.NewChild()
		ictx.Variables = map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{
			"key": cty.StringVal(k), "value": each[k]})}
		l.evaluateInstance(inst, ictx)
		r.instances = append(r.instances, inst)
	}
	r.evaluated = true
}

// sourceSuffixes returns what follows addr in the keys of Sources that
// are addr or under it: "", ".name", ".pool_size"... The keys of every
// block with for_each are indexed once, on the first call, so that
// expanding many blocks does not read every key for each of them: the
// keys added since are those of instances, whose addresses go on with
// ["key"], so the index holds all there is.
func (l *loader) sourceSuffixes(addr string) []string {
	if l.suffixes == nil {
		l.suffixes = map[string][]string{}
		for k := range l.cfg.Sources {
			block := k
			if i := strings.IndexByte(k, '.'); i >= 0 {
				if j := strings.IndexByte(k[i+1:], '.'); j >= 0 {
					block = k[:i+1+j]
				}
			}
			if r, ok := l.resources[block]; ok && r.forEach != nil {
				l.suffixes[block] = append(l.suffixes[block], k[len(block):])
			}
		}
	}
	return l.suffixes[addr]
}

// forEachValue evaluates the for_each argument of r into each.value by
// each.key. Like Terraform, it takes a map (or object), or a set of
// strings, whose keys are known and not sensitive; it refuses a list,
// which toset() converts.
func (l *loader) forEachValue(r *resource, ctx *hcl.EvalContext) (map[string]cty.Value, bool) {
	a := r.forEach
	val, diags := a.Expr.Value(ctx)
	l.diags = append(l.diags, diags...)
	if st := l.meter.stop; st != nil && st.Subject == nil {
		st.Subject = a.Expr.Range().Ptr()
	}
	if diags.HasErrors() {
		return nil, false
	}
	subject := a.Expr.Range().Ptr()
	invalid := func(format string, args ...any) (map[string]cty.Value, bool) {
		l.errorf(subject, "Invalid for_each argument", format, args...)
		return nil, false
	}
	if val.IsMarked() {
		return invalid("Sensitive values, or values derived from sensitive values, cannot be used as for_each arguments: the keys would appear in the addresses of the objects, and in the plan.")
	}
	if !val.IsKnown() {
		if l.diags.HasErrors() { // it reads something already reported
			return nil, false
		}
		return invalid(`The "for_each" value cannot be determined, so the spec cannot tell which objects it declares: it reads a value that is not known (see the other errors).`)
	}
	if val.IsNull() {
		return invalid(`The given "for_each" argument value is unsuitable: the given "for_each" argument value is null. A map, or set of strings is allowed.`)
	}
	t := val.Type()
	each := map[string]cty.Value{}
	switch {
	case t.IsMapType() || t.IsObjectType():
		for it := val.ElementIterator(); it.Next(); {
			k, v := it.Element()
			each[k.AsString()] = v
		}
	case t.IsSetType() && t.ElementType() == cty.String:
		if !val.IsWhollyKnown() {
			return invalid(`The "for_each" set includes values that cannot be determined, so the spec cannot tell which objects it declares.`)
		}
		for it := val.ElementIterator(); it.Next(); {
			_, v := it.Element()
			if v.IsNull() {
				return invalid(`The given "for_each" argument value is unsuitable: "for_each" sets must not contain null values.`)
			}
			each[v.AsString()] = v
		}
	case t.IsSetType():
		return invalid(`The given "for_each" argument value is unsuitable: "for_each" supports maps and sets of strings, but you have provided a set containing type %s.`, t.ElementType().FriendlyName())
	default:
		return invalid(`The given "for_each" argument value is unsuitable: the "for_each" argument must be a map, or set of strings, and you have provided a value of type %s.`, t.FriendlyName())
	}
	return each, true
}

// objects returns the objects the spec declares: the blocks without
// for_each and the instances of those with it.
func (l *loader) objects() []*resource {
	var list []*resource
	for _, r := range l.declared {
		if r.forEach != nil {
			list = append(list, r.instances...)
		} else {
			list = append(list, r)
		}
	}
	return list
}

// object returns the object the spec declares at addr (a block without
// for_each, or an instance of one), or nil.
func (l *loader) object(addr string) *resource {
	if r, ok := l.resources[addr]; ok && r.kind != kindLocal && r.forEach == nil {
		return r
	}
	for _, r := range l.objects() {
		if r.addr == addr {
			return r
		}
	}
	return nil
}
