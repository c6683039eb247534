// Package mixpaneltest is an httptest fake of the parts of Mixpanel's API
// that the mixpanel publisher uses, built from the documented contract:
//
//   - POST /engage (https://docs.mixpanel.com/reference/profile-set,
//     https://docs.mixpanel.com/reference/profile-delete-property; the
//     OpenAPI source is openapi/ingestion.openapi.yaml in
//     github.com/mixpanel/docs): a JSON array of updates, each with
//     "$token", "$distinct_id" and one of "$set" (an object) or "$unset"
//     (a list of names). It answers 200 even when updates are invalid, as
//     documented: with verbose=1 the body is {"status":1,"error":null} when
//     one or more updates were valid, else {"status":0,"error":"…"}; without
//     verbose, "1" or "0". An update with a missing or empty token is
//     invalid ("$token, missing or empty", the message Mixpanel is reported
//     to send); an update with an unknown token is accepted and then lost,
//     as Mixpanel does (it attributes tokens after the request), so it
//     never shows in Marked.
//   - At most 2000 updates per request and 1 MB per update
//     (https://docs.mixpanel.com/reference/user-profile-limits). Mixpanel
//     documents no status for breaking them on /engage; the fake answers
//     400 with {"status":0,"error":…} for too many updates and 413 (the
//     status /import documents for a payload too large) for a body over
//     MaxBytes.
//   - POST /api/query/engage?project_id=… (openapi/query.openapi.yaml):
//     service-account Basic auth (https://docs.mixpanel.com/reference/service-accounts);
//     401 {"error":"Not a valid service account username",…} for wrong
//     credentials, 403 for another project, else the profiles asked for.
//
// Throttle answers 429 (with Retry-After only when asked: Mixpanel
// documents none), SetDown answers 503.
package mixpaneltest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/understudy-dev/understudy/tagging/publishertest"
)

var _ publishertest.Fake = (*Server)(nil)

// Limits the fake enforces.
const (
	MaxRecords = 2000
	MaxBytes   = 1_000_000
)

// Config says which credentials the fake's project has.
type Config struct {
	// Token is the project token. Required.
	Token string
	// ProjectID, Username and Secret are the service account's project and
	// credentials for the Query API.
	ProjectID        int64
	Username, Secret string
	// MaxBytes bounds a request body. Defaults to MaxBytes.
	MaxBytes int
}

// Server is the fake. Its URL serves both the ingestion and the Query API.
type Server struct {
	*httptest.Server
	cfg Config

	mu       sync.Mutex
	profiles map[string]map[string]any
	engage   int
	largest  int
	failNext []string
	publishertest.Faults
}

// New starts a fake, closed when t ends.
func New(t testing.TB, cfg Config) *Server {
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = MaxBytes
	}
	s := &Server{cfg: cfg, profiles: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /engage", s.handleEngage)
	mux.HandleFunc("POST /api/query/engage", s.handleQuery)
	s.Server = httptest.NewServer(s.Gate(mux, unavailable, throttled))
	t.Cleanup(s.Close)
	return s
}

// unavailable and throttled are Mixpanel's 503 and 429.
func unavailable(w http.ResponseWriter) {
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": 0, "error": "service unavailable"})
}

func throttled(w http.ResponseWriter) {
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"code": 429, "status": "Too Many Requests",
		"error": "Project exceeded rate limits. Please retry the request with exponential backoff."})
}

// Marked returns the distinct ids whose profile has is_synthetic true.
func (s *Server) Marked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, props := range s.profiles {
		if props["is_synthetic"] == true {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Listed is nil: the publisher keeps no Mixpanel list.
func (s *Server) Listed() []string { return nil }

// EngageRequests is how many requests reached /engage.
func (s *Server) EngageRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.engage
}

// LargestBatch is the most updates one /engage request carried.
func (s *Server) LargestBatch() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.largest
}

// Profile returns a copy of a profile's properties (nil when none).
func (s *Server) Profile(distinctID string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.profiles[distinctID]
	if !ok {
		return nil
	}
	out := make(map[string]any, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// FailNext makes the next /engage request answer 200 with status 0 and
// the message, applying nothing, as Mixpanel does when no update is valid.
func (s *Server) FailNext(message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, message)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// answer writes the ingestion verdict in the form the request asked for.
func answer(w http.ResponseWriter, r *http.Request, status int, ok bool, msg string) {
	if r.URL.Query().Get("verbose") != "1" {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = fmt.Fprint(w, map[bool]string{true: "1", false: "0"}[ok])
		return
	}
	if ok {
		writeJSON(w, status, map[string]any{"status": 1, "error": nil})
		return
	}
	writeJSON(w, status, map[string]any{"status": 0, "error": msg})
}
