package mixpanel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/understudy-dev/understudy/tagging"
)

// knownTags are unset by Unmark whatever an identity's tags say.
var knownTags = []string{tagging.TagSynthetic, tagging.TagRole, tagging.TagEnvironment, tagging.TagAccountID}

// Mark sets the identities' tags on their profiles ("$set"), is_synthetic
// as a boolean.
func (p *Publisher) Mark(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return p.send(ctx, "marking", ids, ack, setUpdate)
}

// Unmark removes the tags from the profiles ("$unset").
func (p *Publisher) Unmark(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return p.send(ctx, "unmarking", ids, ack, unsetUpdate)
}

func setUpdate(id tagging.SyntheticUser) map[string]any {
	set := map[string]any{}
	for k, v := range id.Tags {
		set[k] = v
	}
	set[tagging.TagSynthetic] = id.Tags[tagging.TagSynthetic] != "false"
	return map[string]any{"$set": set}
}

func unsetUpdate(id tagging.SyntheticUser) map[string]any {
	names := slices.Concat(knownTags, slices.Collect(maps.Keys(id.Tags)))
	slices.Sort(names)
	return map[string]any{"$unset": slices.Compact(names)}
}

// send encodes every update (refusing the batch run before any request if
// one is invalid or too large), splits them by count and bytes, and sends
// the batches in order, acknowledging each accepted one.
func (p *Publisher) send(ctx context.Context, doing string, ids []tagging.SyntheticUser, ack tagging.Ack,
	op func(tagging.SyntheticUser) map[string]any) error {
	if len(ids) == 0 {
		return nil
	}
	batches, err := p.split(ids, op)
	if err != nil {
		return fmt.Errorf("%s %d identities in %s: %w", doing, len(ids), p.dest, err)
	}
	if err := p.checkOnce(ctx); err != nil {
		return err
	}
	return tagging.SendBatches(ctx, p.log, p.dest, doing, batches, p.post, ack)
}

// split encodes the updates and packs them into batches of at most
// MaxBatch updates and MaxRequestBytes bytes.
func (p *Publisher) split(ids []tagging.SyntheticUser, op func(tagging.SyntheticUser) map[string]any) ([]tagging.Batch, error) {
	packer := tagging.NewJSONPacker("[", "]", p.cfg.MaxBatch, p.cfg.MaxRequestBytes)
	for _, id := range ids {
		if strings.TrimSpace(id.DistinctID) == "" {
			return nil, fmt.Errorf("%w: an identity of account %q has no distinct id", tagging.ErrRejected, id.AccountID)
		}
		update := op(id)
		update["$token"] = p.cfg.token
		update["$distinct_id"] = id.DistinctID
		update["$ignore_time"] = true
		enc, err := json.Marshal(update)
		if err != nil {
			return nil, fmt.Errorf("encoding the update of %q: %w", id.DistinctID, err)
		}
		if len(enc) > MaxUpdateBytes || len(enc)+2 > p.cfg.MaxRequestBytes {
			return nil, fmt.Errorf("%w: the update of %q is %d bytes, over Mixpanel's limit", tagging.ErrRejected, id.DistinctID, len(enc))
		}
		packer.Add(enc, id)
	}
	return packer.Batches(), nil
}

// engageRequest builds the /engage request of one batch, as post sends it
// and Preview shows it.
func (p *Publisher) engageRequest(ctx context.Context, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.IngestURL+"/engage?verbose=1&ip=0", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// verbose is the answer of /engage?verbose=1.
type verbose struct {
	Status int     `json:"status"`
	Error  *string `json:"error"`
}

// post sends one batch and reads Mixpanel's verdict from the body.
func (p *Publisher) post(ctx context.Context, body []byte) error {
	resp, err := p.sender.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.engageRequest(ctx, body)
	})
	if err != nil {
		return err
	}
	return p.verdict(resp)
}

// verdict reads a 200's body: {"status":1} is accepted; status 0 is an
// error, of the credentials when it names the token.
func (p *Publisher) verdict(resp tagging.Response) error {
	raw := bytes.TrimSpace(resp.Body)
	var v verbose
	if err := json.Unmarshal(raw, &v); err != nil {
		if string(raw) == "1" {
			return nil
		}
		return fmt.Errorf("%w: Mixpanel answered %d with %q, not a verbose status", tagging.ErrRejected, resp.Status, p.sender.Scrubber().Answer(raw))
	}
	if v.Status == 1 {
		return nil
	}
	msg := "no error message"
	if v.Error != nil && *v.Error != "" {
		msg = p.sender.Scrubber().Message(*v.Error)
	}
	if strings.Contains(strings.ToLower(msg), "token") {
		return fmt.Errorf("%w: Mixpanel answered %d with status 0: %s", tagging.ErrCredentials, resp.Status, msg)
	}
	return fmt.Errorf("%w: Mixpanel answered %d with status 0: %s", tagging.ErrRejected, resp.Status, msg)
}
