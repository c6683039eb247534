package webhook

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/providers/webhook/signature"
	"github.com/understudy-dev/understudy/tagging"
)

// Publisher sends the synthetic identities to a destination that serves
// openapi/destination-webhook.yaml. Build it with New.
type Publisher struct {
	base   *url.URL
	batch  int
	secret []byte
	name   string
	log    *slog.Logger
	sender tagging.Sender
	now    func() time.Time
}

// Compile-time guards: the capabilities Capabilities claims.
var (
	_ tagging.Publisher = (*Publisher)(nil)
	_ tagging.Marker    = (*Publisher)(nil)
	_ tagging.Lister    = (*Publisher)(nil)
	_ tagging.Previewer = (*Publisher)(nil)
	_ tagging.Factory   = New
)

// New builds a webhook publisher from cfg; see Settings and
// SecretSigningSecret. Its errors are *tagging.ConfigError.
func New(cfg tagging.Config) (tagging.Publisher, error) {
	return newPublisher(cfg)
}

func newPublisher(cfg tagging.Config) (*Publisher, error) {
	s, err := decodeSettings(cfg.Settings)
	if err != nil {
		return nil, err
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	sec, err := secret(cfg.Secrets)
	if err != nil {
		return nil, err
	}
	base, _ := s.baseURL()
	name := cmp.Or(cfg.Destination, base.Host)
	return &Publisher{
		base: base, batch: s.BatchSize, secret: sec, name: name,
		log:    cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)).With(slog.String("destination", name)),
		sender: tagging.Sender{Vendor: "the webhook destination " + name, Client: cfg.HTTPClient, Secrets: []string{string(sec)}},
		now:    time.Now,
	}, nil
}

// Capabilities are mark and list.
func (p *Publisher) Capabilities() []tagging.Capability {
	return []tagging.Capability{tagging.CapMark, tagging.CapList}
}

// ManualSteps says that the receiver, not Understudy, decides what
// exclusion means.
func (p *Publisher) ManualSteps() []string {
	return []string{
		"The receiver decides what exclusion means: Understudy only sends it the identities to mark, unmark, list and unlist (openapi/destination-webhook.yaml). Check that " + p.name + " applies them where it reports numbers (a filter, a flag on the user, a list its queries read), and what it does with events it received before an identity was marked.",
	}
}

// Test calls GET /health, signed over the empty body. Errors:
// ErrCredentials (401: a bad signing secret), ErrUnavailable, ErrRejected.
func (p *Publisher) Test(ctx context.Context) (tagging.Check, error) {
	resp, err := p.sender.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.request(ctx, http.MethodGet, "/health", nil, "")
	})
	if err != nil {
		return tagging.Check{}, fmt.Errorf("testing %s: %w", p.name, err)
	}
	var ans struct {
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(resp.Body, &ans)
	detail := fmt.Sprintf("%s verified the signature (GET /health answered %d)", p.name, resp.Status)
	if ans.Detail != "" {
		detail += ": " + p.sender.Scrubber().Message(ans.Detail)
	}
	return tagging.Check{OK: true, Detail: detail}, nil
}

// Mark sends ids to POST /mark in batches, acknowledging each batch's
// accepted identities. Errors: ErrCredentials (401), ErrUnavailable,
// ErrRejected (a 4xx, an answer off the contract, or per-item errors: the
// others are acknowledged, the refused ones are named at the end).
func (p *Publisher) Mark(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return p.send(ctx, "/mark", ids, ack)
}

// Unmark sends ids to POST /unmark, as Mark.
func (p *Publisher) Unmark(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return p.send(ctx, "/unmark", ids, ack)
}

// AddToList sends ids to POST /list/add, as Mark.
func (p *Publisher) AddToList(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return p.send(ctx, "/list/add", ids, ack)
}

// RemoveFromList sends ids to POST /list/remove, as Mark.
func (p *Publisher) RemoveFromList(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	return p.send(ctx, "/list/remove", ids, ack)
}

// ItemError is a destination's refusal of one identity.
type ItemError struct {
	DistinctID string `json:"distinct_id"`
	Code       string `json:"code"`
	Detail     string `json:"detail,omitempty"`
}

func (p *Publisher) send(ctx context.Context, path string, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	var refused []ItemError
	for _, batch := range p.batches(ids) {
		r, err := p.sendBatch(ctx, path, batch, ack)
		if err != nil {
			return err
		}
		refused = append(refused, r...)
	}
	if len(refused) > 0 {
		first, sc := refused[0], p.sender.Scrubber()
		return fmt.Errorf("%w: %s refused %d identities at %s, e.g. %s: %s %s", tagging.ErrRejected, p.name, len(refused), path,
			cut(first.DistinctID, 100), sc.Message(cut(first.Code, 50)), sc.Message(first.Detail))
	}
	return nil
}

// batches cuts ids into the batches send sends, of at most the batch size.
func (p *Publisher) batches(ids []tagging.SyntheticUser) [][]tagging.SyntheticUser {
	var out [][]tagging.SyntheticUser
	for start := 0; start < len(ids); start += p.batch {
		out = append(out, ids[start:min(start+p.batch, len(ids))])
	}
	return out
}

// batchBody is the body of one batch: {"identities": [...]}.
func batchBody(batch []tagging.SyntheticUser) ([]byte, error) {
	return json.Marshal(struct {
		Identities []tagging.SyntheticUser `json:"identities"`
	}{batch})
}

// sendBatch sends one batch and acknowledges what the destination applied.
func (p *Publisher) sendBatch(ctx context.Context, path string, batch []tagging.SyntheticUser, ack tagging.Ack) ([]ItemError, error) {
	body, err := batchBody(batch)
	if err != nil {
		return nil, err
	}
	key := idempotencyKey()
	resp, err := p.sender.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.request(ctx, http.MethodPost, path, body, key)
	})
	if err != nil {
		return nil, fmt.Errorf("sending %d identities to %s%s: %w", len(batch), p.name, path, err)
	}
	var ans struct {
		Accepted *int        `json:"accepted"`
		Errors   []ItemError `json:"errors"`
	}
	if err := json.Unmarshal(resp.Body, &ans); err != nil || ans.Accepted == nil {
		return nil, fmt.Errorf("%w: %s answered %s without {\"accepted\": n}", tagging.ErrRejected, p.name, path)
	}
	refused := map[string]bool{}
	for _, e := range ans.Errors {
		refused[e.DistinctID] = true
	}
	done := make([]tagging.SyntheticUser, 0, len(batch))
	for _, id := range batch {
		if !refused[id.DistinctID] {
			done = append(done, id)
		}
	}
	if *ans.Accepted != len(done) {
		return nil, fmt.Errorf("%w: %s accepted %d of %d identities at %s but named %d errors: nothing of the batch is counted as done",
			tagging.ErrRejected, p.name, *ans.Accepted, len(batch), path, len(ans.Errors))
	}
	if len(done) > 0 {
		if err := ack(ctx, done); err != nil {
			return nil, err
		}
	}
	return ans.Errors, nil
}

// request builds a signed request: the signature is made afresh for each
// attempt, since it carries the time.
func (p *Publisher) request(ctx context.Context, method, path string, body []byte, idempotencyKey string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.base.String()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set(signature.Header, signature.Sign(p.secret, p.now(), body))
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	return req, nil
}

func idempotencyKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func cut(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
