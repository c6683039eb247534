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

// Diff lists what differs between two JSON states, by path, sorted.
// Arrays are compared element by element; numbers by their text, as
// Canonical keeps them (a float64 would make 2^53+1 equal to 2^53).
func Diff(before, after []byte) ([]Change, error) {
	a, err := decodeState(before)
	if err != nil {
		return nil, fmt.Errorf("the state before: %w", err)
	}
	b, err := decodeState(after)
	if err != nil {
		return nil, fmt.Errorf("the state after: %w", err)
	}
	var out []Change
	diffValue("$", a, b, &out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
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
