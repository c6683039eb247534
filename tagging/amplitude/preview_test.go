package amplitude

import (
	"context"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/publishertest"
)

func noAck(context.Context, []tagging.SyntheticUser) error { return nil }

// recorded points p's senders at a Recorder in front of the fake.
func recorded(t *testing.T, settings string) (*Publisher, *publishertest.Recorder, func() int) {
	t.Helper()
	p, fake := newTest(t, settings, false)
	rec := &publishertest.Recorder{Next: fake.Client().Transport}
	p.ingest.Client, p.cohorts.Client = rec.Client(), rec.Client()
	fake.AddCohort("synthetic", 153957)
	return p, rec, fake.Requests
}

func TestPreviewIsWhatMarkSends(t *testing.T) {
	t.Parallel()
	p, rec, requests := recorded(t, `{"app_id": 153957, "cohort_id": "c000001", "batch_size": 2}`)
	ids := publishertest.Identities(3)
	preview, err := p.Preview(ids, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := requests(); n != 0 {
		t.Fatalf("Preview sent %d requests", n)
	}
	if err := p.Mark(t.Context(), ids, noAck); err != nil {
		t.Fatal(err)
	}
	if err := p.AddToList(t.Context(), ids, noAck); err != nil {
		t.Fatal(err)
	}
	publishertest.CheckPreview(t, preview, tagging.PreviewMark, rec.Sent("/identify"), testKey, testSecret)
	publishertest.CheckPreview(t, preview, tagging.PreviewListAdd, rec.Sent("/membership"), testKey, testSecret)

	remove, err := p.Preview(ids, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Unmark(t.Context(), ids, noAck); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveFromList(t.Context(), ids, noAck); err != nil {
		t.Fatal(err)
	}
	marks := len(rec.Sent("/identify")) - len(publishertest.Actions(remove, tagging.PreviewUnmark))
	lists := len(rec.Sent("/membership")) - len(publishertest.Actions(remove, tagging.PreviewListRemove))
	publishertest.CheckPreview(t, remove, tagging.PreviewUnmark, rec.Sent("/identify")[marks:], testKey, testSecret)
	publishertest.CheckPreview(t, remove, tagging.PreviewListRemove, rec.Sent("/membership")[lists:], testKey, testSecret)
}

func TestPreviewNotesTheCohortLookup(t *testing.T) {
	t.Parallel()
	p, _, requests := recorded(t, "")
	preview, err := p.Preview(append(publishertest.Identities(2), tagging.SyntheticUser{DistinctID: "undefined", AccountID: "x"}), false)
	if err != nil {
		t.Fatal(err)
	}
	if requests() != 0 {
		t.Fatalf("Preview sent %d requests", requests())
	}
	list := publishertest.Actions(preview, tagging.PreviewListAdd)
	if len(list) != 1 || !strings.Contains(list[0].Note, "looked up first") || list[0].Body != "" {
		t.Errorf("the list step without a known cohort is previewed as %+v", list)
	}
	marks := publishertest.Actions(preview, tagging.PreviewMark)
	if len(marks) != 2 || marks[0].Identities != 2 || !strings.Contains(marks[1].Note, "reserved placeholder") {
		t.Errorf("the marks with a refused id are previewed as %+v", marks)
	}
}
