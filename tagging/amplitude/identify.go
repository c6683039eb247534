package amplitude

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/understudy-dev/understudy/tagging"
)

// Mark sets the tags of ids as user properties ($set) with the Identify
// API, in form-encoded batches within the documented limits, and calls ack
// after each accepted batch. An identity whose id Amplitude refuses (see
// invalidUserID) is not sent; the others are, and then ErrRejected names
// how many were left out.
func (p *Publisher) Mark(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return p.identifyAll(ctx, ids, ack, setOperation)
}

// Unmark removes the tags of ids ($unset), as Mark sets them.
func (p *Publisher) Unmark(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return p.identifyAll(ctx, ids, ack, unsetOperation)
}

// identification is one element of the identify request's identification
// array.
type identification struct {
	UserID         string         `json:"user_id"`
	UserProperties map[string]any `json:"user_properties"`
}

// setOperation is the user_properties of a Mark: $set of every tag, with
// is_synthetic as a boolean.
func setOperation(id tagging.SyntheticUser) map[string]any {
	set := make(map[string]any, len(id.Tags)+1)
	for k, v := range id.Tags {
		set[k] = v
	}
	set[tagging.TagSynthetic] = id.Tags[tagging.TagSynthetic] != "false"
	return map[string]any{"$set": set}
}

// unsetOperation is the user_properties of an Unmark: $unset of every tag
// (the value is ignored; the documentation's example sends "-").
func unsetOperation(id tagging.SyntheticUser) map[string]any {
	unset := map[string]any{tagging.TagSynthetic: "-"}
	for k := range id.Tags {
		unset[k] = "-"
	}
	return map[string]any{"$unset": unset}
}

func (p *Publisher) identifyAll(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack, op func(tagging.SyntheticUser) map[string]any) error {
	prefix, batches, refused, err := p.identifyBatches(ids, op)
	if err != nil {
		return err
	}
	for _, batch := range batches {
		if err := p.identify(ctx, prefix, batch); err != nil {
			return err
		}
		done := make([]tagging.SyntheticUser, len(batch))
		for i, it := range batch {
			done[i] = it.id
		}
		if err := ack(ctx, done); err != nil {
			return err
		}
	}
	if len(refused) > 0 {
		return refusedError(refused)
	}
	return nil
}

// identifyBatches encodes ids and splits them as identifyAll sends them:
// the form's prefix (with the API key), the batches, and why the ids
// Amplitude would refuse are left out.
func (p *Publisher) identifyBatches(ids []tagging.SyntheticUser, op func(tagging.SyntheticUser) map[string]any) (string, [][]encoded, []string, error) {
	var refused []string
	items := make([]encoded, 0, len(ids))
	for _, id := range ids {
		if why := invalidUserID(id.DistinctID); why != "" {
			refused = append(refused, why)
			continue
		}
		raw, err := json.Marshal(identification{UserID: id.DistinctID, UserProperties: op(id)})
		if err != nil {
			return "", nil, nil, fmt.Errorf("encoding the identification of %s: %w", id.AccountID, err)
		}
		items = append(items, encoded{id: id, escaped: url.QueryEscape(string(raw))})
	}
	prefix := "api_key=" + url.QueryEscape(p.apiKey) + "&identification="
	return prefix, splitBatches(items, p.settings.BatchSize, MaxRequestBytes-len(prefix)), refused, nil
}

// refusedError says which user ids Amplitude refuses were left out.
func refusedError(refused []string) error {
	return fmt.Errorf("%w: %s", tagging.ErrRejected, refusedText(refused))
}

func refusedText(refused []string) string {
	return fmt.Sprintf("Amplitude refuses %d user id(s), which were not sent: %s", len(refused), strings.Join(refused[:min(len(refused), 3)], "; "))
}

// encoded is one identification, JSON-encoded then form-escaped.
type encoded struct {
	id      tagging.SyntheticUser
	escaped string
}

// splitBatches cuts items into batches of at most n items whose escaped
// identification array ("[a,b]", escaped) is at most size bytes. An item
// larger than size on its own goes alone (Amplitude will say 413).
func splitBatches(items []encoded, n, size int) [][]encoded {
	var out [][]encoded
	var cur []encoded
	curSize := 0
	const bracket, comma = 3, 3 // "%5B" + "%5D", "%2C"
	for _, it := range items {
		add := len(it.escaped)
		if len(cur) > 0 {
			add += comma
		}
		if len(cur) > 0 && (len(cur) >= n || curSize+add+2*bracket > size) {
			out = append(out, cur)
			cur, curSize, add = nil, 0, len(it.escaped)
		}
		cur = append(cur, it)
		curSize += add
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// identify sends one batch and checks the answer.
func (p *Publisher) identify(ctx context.Context, prefix string, batch []encoded) error {
	body := identifyBody(prefix, batch)
	resp, err := p.ingest.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.identifyRequest(ctx, body)
	})
	if err != nil {
		return fmt.Errorf("marking %d identities in Amplitude: %w", len(batch), credentialsError(err))
	}
	return answerError(resp.Body, p.ingest.Scrubber())
}

// identifyBody is the form body of one batch: the prefix, then the
// escaped identification array.
func identifyBody(prefix string, batch []encoded) string {
	parts := make([]string, len(batch))
	for i, it := range batch {
		parts[i] = it.escaped
	}
	return prefix + "%5B" + strings.Join(parts, "%2C") + "%5D"
}

// identifyRequest builds the Identify API request of one body, as identify
// sends it and Preview shows it.
func (p *Publisher) identifyRequest(ctx context.Context, body string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.urls.identify, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

// credentialsError turns Amplitude's answer to a refused API key (400 with
// "Invalid API key" in HTTP V2's JSON, or "invalid_api_key" from the older
// form endpoints) into ErrCredentials; other errors are returned as they are.
func credentialsError(err error) error {
	if !errors.Is(err, tagging.ErrRejected) {
		return err
	}
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "invalid api key") || strings.Contains(msg, "invalid_api_key") {
		return fmt.Errorf("%w: Amplitude answered 400 \"Invalid API key\": check secrets.api_key, and settings.region (a project's key is refused by the other region's endpoint)",
			tagging.ErrCredentials)
	}
	return err
}

// answerError reads a 2xx identify answer: "success", or HTTP V2's JSON
// with "code": 200. A JSON answer with another code or an "error" is
// ErrRejected, its message scrubbed of the keys.
func answerError(body []byte, sc *tagging.Scrubber) error {
	var ans struct {
		Code  *int   `json:"code"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &ans) != nil {
		return nil // "success", the documented text answer
	}
	if ans.Error != "" || (ans.Code != nil && *ans.Code != http.StatusOK) {
		return fmt.Errorf("%w: Amplitude answered 200 with an error: %s", tagging.ErrRejected, sc.Message(ans.Error))
	}
	return nil
}

// reservedIDs are the ids HTTP V2 refuses with a 400.
var reservedIDs = map[string]bool{"anonymous": true, "nil": true, "none": true, "null": true, "n/a": true, "na": true,
	"undefined": true, "unknown": true, `""`: true, "00000000-0000-0000-0000-000000000000": true, "{}": true,
	"lmy47d": true, "0": true, "-1": true}

// invalidUserID says why Amplitude would refuse id as a user_id, or "".
func invalidUserID(id string) string {
	switch {
	case len(id) < 5:
		return fmt.Sprintf("%q is shorter than 5 characters", id)
	case len(id) > 1024:
		return "an id is longer than 1024 characters"
	case reservedIDs[strings.ToLower(id)]:
		return fmt.Sprintf("%q is a reserved placeholder", id)
	}
	return ""
}
