package posthogtest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxBody is PostHog's request body limit (DATA_UPLOAD_MAX_MEMORY_SIZE,
// 20 MB, https://posthog.com/docs/api#tips).
const maxBody = 20 << 20

func (f *Fake) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /batch/", f.batch)
	mux.HandleFunc("POST /batch", f.batch)
	mux.HandleFunc("POST /flags/", f.flags)
	mux.HandleFunc("POST /flags", f.flags)
	mux.HandleFunc("/api/projects/{project}/{rest...}", f.private)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.gate(w) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func apiError(typ, code, detail string) map[string]any {
	return map[string]any{"type": typ, "code": code, "detail": detail, "attr": nil}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var (
	invalidAPIKey = apiError("authentication_error", "invalid_api_key",
		"Project API key invalid. You can find your project API key in PostHog project settings.")
	invalidPersonalKey = apiError("authentication_error", "invalid_personal_api_key", "Invalid Personal API key.")
	malformed          = apiError("validation_error", "invalid_payload", "Malformed request data")
)

// readBody reads a body of under 20 MB, answering 413 past it.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError("validation_error", "payload_too_large", "Request body too large."))
		} else {
			writeJSON(w, http.StatusBadRequest, malformed)
		}
		return nil, false
	}
	return body, true
}

type batchBody struct {
	APIKey *string           `json:"api_key"`
	Batch  []json.RawMessage `json:"batch"`
}

type batchEvent struct {
	Event      string         `json:"event"`
	DistinctID any            `json:"distinct_id"`
	Properties map[string]any `json:"properties"`
}

func (f *Fake) batch(w http.ResponseWriter, r *http.Request) {
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	var b batchBody
	if err := json.Unmarshal(raw, &b); err != nil {
		writeJSON(w, http.StatusBadRequest, malformed)
		return
	}
	if b.APIKey == nil || *b.APIKey != f.opts.ProjectToken {
		writeJSON(w, http.StatusUnauthorized, invalidAPIKey)
		return
	}
	if len(b.Batch) == 0 {
		writeJSON(w, http.StatusBadRequest, apiError("validation_error", "invalid_payload", "request holds no event"))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.quotaLimited {
		writeJSON(w, http.StatusOK, map[string]any{"status": "Ok", "quota_limited": []string{"events"}})
		return
	}
	for _, rawEvent := range b.Batch {
		var e batchEvent
		if json.Unmarshal(rawEvent, &e) != nil {
			continue // dropped, as PostHog drops an event it cannot read
		}
		if e.Properties == nil {
			e.Properties = map[string]any{}
		}
		id := distinctID(e.DistinctID)
		if id == "" {
			id = distinctID(e.Properties["distinct_id"])
		}
		if e.Event == "" || id == "" {
			continue // dropped, and the answer is still 200
		}
		f.ingest(id, e.Event, e.Properties)
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "Ok"})
}

// distinctID reads a distinct_id, a string or a number.
func distinctID(v any) string {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func (f *Fake) flags(w http.ResponseWriter, r *http.Request) {
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	var b struct {
		APIKey     string `json:"api_key"`
		DistinctID any    `json:"distinct_id"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		writeJSON(w, http.StatusBadRequest, malformed)
		return
	}
	if b.APIKey != f.opts.ProjectToken {
		writeJSON(w, http.StatusUnauthorized, invalidAPIKey)
		return
	}
	if distinctID(b.DistinctID) == "" {
		writeJSON(w, http.StatusBadRequest, apiError("validation_error", "invalid_payload", "The distinct_id field is missing from the request."))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"flags": map[string]any{}, "errorsWhileComputingFlags": false})
}
