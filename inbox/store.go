package inbox

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/secret"
)

// The messages table is this package's: this file writes it (a
// delivery), read.go reads it and prune.go prunes it (retention and cap);
// no other file or package names it.

// Channel is the PostgreSQL notification channel on which a committed
// message names its account, so that waiters on every replica wake.
const Channel = "understudy_inbox"

// Redacted replaces each extracted code in a subject that is shown without
// its body.
const Redacted = "••••"

// Bounds of what a message keeps readable (the columns' CHECKs).
const (
	maxHeaderFrom = 1024
	maxSubject    = 4096
	maxParseError = 1024
)

const (
	insertSQL = `
INSERT INTO messages (id, account_id, environment_id, lease_id, received_at, via, envelope_from, envelope_to,
    header_from, subject_redacted, size, client, auth, parse_error, code_count, link_count,
    body_key_id, body_sealed, raw_key_id, raw_sealed)
VALUES ($1, $2, $3, $4::uuid, coalesce($5::timestamptz, now()), $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`
	notifySQL = `SELECT count(pg_notify($1, a)) FROM unnest($2::text[]) a`
)

// row is one message about to be stored.
type row struct {
	id, accountID, environmentID string
	leaseID                      *string
	d                            Delivery
	to                           string
	p                            Parsed
}

func newRow(d Delivery, r Recipient, p Parsed, environmentID, leaseID string) row {
	m := row{id: uuid.Must(uuid.NewV7()).String(), accountID: r.AccountID, environmentID: environmentID, d: d, to: r.Address, p: p}
	if leaseID != "" {
		m.leaseID = &leaseID
	}
	return m
}

// queueInsert queues in b the statements that store m, its body and raw
// MIME (compressed) sealed for m alone, and audit it.
func (s *Service) queueInsert(ctx context.Context, b *pgx.Batch, m row, body, raw []byte) error {
	sb := s.cfg.Keyring.Seal(body, aad(m.id, "body"))
	sr := s.cfg.Keyring.Seal(raw, aad(m.id, "raw"))
	client := ""
	if m.d.Client.IsValid() {
		client = m.d.Client.String()
	}
	b.Queue(insertSQL, m.id, m.accountID, m.environmentID, m.leaseID, s.now(), m.d.Via,
		m.d.EnvelopeFrom, m.to, boundText(m.p.From, maxHeaderFrom), boundText(redact(m.p.Subject, m.p.Codes), maxSubject),
		len(m.d.Raw), client, m.d.Auth, boundText(m.p.ParseError, maxParseError), len(m.p.Codes), len(m.p.Links),
		sb.KeyID, sb.Data, sr.KeyID, sr.Data)
	details := map[string]any{"account_id": m.accountID, "via": m.d.Via, "size": len(m.d.Raw),
		"code_count": len(m.p.Codes), "link_count": len(m.p.Links)}
	if m.leaseID != nil {
		details["lease_id"] = *m.leaseID
	}
	return access.Queue(ctx, b, access.Event{Action: "message.receive", TargetType: "message", TargetID: m.id, Details: details})
}

// aad binds a sealed value to its message and its purpose, so a body
// cannot be opened as another message's, nor as a raw MIME.
func aad(id, purpose string) []byte { return []byte(id + "/" + purpose) }

func openSealed(kr *secret.Keyring, keyID string, data []byte, id, purpose string) ([]byte, error) {
	plain, err := kr.Open(secret.Sealed{KeyID: keyID, Data: data}, aad(id, purpose))
	if err != nil {
		return nil, fmt.Errorf("opening the %s of message %s: %w", purpose, id, err)
	}
	return plain, nil
}

// redact replaces each code found in subject by Redacted, as it is written
// there: Parse joins a code written in groups ("482 913", "A7K-9Q2") into
// one value, so each code is looked for with any run of the separators Parse
// joins across between its characters, case-insensitively. As a last guard,
// when any code was found, every remaining run of 4 or more digits is
// redacted too: a reader never sees a code.
func redact(subject string, codes []Code) string {
	if len(codes) == 0 {
		return subject
	}
	for _, c := range codes {
		if c.Value != "" && len(c.Value) <= 64 {
			subject = redactCode(subject, c.Value)
		}
	}
	return digitRuns.ReplaceAllLiteralString(subject, Redacted)
}

// redactCode replaces each place where subject spells code, its
// characters other than separators compared case-insensitively and
// separated by any run of separators (so a code a role's pattern found
// with its dashes, "AB-CD-EF", is found however it is grouped), by
// Redacted. It scans subject once per starting place, with no regular
// expression to compile for each code of each message.
func redactCode(subject, code string) string {
	code = strings.Map(func(r rune) rune {
		if isCodeSeparator(r) {
			return -1
		}
		return r
	}, code)
	if code == "" {
		return subject
	}
	var b strings.Builder
	done := 0 // subject[:done] is written to b
	for i := 0; i < len(subject); {
		if end := spells(subject, i, code); end > i {
			b.WriteString(subject[done:i])
			b.WriteString(Redacted)
			i, done = end, end
			continue
		}
		_, size := utf8.DecodeRuneInString(subject[i:])
		i += size
	}
	if done == 0 {
		return subject
	}
	b.WriteString(subject[done:])
	return b.String()
}

// spells returns where the spelling of code that starts at subject[i]
// ends, or i when none starts there.
func spells(subject string, i int, code string) int {
	j := i
	for k, want := range code {
		if k > 0 {
			for j < len(subject) {
				r, size := utf8.DecodeRuneInString(subject[j:])
				if !isCodeSeparator(r) {
					break
				}
				j += size
			}
		}
		if j >= len(subject) {
			return i
		}
		r, size := utf8.DecodeRuneInString(subject[j:])
		if r != want && unicode.SimpleFold(r) != want && unicode.ToUpper(r) != unicode.ToUpper(want) {
			return i
		}
		j += size
	}
	return j
}

// isCodeSeparator reports whether r may stand between the characters of a
// code as a message writes it: a space (any kind), a dash, a dot or an
// underscore.
func isCodeSeparator(r rune) bool {
	return unicode.IsSpace(r) || unicode.Is(unicode.Zs, r) || r == '-' || (r >= 0x2010 && r <= 0x2015) || r == '.' || r == '_'
}

// digitRuns are runs of 4 or more digits, possibly grouped by spaces or
// dashes.
var digitRuns = regexp.MustCompile(`\d(?:[\s\-.]*\d){3,}`)

// gzipWriters keeps gzip writers for reuse: each holds some 800 KB of
// compressor state, which would otherwise be made for every message. They
// compress at gzip.BestSpeed: mail shrinks nearly as much (the inbox
// bench's 8,189-byte sign-in mail to 1,340 bytes, against 1,269 at the
// default level) in about half the time, on the delivery's path.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // the level is valid: no error
	return w
}}

func compress(raw []byte) ([]byte, error) {
	var b bytes.Buffer
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(&b)
	if _, err := w.Write(raw); err != nil {
		return nil, fmt.Errorf("compressing the raw message: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compressing the raw message: %w", err)
	}
	return b.Bytes(), nil
}

// decompress inflates a raw message stored compressed, refusing more than
// size bytes (its size when received).
func decompress(z []byte, size int) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(size)+1))
	if err != nil {
		return nil, err
	}
	if len(out) != size {
		return nil, fmt.Errorf("the raw message inflates to %d bytes or more, not its stored size %d", len(out), size)
	}
	return out, nil
}

// boundText cuts s to at most n bytes, on a rune boundary.
func boundText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
