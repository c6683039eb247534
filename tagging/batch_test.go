package tagging_test

import (
	"encoding/json"
	"testing"

	"github.com/understudy-dev/understudy/tagging"
)

// Batches hold at most the items and the bytes given, every one a valid
// JSON document, in order, and every identity once.
func TestJSONPackerSplitsByCountAndBytes(t *testing.T) {
	t.Parallel()
	p := tagging.NewJSONPacker(`{"batch":[`, `]}`, 3, 40)
	var ids []string
	for i := range 8 {
		id := tagging.SyntheticUser{DistinctID: string(rune('a' + i))}
		item, _ := json.Marshal(id.DistinctID + "-----") // 8 bytes each
		p.Add(item, id)
		ids = append(ids, id.DistinctID)
	}
	var got []string
	for _, b := range p.Batches() {
		var doc struct{ Batch []string }
		if err := json.Unmarshal(b.Body, &doc); err != nil || len(b.Body) > 40 || len(b.IDs) > 3 || len(doc.Batch) != len(b.IDs) {
			t.Fatalf("batch %s (%d ids): %v", b.Body, len(b.IDs), err)
		}
		for _, id := range b.IDs {
			got = append(got, id.DistinctID)
		}
	}
	if len(got) != len(ids) {
		t.Fatalf("identities %v, want %v", got, ids)
	}
	for i := range ids {
		if got[i] != ids[i] {
			t.Fatalf("identities %v, want %v", got, ids)
		}
	}
}
