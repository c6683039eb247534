package webhook

import (
	"net/http"
	"testing"

	"github.com/understudy-dev/understudy/providers/webhook/signature"
	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/publishertest"
)

func TestPreviewIsWhatMarkSends(t *testing.T) {
	t.Parallel()
	p, fake := newTest(t, "", testSecret)
	rec := &publishertest.Recorder{}
	p.sender.Client = &http.Client{Transport: rec}
	p.batch = 2
	ids := publishertest.Identities(3)
	preview, err := p.Preview(ids, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := fake.Requests(); n != 0 {
		t.Fatalf("Preview sent %d requests", n)
	}
	if err := p.Mark(t.Context(), ids, noAck); err != nil {
		t.Fatal(err)
	}
	if err := p.AddToList(t.Context(), ids, noAck); err != nil {
		t.Fatal(err)
	}
	publishertest.CheckPreview(t, preview, tagging.PreviewMark, rec.Sent("/mark"), testSecret)
	publishertest.CheckPreview(t, preview, tagging.PreviewListAdd, rec.Sent("/list/add"), testSecret)
	for _, r := range preview {
		if r.Header[signature.Header] != tagging.Redacted || r.Header["Idempotency-Key"] != idempotencyPreview {
			t.Errorf("previewed headers: %v", r.Header)
		}
	}

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
	publishertest.CheckPreview(t, remove, tagging.PreviewUnmark, rec.Sent("/unmark"), testSecret)
	publishertest.CheckPreview(t, remove, tagging.PreviewListRemove, rec.Sent("/list/remove"), testSecret)
}
