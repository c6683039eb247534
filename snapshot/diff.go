package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
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

// The bounds of a diff, which an app's state (up to 32 MiB, nested as
// deep as the JSON decoder allows) must not turn into unbounded work.
const (
	// MaxDiffDepth is how deep a diff descends: two subtrees that differ
	// below it are one change, at the path where it stopped.
	MaxDiffDepth = 64
	// MaxDiffChanges is how many changes Diff returns at most; DiffN
	// counts the others without keeping them.
	MaxDiffChanges = 10000
)

// Diff lists what differs between two JSON states, by path, sorted: at
// most MaxDiffChanges of them (DiffN tells how many there are in all).
// Arrays are compared element by element; numbers by their text, as
// Canonical keeps them (a float64 would make 2^53+1 equal to 2^53).
func Diff(before, after []byte) ([]Change, error) {
	out, _, err := DiffN(before, after, MaxDiffChanges)
	return out, err
}

// DiffN is Diff keeping at most max changes (the first in the order the
// walk meets them, then sorted by path), and returning how many there are
// in all. Below MaxDiffDepth, a differing subtree is one change.
func DiffN(before, after []byte, max int) ([]Change, int, error) {
	a, err := decodeState(before)
	if err != nil {
		return nil, 0, fmt.Errorf("the state before: %w", err)
	}
	b, err := decodeState(after)
	if err != nil {
		return nil, 0, fmt.Errorf("the state after: %w", err)
	}
	d := &differ{max: max}
	d.value("$", 0, a, b)
	sort.SliceStable(d.kept, func(i, j int) bool { return d.kept[i].Path < d.kept[j].Path })
	return d.kept, d.total, nil
}

// differ walks two states, keeping the first max changes and counting all.
type differ struct {
	kept  []Change
	total int
	max   int
}

func (d *differ) add(c Change) {
	d.total++
	if len(d.kept) < d.max {
		d.kept = append(d.kept, c)
	}
}

// decodeState decodes a JSON state with its numbers as json.Number (as
// Canonical keeps them).
func decodeState(state []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(state))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("the state is not JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("the state has trailing data after its JSON document")
	}
	return v, nil
}

func (d *differ) value(path string, depth int, a, b any) {
	if depth < MaxDiffDepth {
		switch av := a.(type) {
		case map[string]any:
			if bv, ok := b.(map[string]any); ok {
				d.object(path, depth, av, bv)
				return
			}
		case []any:
			if bv, ok := b.([]any); ok {
				d.array(path, depth, av, bv)
				return
			}
		}
	}
	if !reflect.DeepEqual(a, b) {
		d.add(Change{Path: path, Op: "changed", Before: a, After: b})
	}
}

// object compares two objects. A path is built only for a key that
// differs, or whose values are both containers to descend into.
func (d *differ) object(path string, depth int, a, b map[string]any) {
	for k, av := range a {
		if bv, ok := b[k]; ok {
			if !scalarEqual(av, bv) {
				d.value(path+"."+k, depth+1, av, bv)
			}
		} else {
			d.add(Change{Path: path + "." + k, Op: "removed", Before: av})
		}
	}
	for k, bv := range b {
		if _, ok := a[k]; !ok {
			d.add(Change{Path: path + "." + k, Op: "added", After: bv})
		}
	}
}

func (d *differ) array(path string, depth int, a, b []any) {
	for i := range max(len(a), len(b)) {
		switch {
		case i >= len(a):
			d.add(Change{Path: path + "[" + strconv.Itoa(i) + "]", Op: "added", After: b[i]})
		case i >= len(b):
			d.add(Change{Path: path + "[" + strconv.Itoa(i) + "]", Op: "removed", Before: a[i]})
		case !scalarEqual(a[i], b[i]):
			d.value(path+"["+strconv.Itoa(i)+"]", depth+1, a[i], b[i])
		}
	}
}

// scalarEqual reports whether a and b are equal scalars (strings,
// numbers by their text, booleans, nulls): what needs no descent.
func scalarEqual(a, b any) bool {
	switch a.(type) {
	case map[string]any, []any:
		return false
	}
	switch b.(type) {
	case map[string]any, []any:
		return false
	}
	return a == b
}
