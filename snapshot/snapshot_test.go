package snapshot_test

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/snapshot"
)

func TestCanonicalMakesEqualStatesEqualBytes(t *testing.T) {
	t.Parallel()
	a, err := snapshot.Canonical([]byte(`{ "b": [1, 2.50, {"y":1,"x":2}], "a": "é" }`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := snapshot.Canonical([]byte(`{"a":"é","b":[1,2.50,{"x":2,"y":1}]}`))
	if string(a) != string(b) || string(a) != `{"a":"é","b":[1,2.50,{"x":2,"y":1}]}` {
		t.Fatalf("canonical forms differ: %s vs %s", a, b)
	}
	if snapshot.HashOf(a) != snapshot.HashOf(b) {
		t.Fatal("equal states hash differently")
	}
	for _, bad := range []string{``, `{`, `{} {}`, `nul`} {
		if _, err := snapshot.Canonical([]byte(bad)); err == nil {
			t.Errorf("Canonical(%q) accepted", bad)
		}
	}
}

func TestDiffListsChangesByPath(t *testing.T) {
	t.Parallel()
	got, err := snapshot.Diff([]byte(`{"posts":[{"id":1,"body":"hi"}],"score":{"points":10},"cart":[]}`),
		[]byte(`{"posts":[{"id":1,"body":"hello"},{"id":2,"body":"new"}],"score":{"points":10},"bio":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []snapshot.Change{
		{Path: "$.bio", Op: "added", After: "x"},
		{Path: "$.cart", Op: "removed", Before: []any{}},
		{Path: "$.posts[0].body", Op: "changed", Before: "hi", After: "hello"},
		{Path: "$.posts[1]", Op: "added", After: map[string]any{"id": json.Number("2"), "body": "new"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diff =\n%+v\nwant\n%+v", got, want)
	}
	if none, _ := snapshot.Diff([]byte(`{"a":[1]}`), []byte(`{"a":[1]}`)); len(none) != 0 {
		t.Fatalf("equal states differ: %+v", none)
	}
}

// Numbers are compared as Canonical keeps them: two states whose hashes
// differ by a number only are never said to be the same.
func TestDiffComparesNumbersByTheirText(t *testing.T) {
	t.Parallel()
	before, after := []byte(`{"id":9007199254740993,"n":1.0}`), []byte(`{"id":9007199254740992,"n":1}`)
	got, err := snapshot.Diff(before, after)
	if err != nil {
		t.Fatal(err)
	}
	want := []snapshot.Change{
		{Path: "$.id", Op: "changed", Before: json.Number("9007199254740993"), After: json.Number("9007199254740992")},
		{Path: "$.n", Op: "changed", Before: json.Number("1.0"), After: json.Number("1")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diff =\n%+v\nwant\n%+v", got, want)
	}
}

func FuzzCanonical(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[true,null,"x"]}`))
	f.Add([]byte(`[1e3, -0.0, 123456789012345678901234567890]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := snapshot.Canonical(in)
		if err != nil {
			return
		}
		again, err := snapshot.Canonical(c)
		if err != nil || string(again) != string(c) {
			t.Fatalf("canonical form is not stable: %q → %q (%v)", c, again, err)
		}
	})
}

// A diff is bounded whatever the states: below MaxDiffDepth a differing
// subtree is one change, and only the first changes are kept, the others
// counted.
func TestADiffIsBounded(t *testing.T) {
	deep := func(leaf string) []byte {
		return []byte(strings.Repeat("[", 9000) + leaf + strings.Repeat("]", 9000))
	}
	changes, total, err := snapshot.DiffN(deep("1"), deep("2"), 10)
	if err != nil || total != 1 || len(changes) != 1 || strings.Count(changes[0].Path, "[0]") != snapshot.MaxDiffDepth {
		t.Fatalf("9000 levels deep: %d changes of %d (%v), the first at %d levels", len(changes), total, err, strings.Count(changes[0].Path, "[0]"))
	}
	many := func(v int) []byte {
		var b strings.Builder
		b.WriteString("[")
		for i := range 200000 {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(strconv.Itoa(i * v))
		}
		b.WriteString("]")
		return []byte(b.String())
	}
	changes, total, err = snapshot.DiffN(many(1), many(2), 1000)
	if err != nil || total != 199999 || len(changes) != 1000 {
		t.Fatalf("200000 elements: kept %d of %d (%v), want 1000 of 199999", len(changes), total, err)
	}
}
