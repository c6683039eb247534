// Package webhooktest is a fake destination serving Understudy's
// destination webhook contract, openapi/destination-webhook.yaml: it
// verifies every request's signature with providers/webhook/signature
// (401 with the problem code unauthorized otherwise), refuses a body off
// the contract's schema (unknown fields, missing identity fields, an empty
// distinct_id, a tags.is_synthetic other than "true" or "false", an empty
// or oversized batch, a body over MaxBodyBytes (or SetMaxBody), a write that is not
// application/json: 400, 413, 415 or 422 with the problem code invalid; a
// method the path does not take 405), and
// answers {"accepted": n} with per-item errors for the identities told to
// fail.
package webhooktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/providers/webhook/signature"
	"github.com/understudy-dev/understudy/tagging/publishertest"
)

// MaxBatch is the contract's maxItems.
const MaxBatch = 10000

// MaxBodyBytes is the largest body the fake reads by default: 10000
// identities of about a kilobyte each fit in it.
const MaxBodyBytes = 16 << 20

// Fake is the fake destination. It implements publishertest.Fake.
type Fake struct {
	secret []byte
	srv    *httptest.Server

	mu     sync.Mutex
	marked map[string]bool
	listed map[string]bool
	refuse map[string]string // distinct id → error code
	limit  int64             // the largest body read
	keys   []string          // Idempotency-Key of each write answered 200
	publishertest.Faults
}

var _ publishertest.Fake = (*Fake)(nil)

// New starts a fake that verifies signatures with secret; it stops when t
// ends.
func New(t testing.TB, secret string) *Fake {
	f := &Fake{secret: []byte(secret), marked: map[string]bool{}, listed: map[string]bool{}, refuse: map[string]string{}, limit: MaxBodyBytes}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// BasePath is the path under which the fake serves the contract.
const BasePath = "/understudy"

// URL is the base URL of the fake: http on 127.0.0.1, then BasePath.
func (f *Fake) URL() string { return f.srv.URL + BasePath }

// Marked returns the distinct ids marked synthetic, sorted.
func (f *Fake) Marked() []string { return f.sorted(f.marked) }

// Listed returns the members of the list, sorted.
func (f *Fake) Listed() []string { return f.sorted(f.listed) }

func (f *Fake) sorted(m map[string]bool) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(m))
}

// IdempotencyKeys are the Idempotency-Key headers of the writes applied.
func (f *Fake) IdempotencyKeys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.keys)
}

// SetMaxBody sets the largest body the fake reads (MaxBodyBytes by
// default); a larger one is 413.
func (f *Fake) SetMaxBody(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limit = n
}

// Refuse makes the writes answer a per-item error, with code, for id.
func (f *Fake) Refuse(id, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse[id] = code
}

func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "detail": detail})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if !f.Admit(w, func(w http.ResponseWriter) { problem(w, http.StatusServiceUnavailable, "internal", "down") },
		func(w http.ResponseWriter) { problem(w, http.StatusTooManyRequests, "internal", "busy") }) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	path, ok := strings.CutPrefix(r.URL.Path, BasePath)
	if !ok {
		problem(w, http.StatusNotFound, "invalid", "not under "+BasePath)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, f.limit))
	if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
		problem(w, http.StatusRequestEntityTooLarge, "invalid", fmt.Sprintf("the body is over %d bytes", f.limit))
		return
	} else if err != nil {
		problem(w, http.StatusBadRequest, "invalid", "unreadable body")
		return
	}
	if err := signature.Verify(f.secret, r.Header.Get(signature.Header), body, time.Now(), 0); err != nil {
		problem(w, http.StatusUnauthorized, "unauthorized", err.Error())
		return
	}
	op, ok := map[string]func(string){
		"/mark":        func(id string) { f.marked[id] = true },
		"/unmark":      func(id string) { delete(f.marked, id) },
		"/list/add":    func(id string) { f.listed[id] = true },
		"/list/remove": func(id string) { delete(f.listed, id) },
	}[path]
	switch {
	case path == "/health" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"detail":"fake destination"}`)
	case path == "/health":
		problem(w, http.StatusMethodNotAllowed, "invalid", "/health takes GET only")
	case !ok:
		problem(w, http.StatusNotFound, "invalid", "no such operation")
	case r.Method != http.MethodPost:
		problem(w, http.StatusMethodNotAllowed, "invalid", "method not allowed")
	default:
		f.write(w, r, body, op)
	}
}

// identity is the contract's Identity schema.
type identity struct {
	DistinctID *string            `json:"distinct_id"`
	AccountID  *string            `json:"account_id"`
	Email      *string            `json:"email"`
	Tags       *map[string]string `json:"tags"`
}

// write checks the body against the contract and applies op to each
// identity not told to fail.
func (f *Fake) write(w http.ResponseWriter, r *http.Request, body []byte, op func(string)) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		problem(w, http.StatusUnsupportedMediaType, "invalid", "the body must be application/json")
		return
	}
	var req struct {
		Identities []identity `json:"identities"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		problem(w, http.StatusBadRequest, "invalid", "the body is not the contract's: "+err.Error())
		return
	}
	switch {
	case len(req.Identities) == 0:
		problem(w, http.StatusUnprocessableEntity, "invalid", "identities must not be empty")
		return
	case len(req.Identities) > MaxBatch:
		problem(w, http.StatusRequestEntityTooLarge, "invalid", fmt.Sprintf("at most %d identities a request", MaxBatch))
		return
	}
	for i, id := range req.Identities {
		if id.DistinctID == nil || *id.DistinctID == "" || id.AccountID == nil || id.Email == nil || id.Tags == nil {
			problem(w, http.StatusUnprocessableEntity, "invalid", fmt.Sprintf("identities[%d] lacks distinct_id, account_id, email or tags", i))
			return
		}
		if v, set := (*id.Tags)["is_synthetic"]; set && v != "true" && v != "false" {
			problem(w, http.StatusUnprocessableEntity, "invalid", fmt.Sprintf(`identities[%d].tags.is_synthetic is %q, not "true" or "false"`, i, v))
			return
		}
	}
	errs := []map[string]string{}
	for _, id := range req.Identities {
		if code, bad := f.refuse[*id.DistinctID]; bad {
			errs = append(errs, map[string]string{"distinct_id": *id.DistinctID, "code": code, "detail": "refused by the fake"})
			continue
		}
		op(*id.DistinctID)
	}
	f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
	w.Header().Set("Content-Type", "application/json")
	ans := map[string]any{"accepted": len(req.Identities) - len(errs)}
	if len(errs) > 0 {
		ans["errors"] = errs
	}
	_ = json.NewEncoder(w).Encode(ans)
}
