package sentrytest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// The documented size limits
// (https://develop.sentry.dev/sdk/foundations/transport/envelopes/#size-limits).
const (
	// MaxEnvelope bounds a whole envelope after decompression: 200 MiB.
	MaxEnvelope = 200 << 20
	// MaxEvent bounds an event or transaction item: 1 MiB.
	MaxEvent = 1 << 20
	// MaxClientReport bounds a client report item: 4 KiB.
	MaxClientReport = 4 << 10
)

// Envelope is an envelope the fake accepted.
type Envelope struct {
	// Auth is how the request authenticated.
	Auth Auth
	// Header is the envelope's header, each attribute as JSON.
	Header map[string]json.RawMessage
	// Items are the envelope's items, in order.
	Items []Item
	// Events are the decoded payloads of its items of type "event".
	Events []Event
}

// Item is one item of an envelope.
type Item struct {
	// Type is the item header's type ("event", "client_report", …).
	Type string
	// Header is the item's header, each attribute as JSON.
	Header map[string]json.RawMessage
	// Payload is the item's payload.
	Payload []byte
}

// malformed is an envelope Sentry refuses with 400.
type malformed string

func (m malformed) Error() string { return string(m) }

// envelope serves POST /api/{project}/envelope/.
func (f *Fake) envelope(w http.ResponseWriter, r *http.Request) {
	if project := r.PathValue("project"); !isDigits(project) {
		answer(w, http.StatusBadRequest, "bad project path parameter")
		return
	}
	auth, aerr := authOf(r)
	if aerr != nil {
		answer(w, aerr.status, aerr.detail)
		return
	}
	if status, detail := checkEncoding(r); status != 0 {
		answer(w, status, detail)
		return
	}
	body, status := readBody(w, r)
	if status != 0 {
		answer(w, status, "envelope exceeded size limits (https://develop.sentry.dev/sdk/envelopes/#size-limits)")
		return
	}
	if s := f.received(body); s != 0 {
		answer(w, s, "the service is unavailable")
		return
	}
	if auth.Key != f.Key || r.PathValue("project") != ProjectID {
		answer(w, http.StatusForbidden, "event submission rejected with_reason: ProjectId")
		return
	}
	env, err := parseEnvelope(body, auth, r.PathValue("project"))
	if err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[tooLarge](err); ok {
			status = http.StatusRequestEntityTooLarge
		}
		answer(w, status, err.Error())
		return
	}
	f.record(env)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"id": env.eventID()})
}

// answer writes an error the way Relay does: {"detail": …}.
func answer(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"detail": detail})
}

// accepted are the content types the envelope endpoint takes.
var accepted = map[string]bool{"": true, "application/x-sentry-envelope": true, "text/plain": true,
	"multipart/form-data": true, "application/x-www-form-urlencoded": true}

// checkEncoding refuses a content type the endpoint does not take, and an
// encoding the fake does not decode.
func checkEncoding(r *http.Request) (int, string) {
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !accepted[mt] {
			return http.StatusUnsupportedMediaType, "unsupported content type"
		}
	}
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity", "gzip":
		return 0, ""
	default:
		return http.StatusUnsupportedMediaType, "unsupported content encoding " + enc
	}
}

// readBody reads and decompresses the body, bounded by MaxEnvelope:
// status 413 past it, 400 for an empty or broken body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, int) {
	if r.ContentLength > MaxEnvelope {
		return nil, http.StatusRequestEntityTooLarge
	}
	var in io.Reader = http.MaxBytesReader(w, r.Body, MaxEnvelope)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, http.StatusBadRequest
		}
		in = io.LimitReader(zr, MaxEnvelope+1)
	}
	body, err := io.ReadAll(in)
	switch {
	case errors.As(err, new(*http.MaxBytesError)), len(body) > MaxEnvelope:
		return nil, http.StatusRequestEntityTooLarge
	case err != nil:
		return nil, http.StatusBadRequest
	}
	return body, 0
}

// tooLarge is an item over its documented limit.
type tooLarge string

func (t tooLarge) Error() string { return string(t) }

// parseEnvelope parses body by the grammar of the documentation:
//
//	Envelope = Headers { "\n" Item } [ "\n" ] ;
//	Item = Headers "\n" Payload ;
//
// and checks the header against the request's authentication.
func parseEnvelope(body []byte, auth Auth, project string) (Envelope, error) {
	if len(body) == 0 {
		return Envelope{}, malformed("empty request body")
	}
	line, rest := cutLine(body)
	header, err := headerOf(line, "envelope header")
	if err != nil {
		return Envelope{}, err
	}
	if err := checkEnvelopeHeader(header, auth, project); err != nil {
		return Envelope{}, err
	}
	env := Envelope{Auth: auth, Header: header}
	for len(rest) > 0 {
		var it Item
		if it, rest, err = parseItem(rest); err != nil {
			return Envelope{}, err
		}
		env.Items = append(env.Items, it)
	}
	for _, it := range env.Items {
		if err := checkItem(it); err != nil {
			return Envelope{}, err
		}
		if it.Type == "event" {
			ev, err := decodeEvent(it.Payload)
			if err != nil {
				return Envelope{}, err
			}
			env.Events = append(env.Events, ev)
		}
	}
	return env, nil
}

// cutLine splits b at its first newline; rest is nil when b has none
// (the line ends the envelope).
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i+1:]
}

// headerOf decodes a header: one line holding a JSON object, not padded,
// each attribute once.
func headerOf(line []byte, what string) (map[string]json.RawMessage, error) {
	if len(line) == 0 || line[0] != '{' || line[len(line)-1] != '}' {
		return nil, malformed("invalid " + what + ": not a JSON object on one line without padding")
	}
	if err := noDuplicateKeys(line); err != nil {
		return nil, malformed("invalid " + what + ": " + err.Error())
	}
	var h map[string]json.RawMessage
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, malformed("invalid " + what)
	}
	return h, nil
}

// noDuplicateKeys refuses an object that names an attribute twice ("If
// more than one sent_at header is written, Sentry will reject the entire
// envelope").
func noDuplicateKeys(obj []byte) error {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if seen[key] {
			return fmt.Errorf("%s given twice", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	return nil
}

// uuidRE matches an event id: a UUID with or without dashes.
var uuidRE = regexp.MustCompile(`^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`)

// checkEnvelopeHeader checks the attributes the documentation types:
// event_id a UUID, sent_at RFC 3339, and dsn, when given, the request's
// key and project (Relay's "header mismatch between envelope and request").
func checkEnvelopeHeader(h map[string]json.RawMessage, auth Auth, project string) error {
	var s string
	if raw, ok := h["event_id"]; ok {
		if json.Unmarshal(raw, &s) != nil || !uuidRE.MatchString(s) {
			return malformed("invalid envelope header: event_id is not a UUID")
		}
	}
	if raw, ok := h["sent_at"]; ok {
		if json.Unmarshal(raw, &s) != nil {
			return malformed("invalid envelope header: sent_at is not a string")
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return malformed("invalid envelope header: sent_at is not RFC 3339")
		}
	}
	if raw, ok := h["dsn"]; ok {
		if json.Unmarshal(raw, &s) != nil {
			return malformed("invalid envelope header: dsn is not a string")
		}
		key, proj, ok := dsnParts(s)
		switch {
		case !ok:
			return malformed("invalid envelope header: dsn is not a DSN")
		case proj != project:
			return malformed("project id header mismatch between envelope and request")
		case key != auth.Key:
			return malformed("public key header mismatch between envelope and request")
		}
	}
	return nil
}

// parseItem parses the item at the start of b and returns what follows
// it (nil at the end of the envelope).
func parseItem(b []byte) (Item, []byte, error) {
	line, rest := cutLine(b)
	h, err := headerOf(line, "item header")
	if err != nil {
		return Item{}, nil, err
	}
	var it Item
	it.Header = h
	if json.Unmarshal(h["type"], &it.Type) != nil || it.Type == "" {
		return Item{}, nil, malformed("invalid item header: no type")
	}
	raw, explicit := h["length"]
	if !explicit {
		// The payload implicitly goes to the next newline.
		it.Payload, rest = cutLine(rest)
		return it, rest, nil
	}
	var n int64
	if json.Unmarshal(raw, &n) != nil || n < 0 {
		return Item{}, nil, malformed("invalid item header: length is not a byte count")
	}
	if n > int64(len(rest)) {
		return Item{}, nil, malformed("unexpected end of file")
	}
	it.Payload, rest = rest[:n], rest[n:]
	switch {
	case len(rest) == 0:
		return it, nil, nil
	case rest[0] != '\n':
		return Item{}, nil, malformed("missing newline after header or payload")
	case len(rest) == 1:
		return it, nil, nil
	}
	return it, rest[1:], nil
}

// checkItem applies the documented size limits to an item, and refuses a
// payload that is not a JSON object where one is due.
func checkItem(it Item) error {
	limit := 0
	switch it.Type {
	case "event", "transaction":
		limit = MaxEvent
	case "client_report":
		limit = MaxClientReport
	default:
		return nil
	}
	if len(it.Payload) > limit {
		return tooLarge(fmt.Sprintf("envelope exceeded size limits for type '%s' (https://develop.sentry.dev/sdk/envelopes/#size-limits)", it.Type))
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(it.Payload, &obj) != nil {
		return malformed("invalid JSON data in a " + it.Type + " item")
	}
	return nil
}

// eventID is the id the envelope's header names, or its first event's.
func (e Envelope) eventID() string {
	var id string
	if raw, ok := e.Header["event_id"]; ok {
		_ = json.Unmarshal(raw, &id)
	}
	if id == "" && len(e.Events) > 0 {
		id = e.Events[0].EventID
	}
	return id
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
