package tagging

import (
	"context"
	"fmt"
	"log/slog"
)

// Batch is one request of a publisher: its encoded body and the
// identities it carries (what the vendor acknowledges by accepting it).
type Batch struct {
	Body []byte
	IDs  []SyntheticUser
}

// JSONPacker packs encoded JSON items into the bodies of batch requests,
// each a JSON array written between head and tail ("[" and "]", or
// `{"batch":[` and "]}"), of at most maxItems items and maxBytes bytes. An
// item must fit in a batch on its own: the caller refuses larger ones
// first, naming the vendor's limit.
type JSONPacker struct {
	head, tail         string
	maxItems, maxBytes int
	cur                Batch
	out                []Batch
}

// NewJSONPacker returns an empty packer.
func NewJSONPacker(head, tail string, maxItems, maxBytes int) *JSONPacker {
	return &JSONPacker{head: head, tail: tail, maxItems: maxItems, maxBytes: maxBytes, cur: Batch{Body: []byte(head)}}
}

// Add appends item, the encoding of id, starting a new batch when it would
// not fit in the current one.
func (p *JSONPacker) Add(item []byte, id SyntheticUser) {
	if len(p.cur.IDs) > 0 && (len(p.cur.IDs) == p.maxItems || len(p.cur.Body)+1+len(item)+len(p.tail) > p.maxBytes) {
		p.close()
	}
	if len(p.cur.IDs) > 0 {
		p.cur.Body = append(p.cur.Body, ',')
	}
	p.cur.Body = append(p.cur.Body, item...)
	p.cur.IDs = append(p.cur.IDs, id)
}

func (p *JSONPacker) close() {
	p.cur.Body = append(p.cur.Body, p.tail...)
	p.out = append(p.out, p.cur)
	p.cur = Batch{Body: []byte(p.head)}
}

// Batches closes the current batch and returns them all, in order.
func (p *JSONPacker) Batches() []Batch {
	p.close()
	return p.out
}

// SendBatches sends batches in order through post, and acknowledges each
// one the vendor accepted before the next is sent, so a run that stops
// resumes after it. An error names the batch: "marking batch 2 of 5 (500
// identities) in production-mixpanel: …".
func SendBatches(ctx context.Context, logger *slog.Logger, dest, doing string, batches []Batch,
	post func(ctx context.Context, body []byte) error, ack Ack) error {
	for i, b := range batches {
		if err := post(ctx, b.Body); err != nil {
			return fmt.Errorf("%s batch %d of %d (%d identities) in %s: %w", doing, i+1, len(batches), len(b.IDs), dest, err)
		}
		logger.DebugContext(ctx, "batch accepted", slog.String("destination", dest),
			slog.String("op", doing), slog.Int("batch", i+1), slog.Int("identities", len(b.IDs)))
		if err := ack(ctx, b.IDs); err != nil {
			return err
		}
	}
	return nil
}
