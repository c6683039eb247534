package spec

import (
	"maps"
	"reflect"
	"slices"
)

// replacing names the attributes whose change forces a replacement: an
// object's natural id cannot change in place.
var replacing = map[string]bool{"name": true, "environment": true}

// diff lists the attributes that differ from before to after, by name,
// secrets compared by digest and shown without values.
func diff(before, after view) []AttributeChange {
	var out []AttributeChange
	for _, k := range slices.Sorted(maps.Keys(union(before.attrs, after.attrs))) {
		if k == "secrets" {
			continue
		}
		b, a := before.attrs[k], after.attrs[k]
		if !reflect.DeepEqual(b, a) {
			out = append(out, AttributeChange{Name: k, Before: b, After: a, ForcesReplacement: replacing[k]})
		}
	}
	return append(out, secretChanges(before, after)...)
}

// secretChanges compares secrets by name and digest. A digest made by a
// key that is no longer the primary one cannot match: the secret shows
// as changed, and the apply stores it again under the current key.
func secretChanges(before, after view) []AttributeChange {
	names := union(secretNames(before), secretNames(after))
	var out []AttributeChange
	for _, n := range slices.Sorted(maps.Keys(names)) {
		_, had := secretNames(before)[n]
		_, has := secretNames(after)[n]
		if had && has && before.digests[n] != "" && before.digests[n] == after.digests[n] {
			continue
		}
		c := AttributeChange{Name: "secrets." + n, Sensitive: true}
		if had {
			c.Before = SensitiveValue
		}
		if has {
			c.After = SensitiveValue
		}
		out = append(out, c)
	}
	return out
}

func secretNames(v view) map[string]any {
	m, _ := v.attrs["secrets"].(map[string]any)
	return m
}

func union[V any](a, b map[string]V) map[string]V {
	out := make(map[string]V, len(a)+len(b))
	maps.Copy(out, a)
	maps.Copy(out, b)
	return out
}

// forcesReplacement reports whether any of changes forces a replacement.
func forcesReplacement(changes []AttributeChange) bool {
	return slices.ContainsFunc(changes, func(c AttributeChange) bool { return c.ForcesReplacement })
}
