package webhook

import (
	"context"
	"net/http"

	"github.com/understudy-dev/understudy/providers/webhook/signature"
	"github.com/understudy-dev/understudy/tagging"
)

// idempotencyPreview stands for the Idempotency-Key of a previewed request:
// a new random key is drawn for each batch when it is sent.
const idempotencyPreview = "(random, new for each batch)"

// Preview returns the requests Mark and AddToList (Unmark and
// RemoveFromList when remove) would send for ids: the same batches and
// bodies, the signature redacted. It never fails for valid identities.
func (p *Publisher) Preview(ids []tagging.SyntheticUser, remove bool) ([]tagging.PreviewRequest, error) {
	steps := []struct{ path, action string }{{"/mark", tagging.PreviewMark}, {"/list/add", tagging.PreviewListAdd}}
	if remove {
		steps = []struct{ path, action string }{{"/unmark", tagging.PreviewUnmark}, {"/list/remove", tagging.PreviewListRemove}}
	}
	var out []tagging.PreviewRequest
	for _, st := range steps {
		for _, batch := range p.batches(ids) {
			body, err := batchBody(batch)
			if err != nil {
				return nil, err
			}
			req, err := p.request(context.Background(), http.MethodPost, st.path, body, idempotencyPreview)
			if err != nil {
				return nil, err
			}
			pr, err := tagging.PreviewOf(st.action, req, len(batch), []string{string(p.secret)}, signature.Header)
			if err != nil {
				return nil, err
			}
			out = append(out, pr)
		}
	}
	return out, nil
}
