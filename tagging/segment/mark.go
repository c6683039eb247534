package segment

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/understudy-dev/understudy/tagging"
)

// knownTags are nulled by Unmark whatever an identity's tags say.
var knownTags = []string{tagging.TagRole, tagging.TagEnvironment, tagging.TagAccountID}

// Mark sends an identify call per identity with its tags as traits,
// is_synthetic as a boolean.
func (p *Publisher) Mark(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return p.send(ctx, "marking", ids, ack, markTraits)
}

// Unmark sends an identify call per identity with is_synthetic false and
// the other tags null. Segment has no way to remove a trait: a trait is
// overwritten, and destinations treat null as cleared, so false (which
// the filter's strict "= true" does not match) and null are the closest.
func (p *Publisher) Unmark(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return p.send(ctx, "unmarking", ids, ack, unmarkTraits)
}

func markTraits(id tagging.SyntheticUser) map[string]any {
	traits := map[string]any{}
	for k, v := range id.Tags {
		traits[k] = v
	}
	traits[tagging.TagSynthetic] = id.Tags[tagging.TagSynthetic] != "false"
	return traits
}

func unmarkTraits(id tagging.SyntheticUser) map[string]any {
	traits := map[string]any{}
	for k := range id.Tags {
		traits[k] = nil
	}
	for _, k := range knownTags {
		traits[k] = nil
	}
	traits[tagging.TagSynthetic] = false
	return traits
}

// send encodes every call (refusing the whole run, before any request,
// when one is invalid or not under 32 KB: Segment answers 400 to a batch
// holding it, and would refuse the batch's other calls with it), packs them
// into batches of at most 500 KB and MaxBatch calls, and sends them in
// order, acknowledging each.
func (p *Publisher) send(ctx context.Context, doing string, ids []tagging.SyntheticUser, ack tagging.Ack,
	traits func(tagging.SyntheticUser) map[string]any) error {
	if len(ids) == 0 {
		return nil
	}
	batches, err := p.split(ids, traits)
	if err != nil {
		return fmt.Errorf("%s %d identities in %s: %w", doing, len(ids), p.dest, err)
	}
	if err := p.checkOnce(ctx); err != nil {
		return err
	}
	return tagging.SendBatches(ctx, p.log, p.dest, doing, batches, p.post, ack)
}

const (
	batchHead = `{"batch":[`
	batchTail = `]}`
)

func (p *Publisher) split(ids []tagging.SyntheticUser, traits func(tagging.SyntheticUser) map[string]any) ([]tagging.Batch, error) {
	packer := tagging.NewJSONPacker(batchHead, batchTail, p.cfg.MaxBatch, MaxBatchBytes)
	for _, id := range ids {
		if strings.TrimSpace(id.DistinctID) == "" {
			return nil, fmt.Errorf("%w: an identity of account %q has no distinct id", tagging.ErrRejected, id.AccountID)
		}
		call, err := json.Marshal(map[string]any{"type": "identify", "userId": id.DistinctID, "traits": traits(id)})
		if err != nil {
			return nil, fmt.Errorf("encoding the call of %q: %w", id.DistinctID, err)
		}
		if len(call) >= MaxCallBytes {
			return nil, fmt.Errorf("%w: the identify call of %q (account %q) is %d bytes; Segment refuses a batch holding a call "+
				"of %d bytes or more, so shorten its tags", tagging.ErrRejected, id.DistinctID, id.AccountID, len(call), MaxCallBytes)
		}
		packer.Add(call, id)
	}
	return packer.Batches(), nil
}

// post sends one batch with the write key as the Basic auth user name.
// Segment answers 200 to whatever it queued; 400 for a body it refuses.
func (p *Publisher) post(ctx context.Context, body []byte) error {
	_, err := p.sender.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.batchRequest(ctx, body)
	})
	return err
}

// batchRequest builds the /v1/batch request of one batch, as post sends it
// and Preview shows it.
func (p *Publisher) batchRequest(ctx context.Context, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.TrackingURL+"/v1/batch", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(p.cfg.writeKey, "")
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}
