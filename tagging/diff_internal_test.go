package tagging

import (
	"slices"
	"testing"
)

func TestSortUniqueKeepsTheFirstAccountOfEachDistinctID(t *testing.T) {
	t.Parallel()
	got := sortUnique([]wanted{{distinctID: "b", accountID: "1"}, {distinctID: "a", accountID: "2"},
		{distinctID: "b", accountID: "3"}, {distinctID: "B", accountID: "4"}})
	want := []wanted{{distinctID: "B", accountID: "4"}, {distinctID: "a", accountID: "2"}, {distinctID: "b", accountID: "1"}}
	if !slices.Equal(got, want) {
		t.Errorf("sortUnique = %+v, want %+v", got, want)
	}
}

func TestUnionCount(t *testing.T) {
	t.Parallel()
	id := func(s string) string { return s }
	for _, c := range []struct {
		sides [][]string
		want  int
	}{
		{nil, 0},
		{[][]string{{"a", "b"}}, 2},
		{[][]string{{"a", "c", "d"}, {"b", "c", "e", "f"}}, 6},
		{[][]string{{}, {"a"}}, 1},
		{[][]string{{"a", "b"}, {"a", "b"}}, 2},
	} {
		if got := unionCount(id, c.sides...); got != c.want {
			t.Errorf("unionCount(%v) = %d, want %d", c.sides, got, c.want)
		}
	}
}

func TestAdditionsAreBuiltAChunkAtATime(t *testing.T) {
	t.Parallel()
	ws := make([]wanted, sendChunk+1)
	for i := range ws {
		ws[i] = wanted{distinctID: "d", accountID: "a", email: "e", role: "r"}
	}
	var sizes []int
	for ids := range (diff{env: "production"}).additions(ws)() {
		sizes = append(sizes, len(ids))
		if ids[0].Tags[TagEnvironment] != "production" || ids[0].Tags[TagRole] != "r" || ids[0].Email != "e" {
			t.Fatalf("identity %+v", ids[0])
		}
	}
	if !slices.Equal(sizes, []int{sendChunk, 1}) {
		t.Errorf("chunks of %v, want [%d 1]", sizes, sendChunk)
	}
	if n := len(slices.Collect(removals(nil)())); n != 0 {
		t.Errorf("removals(nil) yields %d slices, want none", n)
	}
}
