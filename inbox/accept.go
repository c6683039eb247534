package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
)

// Limits of a delivery.
const (
	// MaxAddress is the longest address accepted (RFC 5321's path limit).
	MaxAddress = 254
	// MaxRecipients is the most recipients one delivery may have.
	MaxRecipients = 100
	// MaxRawSize is the largest raw message stored, in bytes. The doors
	// refuse a larger one before it is read in full.
	MaxRawSize = 32 << 20
	// maxEnvelopeFrom bounds the envelope sender kept with a message.
	maxEnvelopeFrom = 512
)

// addressRE is an addr-spec in its dot-atom form, the only form a
// synthetic account's address takes; a quoted local part is refused.
var addressRE = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$`)

// Accept answers whether address is a synthetic account's: its local part
// without a plus-tag, in lower case, at a controlled domain of this
// server, is the address of an account that is not retired. It reads, in
// the same query, what Receive needs of the account: its environment, its
// role's patterns and its open lease. Errors:
// EINVALID (not an address), ENOTFOUND (anything else: another domain, an
// unknown or retired account alike, so the answer tells nothing more).
func (s *Service) Accept(ctx context.Context, address string) (Recipient, error) {
	if len(address) > MaxAddress || !addressRE.MatchString(address) {
		return Recipient{}, understudy.Invalid("invalid recipient", understudy.FieldError{Field: "address",
			Detail: fmt.Sprintf("must be an address local@domain of at most %d characters", MaxAddress)})
	}
	notFound := understudy.Errorf(understudy.ENOTFOUND, "no synthetic account has the address %s", address)
	lower := strings.ToLower(address)
	at := strings.LastIndexByte(lower, '@')
	local, domain := lower[:at], lower[at+1:]
	local, _, _ = strings.Cut(local, "+")
	if local == "" || !slices.Contains(s.cfg.Accounts.AllowedDomains(), domain) {
		return Recipient{}, notFound
	}
	box, err := accounts.MailboxByEmail(ctx, s.db, local+"@"+domain)
	if understudy.ErrorCode(err) == understudy.ENOTFOUND {
		return Recipient{}, notFound
	}
	if err != nil {
		return Recipient{}, err
	}
	return Recipient{Address: address, AccountID: box.AccountID, box: box}, nil
}

// Receive stores d once per recipient: each message read with the
// patterns of its account's role (Parse, once per distinct pair of
// patterns), sealed, audited (message.receive), and kept against the lease
// open on its account when the recipient was accepted (the mail a test
// causes is sent, so accepted, after its lease began). Waiters on any
// replica are woken when it commits. It returns the ids of the stored
// messages in the order of d.Recipients.
//
// A delivery costs one round trip: the inserts, their audit events and
// the notification are one pipelined batch, which PostgreSQL runs as one
// implicit transaction (a batch ends with a single Sync), so all of them
// commit or none. The recipients' accounts are as Accept found them (an
// account retired since still gets this one message; it is kept, like the
// rest of its mail, for its retention); a Recipient not made by Accept has
// its account read, and refused when it is gone or retired. Each account's inbox is cut to its
// environment's inbox_max_messages by the prune job (Prune), not here.
// Errors: EINVALID (the delivery), ENOTFOUND (a recipient's account, read
// here, is gone or retired).
func (s *Service) Receive(ctx context.Context, d Delivery) ([]string, error) {
	if err := validateDelivery(d); err != nil {
		return nil, err
	}
	raw, err := compress(d.Raw)
	if err != nil {
		return nil, err
	}
	var accountIDs []string
	for _, r := range d.Recipients {
		if !slices.Contains(accountIDs, r.AccountID) {
			accountIDs = append(accountIDs, r.AccountID)
		}
	}
	boxes, err := s.mailboxes(ctx, d.Recipients)
	if err != nil {
		return nil, err
	}
	reads, err := readFor(d.Raw, boxes)
	if err != nil {
		return nil, err
	}
	b := &pgx.Batch{}
	ids := make([]string, len(d.Recipients))
	for i, r := range d.Recipients {
		box := boxes[r.AccountID]
		rd := reads[rulesOf(box)]
		m := newRow(d, r, rd.p, box.EnvironmentID, box.LeaseID)
		if err := s.queueInsert(ctx, b, m, rd.body, raw); err != nil {
			return nil, err
		}
		ids[i] = m.id
	}
	b.Queue(notifySQL, Channel, accountIDs)
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return ids, nil
}

// validateDelivery names every bad field of d at once.
func validateDelivery(d Delivery) error {
	var fields []understudy.FieldError
	if d.Via != "smtp" && d.Via != "https" {
		fields = append(fields, understudy.FieldError{Field: "via", Detail: fmt.Sprintf("must be smtp or https; got %q", boundText(d.Via, 20))})
	}
	switch n := len(d.Recipients); {
	case n == 0:
		fields = append(fields, understudy.FieldError{Field: "recipients", Detail: "must name at least one accepted recipient"})
	case n > MaxRecipients:
		fields = append(fields, understudy.FieldError{Field: "recipients", Detail: fmt.Sprintf("must be at most %d; got %d", MaxRecipients, n)})
	}
	for i, r := range d.Recipients {
		if i == MaxRecipients {
			break
		}
		if _, err := uuid.Parse(r.AccountID); err != nil {
			fields = append(fields, understudy.FieldError{Field: fmt.Sprintf("recipients[%d].account_id", i), Detail: "must be an account id, as Accept returns it"})
		}
		if r.Address == "" || len(r.Address) > MaxAddress {
			fields = append(fields, understudy.FieldError{Field: fmt.Sprintf("recipients[%d].address", i), Detail: fmt.Sprintf("must be 1 to %d characters", MaxAddress)})
		}
	}
	if len(d.EnvelopeFrom) > maxEnvelopeFrom {
		fields = append(fields, understudy.FieldError{Field: "envelope_from", Detail: fmt.Sprintf("must be at most %d bytes; got %d", maxEnvelopeFrom, len(d.EnvelopeFrom))})
	}
	switch {
	case len(d.Raw) == 0:
		fields = append(fields, understudy.FieldError{Field: "raw", Detail: "must hold the message; it is empty"})
	case len(d.Raw) > MaxRawSize:
		fields = append(fields, understudy.FieldError{Field: "raw", Detail: fmt.Sprintf("must be at most %d bytes; got %d", MaxRawSize, len(d.Raw))})
	}
	if len(fields) > 0 {
		return understudy.Invalid("invalid delivery", fields...)
	}
	return nil
}

// mailboxes returns the mailbox of each recipient's account, by account
// id: as Accept found it, or read in one query for the recipients made
// without one, refusing an account that is gone or retired.
func (s *Service) mailboxes(ctx context.Context, rs []Recipient) (map[string]accounts.Mailbox, error) {
	boxes := make(map[string]accounts.Mailbox, len(rs))
	var missing []string
	for _, r := range rs {
		switch {
		case r.box.AccountID == r.AccountID && r.box.EnvironmentID != "":
			boxes[r.AccountID] = r.box
		case !slices.Contains(missing, r.AccountID):
			missing = append(missing, r.AccountID)
		}
	}
	if len(missing) == 0 {
		return boxes, nil
	}
	read, err := accounts.Mailboxes(ctx, s.db, missing)
	if err != nil {
		return nil, err
	}
	for _, id := range missing {
		b, ok := read[id]
		if !ok || b.Status == accounts.StatusRetired {
			return nil, understudy.Errorf(understudy.ENOTFOUND, "no synthetic account has id %s (it was retired since the recipient was accepted)", id)
		}
		boxes[id] = b
	}
	return boxes, nil
}

// rules are a role's patterns, as a map key.
type rules struct{ code, link string }

func rulesOf(b accounts.Mailbox) rules { return rules{b.CodePattern, b.LinkPattern} }

// reading is a message as Parse read it with one pair of patterns, and
// the body kept of it: its JSON without the text and the HTML, which are
// read again from the raw MIME when the body is shown (Service.scan), as
// they would double what a message stores (and sealed, they could not be
// compressed).
type reading struct {
	p    Parsed
	body []byte
}

// readFor reads raw once, finding its codes and links with each pair of
// patterns among boxes. A pattern that does not compile (it was checked
// when its role was written) leaves the default rules.
func readFor(raw []byte, boxes map[string]accounts.Mailbox) (map[rules]reading, error) {
	var keys []rules
	var ps []Patterns
	for _, b := range boxes {
		if k := rulesOf(b); !slices.Contains(keys, k) {
			keys = append(keys, k)
			ps = append(ps, Patterns{Code: compilePattern(k.code), Link: compilePattern(k.link)})
		}
	}
	out := make(map[rules]reading, len(keys))
	for i, p := range parseEach(raw, ps) {
		kept := p
		kept.Text, kept.HTML = "", ""
		body, err := json.Marshal(kept)
		if err != nil {
			return nil, fmt.Errorf("encoding the parsed message: %w", err)
		}
		out[keys[i]] = reading{p: p, body: body}
	}
	return out, nil
}

func compilePattern(s string) *regexp.Regexp {
	if s == "" {
		return nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil
	}
	return re
}
