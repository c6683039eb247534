// Package segmenttest is an httptest fake of the parts of Segment's
// Tracking API and Public API that the segment publisher uses, built from
// the documented contract:
//
//   - POST /v1/batch (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/,
//     source src/connections/sources/catalog/libraries/server/http-api/index.md
//     in github.com/segmentio/segment-docs): the write key as the Basic
//     auth user name with an empty password (or "writeKey" in the body),
//     {"batch":[calls]}. The page's "Max request size": "a maximum of 32KB
//     per normal API request. The batch API endpoint accepts a maximum of
//     500KB per request, with a limit of 32KB per event in the batch ...
//     Segment's API responds with 400 Bad Request if these limits are
//     exceeded"; its "Errors" section: a batched event "needs to be less
//     than 32KB", and a batch holds "up to 2500 events" (more: 200, and the
//     events are rejected). So a batch over MaxBatchBytes, a batch holding
//     a call of MaxCallBytes or more, and a single call (POST
//     /v1/identify, /v1/track, /v1/page, /v1/screen, /v1/group, /v1/alias)
//     over MaxCallBytes answer 400 and keep nothing, with the message
//     "Exceed payload limit" (documented in the Analytics.js FAQ,
//     https://segment.com/docs/connections/sources/catalog/libraries/website/javascript/faq/);
//     a batch of more than MaxBatchCalls calls answers 200 and keeps none;
//     a body that is not JSON answers 400, and so does a request whose
//     Content-Type is not application/json (the page: "a content-type
//     header must be set to 'application/json'"; the status is the
//     fake's, as Segment documents none). A call without a type or user
//     id is dropped while the request answers 200, as the "Errors" section
//     says such calls are "not accepted". Any non-empty write key gets 200
//     (Segment's edge is stateless: segmentio/analytics-node issue 59,
//     segmentio/analytics-go issue 205); calls under a key that is not the
//     source's are lost and never show in Marked. A missing key answers 400.
//   - The Public API (https://docs.segmentapis.com/tag/Destination-Filters,
//     the paths and shapes of github.com/segmentio/public-api-sdk-go's
//     api_destination_filters.go and api_sources.go): Bearer token (401
//     otherwise, with the {"errors":[…]} envelope), request bodies in
//     application/vnd.segment.v1+json or application/json (415 otherwise);
//     GET /sources/{id} with writeKeys; GET, POST /destination/{id}/filters
//     (pagination[count], pagination[cursor]); PATCH, DELETE
//     /destination/{id}/filters/{filterId}; POST /destination/filters/preview,
//     which parses the FQL (https://segment.com/docs/api/public-api/fql/)
//     and answers 400 for invalid FQL, else {"data":{"inputPayload","result"}}
//     with result null when a DROP filter matches. Creating or updating a
//     filter with an "if" the fake's FQL parser cannot parse answers 422
//     with the error envelope the API documents for it, RequestErrorEnvelope
//     {"errors":[{"type","message","field","status"}]} (public-api-sdk-go
//     model_request_error_envelope.go and model_request_error.go; 404, 422
//     and 429 are the errors the SDK decodes for these operations). The
//     parser knows a subset of FQL (fql.go): an expression outside it is
//     refused here although Segment might take it. Creating an eleventh
//     filter on a destination answers 422 the same way: "Segment supports
//     10 filters per destination"
//     (https://segment.com/docs/connections/destinations/destination-filters/,
//     FAQ "How many filters can I create?"; the status of that refusal is
//     not documented, 422 is the API's validation error).
package segmenttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/understudy-dev/understudy/tagging/publishertest"
)

var _ publishertest.Fake = (*Server)(nil)

// Documented limits, in decimal kilobytes (the stricter reading of "KB").
const (
	// MaxCallBytes bounds a single call's request (at most) and each
	// call in a batch (less than).
	MaxCallBytes = 32_000
	// MaxBatchBytes bounds a batch request (at most).
	MaxBatchBytes = 500_000
	// MaxBatchCalls is the most calls a batch may hold.
	MaxBatchCalls = 2500
	// MaxFiltersPerDestination is how many destination filters one
	// destination may hold.
	MaxFiltersPerDestination = 10
)

// Config says what the fake workspace holds.
type Config struct {
	// WriteKey is the source's write key. Required.
	WriteKey string
	// SourceID is the source's id. Required.
	SourceID string
	// APIToken is the Public API token. Required for the Public API.
	APIToken string
	// DestinationIDs are the destinations connected to the source.
	DestinationIDs []string
}

// Filter is a destination filter as the fake holds it.
type Filter struct {
	ID            string           `json:"id"`
	SourceID      string           `json:"sourceId"`
	DestinationID string           `json:"destinationId"`
	If            string           `json:"if"`
	Actions       []map[string]any `json:"actions"`
	Title         string           `json:"title"`
	Description   string           `json:"description,omitempty"`
	Enabled       bool             `json:"enabled"`
	CreatedAt     string           `json:"createdAt"`
	UpdatedAt     string           `json:"updatedAt"`
}

// Server is the fake; its URL serves both APIs.
type Server struct {
	*httptest.Server
	cfg Config

	mu         sync.Mutex
	traits     map[string]map[string]any
	filters    map[string][]Filter // by destination id
	nextID     int
	batches    int
	dropped    int
	previewErr string
	publishertest.Faults
}

// New starts a fake, closed when t ends.
func New(t testing.TB, cfg Config) *Server {
	s := &Server{cfg: cfg, traits: map[string]map[string]any{}, filters: map[string][]Filter{}}
	for _, d := range cfg.DestinationIDs {
		s.filters[d] = []Filter{}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/batch", s.handleBatch)
	mux.HandleFunc("POST /v1/{type}", s.handleCall)
	mux.HandleFunc("GET /sources/{id}", s.api(s.handleSource))
	mux.HandleFunc("GET /destination/{id}/filters", s.api(s.handleList))
	mux.HandleFunc("POST /destination/{id}/filters", s.api(s.handleCreate))
	mux.HandleFunc("PATCH /destination/{id}/filters/{fid}", s.api(s.handleUpdate))
	mux.HandleFunc("DELETE /destination/{id}/filters/{fid}", s.api(s.handleDelete))
	mux.HandleFunc("POST /destination/filters/preview", s.api(s.handlePreview))
	s.Server = httptest.NewServer(s.Gate(mux, unavailable, throttled))
	t.Cleanup(s.Close)
	return s
}

// unavailable and throttled are Segment's 503 and 429 (the latter with
// X-RateLimit-Reset beside Retry-After).
func unavailable(w http.ResponseWriter) {
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"success": false})
}

func throttled(w http.ResponseWriter) {
	if wait := w.Header().Get("Retry-After"); wait != "" {
		w.Header().Set("X-RateLimit-Reset", wait)
	}
	writeJSON(w, http.StatusTooManyRequests, apiError("too-many-requests", "rate limit exceeded"))
}

// Marked returns the user ids whose is_synthetic trait is true.
func (s *Server) Marked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, t := range s.traits {
		if t["is_synthetic"] == true {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Listed is nil: Segment has no list here.
func (s *Server) Listed() []string { return nil }

// Traits returns a copy of a user's traits (nil when none).
func (s *Server) Traits(userID string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.traits[userID]
	if !ok {
		return nil
	}
	out := map[string]any{}
	for k, v := range t {
		out[k] = v
	}
	return out
}

// Batches is how many /v1/batch requests were answered 200.
func (s *Server) Batches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.batches
}

// Dropped is how many calls were answered 200 and lost.
func (s *Server) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// FailPreview makes every preview answer 400 with message while it is not
// empty, as Segment does for FQL it cannot parse.
func (s *Server) FailPreview(message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.previewErr = message
}

// Filters returns a copy of a destination's filters.
func (s *Server) Filters(destinationID string) []Filter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.filters[destinationID])
}

// AddFilter installs a filter as someone else would (its id is set).
func (s *Server) AddFilter(destinationID string, f Filter) Filter {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	f.ID, f.DestinationID = "flt_"+strconv.Itoa(s.nextID), destinationID
	f.CreatedAt, f.UpdatedAt = "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"
	s.filters[destinationID] = append(s.filters[destinationID], f)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(kind, msg string) map[string]any {
	return map[string]any{"errors": []map[string]any{{"type": kind, "message": msg}}}
}

// fieldError is a 422's RequestErrorEnvelope, naming the input field when
// field is not empty.
func fieldError(kind, field, msg string) map[string]any {
	e := map[string]any{"type": kind, "message": msg, "status": http.StatusUnprocessableEntity}
	if field != "" {
		e["field"] = field
	}
	return map[string]any{"errors": []map[string]any{e}}
}
