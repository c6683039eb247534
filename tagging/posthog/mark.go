package posthog

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/understudy-dev/understudy/tagging"
)

// Batch limits of /batch/. PostHog documents no limit on the number of
// events, only a body under 20 MB; these are far inside it, so a batch is
// small enough to retry and to acknowledge.
const (
	// MaxBatch is the most identities per /batch/ request, and per step
	// of AddToList (whose cohort endpoint takes at most 1000 persons).
	MaxBatch = 500
	// maxBatchBytes caps the encoded /batch/ body; a batch over it is
	// split before it is sent.
	maxBatchBytes = 1 << 20
)

// tagNames are the properties Unmark clears.
var tagNames = []string{tagging.TagSynthetic, tagging.TagRole, tagging.TagEnvironment, tagging.TagAccountID}

// event is one entry of a /batch/ body.
type event struct {
	Event      string         `json:"event"`
	DistinctID string         `json:"distinct_id"`
	Properties map[string]any `json:"properties"`
}

// batchAnswer is /batch/'s 200 body: {"status":"Ok"} (the Django capture
// answered {"status":1}), with quota_limited naming the products whose
// events PostHog dropped for the billing limit.
type batchAnswer struct {
	Status       json.RawMessage `json:"status"`
	QuotaLimited []string        `json:"quota_limited"`
}

// Mark sets the tags on each identity with $set events (is_synthetic as a
// JSON boolean), MaxBatch identities per /batch/ request, calling ack after
// each. Errors: ErrCredentials, ErrUnavailable, ErrRejected.
func (p *Publisher) Mark(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return p.capture(ctx, ids, ack, setEvent)
}

// Unmark clears the tags of each identity with $unset. Errors: as Mark.
func (p *Publisher) Unmark(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return p.capture(ctx, ids, ack, unsetEvent)
}

// Mark is Publisher.Mark.
func (m *MarkOnly) Mark(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return m.p.Mark(ctx, ids, ack)
}

// Unmark is Publisher.Unmark.
func (m *MarkOnly) Unmark(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return m.p.Unmark(ctx, ids, ack)
}

func setEvent(id tagging.SyntheticUser) event {
	set := map[string]any{tagging.TagSynthetic: true}
	for k, v := range id.Tags {
		switch {
		case k == tagging.TagSynthetic && (v == "true" || v == "false"):
			set[k] = v == "true"
		default:
			set[k] = v
		}
	}
	return event{Event: "$set", DistinctID: id.DistinctID, Properties: map[string]any{"$set": set}}
}

func unsetEvent(id tagging.SyntheticUser) event {
	return event{Event: "$set", DistinctID: id.DistinctID, Properties: map[string]any{"$unset": tagNames}}
}

// capture sends ids as events in batches within the limits. PostHog drops
// an event without a distinct_id and still answers 200, so such an
// identity is refused before anything is sent.
func (p *Publisher) capture(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack, mk func(tagging.SyntheticUser) event) error {
	if err := checkDistinctIDs(ids); err != nil {
		return err
	}
	for len(ids) > 0 {
		n, body, err := p.nextBatch(ids, mk)
		if err != nil {
			return err
		}
		if err := p.postBatch(ctx, body); err != nil {
			return fmt.Errorf("sending %d identities to PostHog /batch/: %w", n, err)
		}
		if err := ack(ctx, ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// checkDistinctIDs refuses an identity without a distinct id.
func checkDistinctIDs(ids []tagging.SyntheticUser) error {
	if i := slices.IndexFunc(ids, func(id tagging.SyntheticUser) bool { return id.DistinctID == "" }); i >= 0 {
		return fmt.Errorf("%w: identity %d (account %q) has no distinct id, and PostHog silently drops such events", tagging.ErrRejected, i, ids[i].AccountID)
	}
	return nil
}

// nextBatch encodes the longest prefix of ids, at most MaxBatch, whose
// body fits in maxBatchBytes, and returns its length and body.
func (p *Publisher) nextBatch(ids []tagging.SyntheticUser, mk func(tagging.SyntheticUser) event) (int, []byte, error) {
	n := min(len(ids), MaxBatch)
	for {
		events := make([]event, n)
		for i, id := range ids[:n] {
			events[i] = mk(id)
		}
		body, err := json.Marshal(map[string]any{"api_key": p.cfg.token, "batch": events})
		if err != nil {
			return 0, nil, fmt.Errorf("encoding a PostHog batch: %w", err)
		}
		if len(body) <= maxBatchBytes {
			return n, body, nil
		}
		if n == 1 {
			return 0, nil, fmt.Errorf("%w: the tags of %q encode to %d bytes, over the %d-byte batch cap", tagging.ErrRejected, ids[0].DistinctID, len(body), maxBatchBytes)
		}
		n = (n + 1) / 2
	}
}

// batchURL is the URL of the public /batch/ endpoint.
func (p *Publisher) batchURL() string {
	return p.cfg.ingest.JoinPath("batch").String() + "/"
}

// postBatch posts one encoded batch and reads PostHog's 200 body.
func (p *Publisher) postBatch(ctx context.Context, body []byte) error {
	var ans batchAnswer
	if _, err := p.do(ctx, http.MethodPost, p.batchURL(), json.RawMessage(body), false, &ans); err != nil {
		return err
	}
	if s := string(ans.Status); s != `"Ok"` && s != `1` {
		return fmt.Errorf("%w: PostHog answered 200 without status Ok (status %s), so the events may be dropped", tagging.ErrRejected,
			p.sender.Scrubber().Message(cmp.Or(s, "missing")))
	}
	if slices.Contains(ans.QuotaLimited, "events") {
		return fmt.Errorf("%w: PostHog answered 200 but dropped the events: the project is over its billing limit (quota_limited: events)", tagging.ErrRejected)
	}
	return nil
}
