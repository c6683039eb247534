package posthog_test

import (
	"context"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/posthog"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
	"github.com/understudy-dev/understudy/tagging/publishertest"
)

func noAck(context.Context, []tagging.SyntheticUser) error { return nil }

func TestPreviewIsWhatMarkSends(t *testing.T) {
	t.Parallel()
	fake := posthogtest.New(t, posthogtest.Options{})
	rec := &publishertest.Recorder{}
	cfg := config(fake, fake.ProjectToken(), fake.PersonalKey(), nil)
	cfg.HTTPClient = rec.Client()
	pub, err := posthog.Build(cfg, noSleep)
	if err != nil {
		t.Fatal(err)
	}
	p := pub.(*posthog.Publisher)
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
	publishertest.CheckPreview(t, preview, tagging.PreviewMark, rec.Sent("/batch/"), fake.ProjectToken(), fake.PersonalKey())
	last := preview[len(preview)-1]
	if last.Action != tagging.PreviewListAdd || !strings.Contains(last.Note, "looked up first") || last.Body != "" || last.Identities != 3 {
		t.Errorf("the list step is previewed as %+v", last)
	}

	unmark, err := p.Preview(ids, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Unmark(t.Context(), ids, noAck); err != nil {
		t.Fatal(err)
	}
	publishertest.CheckPreview(t, unmark, tagging.PreviewUnmark, rec.Sent("/batch/")[1:], fake.ProjectToken(), fake.PersonalKey())
	if unmark[len(unmark)-1].Action != tagging.PreviewListRemove {
		t.Errorf("the list step of a removal is previewed as %+v", unmark[len(unmark)-1])
	}
}

func TestPreviewMarkOnly(t *testing.T) {
	t.Parallel()
	fake := posthogtest.New(t, posthogtest.Options{})
	pub, err := posthog.Build(config(fake, fake.ProjectToken(), "", nil), noSleep)
	if err != nil {
		t.Fatal(err)
	}
	preview, err := pub.(tagging.Previewer).Preview(publishertest.Identities(2), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(preview) != 1 || preview[0].Action != tagging.PreviewMark || preview[0].Identities != 2 ||
		!strings.Contains(preview[0].Body, `"api_key":"[redacted]"`) || strings.Contains(preview[0].Body, fake.ProjectToken()) {
		t.Errorf("a mark-only preview is %+v", preview)
	}
}
