package segment

import (
	"context"
	"fmt"

	"github.com/understudy-dev/understudy/tagging"
)

// Preview returns the /v1/batch requests Mark (Unmark when remove) would
// send for ids, split and encoded by the same code, the write key's Basic
// auth redacted. Segment keeps no list. Errors: as Mark, before anything
// would be sent.
func (p *Publisher) Preview(ids []tagging.SyntheticUser, remove bool) ([]tagging.PreviewRequest, error) {
	traits, action := markTraits, tagging.PreviewMark
	if remove {
		traits, action = unmarkTraits, tagging.PreviewUnmark
	}
	if len(ids) == 0 {
		return nil, nil
	}
	batches, err := p.split(ids, traits)
	if err != nil {
		return nil, fmt.Errorf("previewing %d identities in %s: %w", len(ids), p.dest, err)
	}
	out := make([]tagging.PreviewRequest, 0, len(batches))
	for _, b := range batches {
		req, err := p.batchRequest(context.Background(), b.Body)
		if err != nil {
			return nil, err
		}
		pr, err := tagging.PreviewOf(action, req, len(b.IDs), []string{p.cfg.writeKey, p.cfg.apiToken})
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}
