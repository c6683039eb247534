package snapshot

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
)

// Change is one difference between two states, at a JSON path.
type Change struct {
	Path   string `json:"path"`
	Op     string `json:"op"` // added, removed, changed
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

// Diff lists what differs between two JSON states, by path, sorted.
// Arrays are compared element by element.
func Diff(before, after []byte) ([]Change, error) {
	var a, b any
	if err := json.Unmarshal(before, &a); err != nil {
		return nil, fmt.Errorf("the first state is not JSON: %w", err)
	}
	if err := json.Unmarshal(after, &b); err != nil {
		return nil, fmt.Errorf("the second state is not JSON: %w", err)
	}
	var out []Change
	diffValue("$", a, b, &out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func diffValue(path string, a, b any, out *[]Change) {
	switch av := a.(type) {
	case map[string]any:
		if bv, ok := b.(map[string]any); ok {
			diffObject(path, av, bv, out)
			return
		}
	case []any:
		if bv, ok := b.([]any); ok {
			diffArray(path, av, bv, out)
			return
		}
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, Change{Path: path, Op: "changed", Before: a, After: b})
	}
}

func diffObject(path string, a, b map[string]any, out *[]Change) {
	for k, av := range a {
		if bv, ok := b[k]; ok {
			diffValue(path+"."+k, av, bv, out)
		} else {
			*out = append(*out, Change{Path: path + "." + k, Op: "removed", Before: av})
		}
	}
	for k, bv := range b {
		if _, ok := a[k]; !ok {
			*out = append(*out, Change{Path: path + "." + k, Op: "added", After: bv})
		}
	}
}

func diffArray(path string, a, b []any, out *[]Change) {
	for i := range max(len(a), len(b)) {
		p := path + "[" + strconv.Itoa(i) + "]"
		switch {
		case i >= len(a):
			*out = append(*out, Change{Path: p, Op: "added", After: b[i]})
		case i >= len(b):
			*out = append(*out, Change{Path: p, Op: "removed", Before: a[i]})
		default:
			diffValue(p, a[i], b[i], out)
		}
	}
}
