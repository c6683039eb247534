package segment_test

import (
	"testing"

	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/publishertest"
)

func TestPreviewIsWhatMarkSends(t *testing.T) {
	t.Parallel()
	rec := &publishertest.Recorder{}
	pub, fake := newPublisher(t, setup{dests: destinations, record: rec}, noSleep)
	p := pub.(tagging.Previewer)
	m := pub.(tagging.Marker)
	ids := publishertest.Identities(3)
	preview, err := p.Preview(ids, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.Requests(); n != 0 {
		t.Fatalf("Preview sent %d requests", n)
	}
	if err := m.Mark(t.Context(), ids, nopAck); err != nil {
		t.Fatal(err)
	}
	publishertest.CheckPreview(t, preview, tagging.PreviewMark, rec.Sent("/v1/batch"), writeKey, apiToken)

	unmark, err := p.Preview(ids, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Unmark(t.Context(), ids, nopAck); err != nil {
		t.Fatal(err)
	}
	publishertest.CheckPreview(t, unmark, tagging.PreviewUnmark, rec.Sent("/v1/batch")[len(preview):], writeKey, apiToken)
}
