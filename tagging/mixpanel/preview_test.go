package mixpanel_test

import (
	"testing"

	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/publishertest"
)

func TestPreviewIsWhatMarkSends(t *testing.T) {
	t.Parallel()
	rec := &publishertest.Recorder{}
	p, fake := newPublisher(t, setup{serviceAccount: true, record: rec, settings: map[string]any{"max_batch": 2}}, noSleep)
	ids := publishertest.Identities(3)
	preview, err := p.Preview(ids, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.Requests(); n != 0 {
		t.Fatalf("Preview sent %d requests", n)
	}
	if err := p.Mark(t.Context(), ids, nopAck); err != nil {
		t.Fatal(err)
	}
	publishertest.CheckPreview(t, preview, tagging.PreviewMark, rec.Sent("/engage?verbose"), token, saSecret)

	unmark, err := p.Preview(ids, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Unmark(t.Context(), ids, nopAck); err != nil {
		t.Fatal(err)
	}
	publishertest.CheckPreview(t, unmark, tagging.PreviewUnmark, rec.Sent("/engage?verbose")[len(preview):], token, saSecret)
}
