package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Message is a stored message as a listing shows it. Subject has its
// codes replaced by Redacted unless the caller may read bodies and asked
// for them; Body is set only then.
type Message struct {
	ID         string    `json:"id"`
	AccountID  string    `json:"account_id"`
	LeaseID    string    `json:"lease_id,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	// Via is the door it came through: smtp or https.
	Via string `json:"via"`
	// EnvelopeFrom is the envelope sender (empty for a bounce); To is the
	// envelope recipient as it was given, plus-tag included.
	EnvelopeFrom string `json:"envelope_from"`
	To           string `json:"to"`
	// From is the address of the From header.
	From       string `json:"from"`
	Subject    string `json:"subject"`
	Size       int    `json:"size"`
	CodeCount  int    `json:"code_count"`
	LinkCount  int    `json:"link_count"`
	ParseError string `json:"parse_error,omitempty"`
	// Client is the sending host's address, when the door knew it.
	Client string      `json:"client,omitempty"`
	Auth   AuthResults `json:"auth"`
	Body   *Body       `json:"body,omitempty"`
}

// Body is what a message says, opened: only admin and runner callers get
// it.
type Body struct {
	Subject string   `json:"subject"`
	Headers []Header `json:"headers"`
	Text    string   `json:"text"`
	HTML    string   `json:"html"`
	Codes   []Code   `json:"codes"`
	Links   []Link   `json:"links"`
	// TextsOmitted says that Text and HTML were not read for this listing:
	// its budget of raw MIME read again (MaxTextBytes) was spent on the
	// messages before it. Get reads them.
	TextsOmitted bool `json:"texts_omitted,omitempty"`
}

// Bounds of a listing.
const (
	// DefaultLimit is a listing's length when Filter.Limit is 0.
	DefaultLimit = 20
	// MaxLimit is the longest listing.
	MaxLimit = 100
	// MaxScan is how many messages, newest first (or, with After, nearest
	// first), a Subject filter reads at most when it matches full subjects.
	MaxScan = 1000
	// maxFilterText bounds the From and Subject filters.
	maxFilterText = 200
	// MaxTextBytes bounds the raw MIME one listing reads again for its
	// bodies' text and HTML (the reading and the sanitizing cost about
	// 150 ms a MiB of styled HTML): a message beyond it has its Body
	// without them (TextsOmitted). One message is always read, whatever
	// its size.
	MaxTextBytes = 8 << 20
)

// Filter narrows a listing. Zero fields match everything.
type Filter struct {
	// AccountID keeps one account's messages.
	AccountID string
	// Since keeps messages received at or after it; Until before it.
	Since, Until time.Time
	// After is a message id: only messages received after it are kept
	// (the nearest ones, when more than Limit are), to page forwards or to
	// wait for what comes next.
	After string
	// From keeps messages whose From address contains it, and Subject
	// those whose subject contains it, case-insensitively (at most 200
	// characters each). Subject matches the full subject for a caller who
	// may read bodies, within the MaxScan messages it reads, and the
	// redacted subject for any other.
	From, Subject string
	// Limit is 1 to MaxLimit; 0 means DefaultLimit.
	Limit int
	// Bodies asks for each message's Body and full subject; only an admin
	// or runner caller gets them, and any other caller gets neither.
	Bodies bool
	// SkipTexts leaves the bodies' Text and HTML out: their codes, links,
	// headers and subject are what is stored, and the text and HTML would
	// be read again from the raw MIME (see MaxTextBytes).
	SkipTexts bool
}

// query is a validated Filter, its cursor resolved.
type query struct {
	f         Filter
	account   *uuid.UUID
	since     *time.Time
	until     *time.Time
	afterAt   *time.Time
	afterID   *uuid.UUID
	fullMatch bool // match Subject on opened bodies
	bodies    bool // return bodies and full subjects
	texts     bool // with their text and HTML
	// textBytes is the raw MIME read for texts so far, against
	// MaxTextBytes.
	textBytes int
}

// canOpen reports whether the caller of ctx may read bodies and codes.
func canOpen(ctx context.Context) bool {
	sc := access.CallerFrom(ctx).Scope
	return sc == access.ScopeAdmin || sc == access.ScopeRunner
}

// messageColumns are a listing's; withRaw adds the raw MIME, read when
// bodies are shown (their text and HTML are read from it).
const (
	messageColumns = `m.id::text, m.account_id::text, coalesce(m.lease_id::text, ''), m.received_at, m.via,
m.envelope_from, m.envelope_to, m.header_from, m.subject_redacted, m.size, m.client, m.auth, m.parse_error, m.code_count,
m.link_count, m.body_key_id, m.body_sealed`
	withRaw = `, m.raw_key_id, m.raw_sealed`
)

const listFrom = ` FROM messages m
WHERE ($1::uuid IS NULL OR m.account_id = $1)
  AND ($2::timestamptz IS NULL OR m.received_at >= $2)
  AND ($3::timestamptz IS NULL OR m.received_at < $3)
  AND ($4 = '' OR strpos(lower(m.header_from), lower($4)) > 0)
  AND ($5 = '' OR strpos(lower(m.subject_redacted), lower($5)) > 0)
  AND ($6::timestamptz IS NULL OR (m.received_at, m.id) > ($6, $7::uuid))`

const (
	newest  = ` ORDER BY m.received_at DESC, m.id DESC LIMIT $8`
	nearest = ` ORDER BY m.received_at, m.id LIMIT $8`

	listNewestSQL         = `SELECT ` + messageColumns + listFrom + newest
	listNearestSQL        = `SELECT ` + messageColumns + listFrom + nearest
	listNewestWithRawSQL  = `SELECT ` + messageColumns + withRaw + listFrom + newest
	listNearestWithRawSQL = `SELECT ` + messageColumns + withRaw + listFrom + nearest
	cursorSQL             = `SELECT received_at FROM messages WHERE id = $1`
	getSQL                = `SELECT ` + messageColumns + ` FROM messages m WHERE m.id = $1`
	getWithRawSQL         = `SELECT ` + messageColumns + withRaw + ` FROM messages m WHERE m.id = $1`
	rawSQL                = `SELECT account_id::text, size, raw_key_id, raw_sealed FROM messages WHERE id = $1`
)

// List returns the messages matching f, newest first. Errors: EINVALID
// (the filter, an After that names no message).
func (s *Service) List(ctx context.Context, f Filter) ([]Message, error) {
	q, err := s.prepare(ctx, f)
	if err != nil {
		return nil, err
	}
	return s.list(ctx, q)
}

// prepare validates f and resolves its cursor, naming every bad field.
func (s *Service) prepare(ctx context.Context, f Filter) (query, error) {
	q := query{f: f, fullMatch: f.Subject != "" && canOpen(ctx), bodies: f.Bodies && canOpen(ctx)}
	q.texts = q.bodies && !f.SkipTexts
	var fields []understudy.FieldError
	if f.AccountID != "" {
		id, err := uuid.Parse(f.AccountID)
		if err != nil {
			fields = append(fields, understudy.FieldError{Field: "account_id", Detail: "must be an account id"})
		}
		q.account = &id
	}
	if !f.Since.IsZero() {
		q.since = &f.Since
	}
	if !f.Until.IsZero() {
		q.until = &f.Until
	}
	for name, v := range map[string]string{"from": f.From, "subject": f.Subject} {
		if len(v) > maxFilterText {
			fields = append(fields, understudy.FieldError{Field: name, Detail: fmt.Sprintf("must be at most %d bytes; got %d", maxFilterText, len(v))})
		}
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		fields = append(fields, understudy.FieldError{Field: "limit", Detail: fmt.Sprintf("must be 1 to %d; got %d", MaxLimit, f.Limit)})
	}
	if q.f.Limit == 0 {
		q.f.Limit = DefaultLimit
	}
	if f.After != "" {
		id, err := uuid.Parse(f.After)
		found := false
		if err == nil {
			var at time.Time
			if at, found, err = pgdb.QueryMaybe(ctx, s.db, pgdb.Scalar[time.Time], pgdb.Conflict{}, cursorSQL, id); err != nil {
				return query{}, err
			}
			q.afterAt, q.afterID = &at, &id
		}
		if !found {
			fields = append(fields, understudy.FieldError{Field: "after", Detail: "must be the id of a stored message"})
		}
	}
	if len(fields) > 0 {
		return query{}, understudy.Invalid("invalid message filter", fields...)
	}
	return q, nil
}

// list runs q: the rows in SQL, then, for a full-subject match, the
// subjects of the opened bodies.
func (s *Service) list(ctx context.Context, q query) ([]Message, error) {
	sql := map[[2]bool]string{{false, false}: listNewestSQL, {true, false}: listNearestSQL,
		{false, true}: listNewestWithRawSQL, {true, true}: listNearestWithRawSQL}[[2]bool{q.afterAt != nil, q.texts}]
	subject, limit := q.f.Subject, q.f.Limit
	if q.fullMatch {
		subject, limit = "", MaxScan
	}
	rows, err := s.db.Query(ctx, sql, q.account, q.since, q.until, q.f.From, subject, q.afterAt, q.afterID, limit)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() && len(out) < q.f.Limit {
		m, keep, err := s.scan(rows, &q)
		if err != nil {
			return nil, pgdb.Translate(err, "", "")
		}
		if keep {
			out = append(out, m)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	if q.afterAt != nil {
		slices.Reverse(out)
	}
	return out, nil
}

// scan reads one message (with its raw MIME when q.texts: the row has
// withRaw's columns then), opening its body when q matches on it or
// returns it; keep is false when the full subject does not match. It
// counts the raw MIME it reads again in q.textBytes.
func (s *Service) scan(row pgx.Row, q *query) (m Message, keep bool, err error) {
	var keyID, rawKeyID string
	var sealed, rawSealed []byte
	dest := []any{&m.ID, &m.AccountID, &m.LeaseID, &m.ReceivedAt, &m.Via, &m.EnvelopeFrom, &m.To, &m.From,
		&m.Subject, &m.Size, &m.Client, &m.Auth, &m.ParseError, &m.CodeCount, &m.LinkCount, &keyID, &sealed}
	if q.texts {
		dest = append(dest, &rawKeyID, &rawSealed)
	}
	if err := row.Scan(dest...); err != nil {
		return Message{}, false, err
	}
	if !q.fullMatch && !q.bodies {
		return m, true, nil
	}
	plain, err := openSealed(s.cfg.Keyring, keyID, sealed, m.ID, "body")
	if err != nil {
		return Message{}, false, err
	}
	var p Parsed
	if err := json.Unmarshal(plain, &p); err != nil {
		return Message{}, false, fmt.Errorf("decoding the body of message %s: %w", m.ID, err)
	}
	if q.fullMatch && !strings.Contains(strings.ToLower(p.Subject), strings.ToLower(q.f.Subject)) {
		return Message{}, false, nil
	}
	if !q.bodies {
		return m, true, nil
	}
	m.Subject = p.Subject
	b := &Body{Subject: p.Subject, Headers: p.Headers, Codes: p.Codes, Links: p.Links}
	m.Body = b
	switch {
	case !q.texts:
	case p.Text != "" || p.HTML != "":
		// A body stored whole, as the first deliveries stored theirs.
		b.Text, b.HTML = p.Text, shownHTML(p.HTML)
	case q.textBytes > 0 && q.textBytes+m.Size > MaxTextBytes:
		b.TextsOmitted = true
	default:
		// Read again from the raw MIME, as stored bodies hold neither.
		q.textBytes += m.Size
		z, err := openSealed(s.cfg.Keyring, rawKeyID, rawSealed, m.ID, "raw")
		if err != nil {
			return Message{}, false, err
		}
		raw, err := decompress(z, m.Size)
		if err != nil {
			return Message{}, false, fmt.Errorf("inflating message %s: %w", m.ID, err)
		}
		text, html := bodyTexts(raw)
		b.Text, b.HTML = text, shownHTML(html)
	}
	return m, true, nil
}

// Get returns the message with id, with its body when bodies is set and
// the caller may read it (see Filter.Bodies). Errors: ENOTFOUND.
func (s *Service) Get(ctx context.Context, id string, bodies bool) (Message, error) {
	notFound := understudy.Errorf(understudy.ENOTFOUND, "no message has id %s", boundText(id, 64))
	uid, err := uuid.Parse(id)
	if err != nil {
		return Message{}, notFound
	}
	q := query{bodies: bodies && canOpen(ctx)}
	q.texts = q.bodies
	sql := getSQL
	if q.texts {
		sql = getWithRawSQL
	}
	m, _, err := s.scan(s.db.QueryRow(ctx, sql, uid), &q)
	if err = pgdb.Translate(err, "", ""); understudy.ErrorCode(err) == understudy.ENOTFOUND {
		return Message{}, notFound
	}
	return m, err
}

// Raw returns the message with id as it was received, to an admin alone,
// and audits the read (message.read_raw). Errors: EFORBIDDEN, ENOTFOUND.
func (s *Service) Raw(ctx context.Context, id string) ([]byte, error) {
	c := access.CallerFrom(ctx)
	if c.Scope != access.ScopeAdmin {
		return nil, understudy.Errorf(understudy.EFORBIDDEN, "token %s has scope %s; reading a message's raw MIME needs scope admin", c.Actor, c.Scope)
	}
	notFound := understudy.Errorf(understudy.ENOTFOUND, "no message has id %s", boundText(id, 64))
	uid, err := uuid.Parse(id)
	if err != nil {
		return nil, notFound
	}
	var accountID, keyID string
	var size int
	var sealed []byte
	err = s.db.QueryRow(ctx, rawSQL, uid).Scan(&accountID, &size, &keyID, &sealed)
	if err = pgdb.Translate(err, "", ""); understudy.ErrorCode(err) == understudy.ENOTFOUND {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	z, err := openSealed(s.cfg.Keyring, keyID, sealed, id, "raw")
	if err != nil {
		return nil, err
	}
	raw, err := decompress(z, size)
	if err != nil {
		return nil, fmt.Errorf("inflating message %s: %w", id, err)
	}
	err = access.Record(ctx, s.db, access.Event{Action: "message.read_raw", TargetType: "message", TargetID: id,
		Details: map[string]any{"account_id": accountID, "size": size}})
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	return raw, nil
}
