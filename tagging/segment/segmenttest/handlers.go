package segmenttest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// tooLarge is the 400 of a request or a call over Segment's size limits.
// The message is the one Segment documents for a call over 32KB
// (Analytics.js FAQ, "Is there a size limit on requests?", since
// segmentio/segment-docs pull 7422: "Segment servers return a 400 response
// with the error message: Exceed payload limit"); the JSON around it is the
// fake's, as Segment documents none.
func tooLarge(w http.ResponseWriter, detail string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "Exceed payload limit", "detail": detail})
}

// jsonBody answers 400 unless the request's Content-Type is
// application/json, which the HTTP API page requires ("a content-type
// header must be set to 'application/json'"); the status of that refusal
// is not documented. It reports whether the handler may go on.
func jsonBody(w http.ResponseWriter, r *http.Request) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false,
			"message": fmt.Sprintf("Content-Type must be application/json, not %q", r.Header.Get("Content-Type"))})
		return false
	}
	return true
}

// trackingCall is what the fake reads of a call.
type trackingCall struct {
	Type        string         `json:"type"`
	UserID      string         `json:"userId"`
	AnonymousID string         `json:"anonymousId"`
	Traits      map[string]any `json:"traits"`
	WriteKey    string         `json:"writeKey"`
}

// handleBatch accepts a batch as the Tracking API does: a request over
// MaxBatchBytes, or holding a call of MaxCallBytes or more, answers 400 and
// keeps nothing; a batch of more than MaxBatchCalls calls answers 200 and
// keeps none of them.
func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	if !jsonBody(w, r) {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, MaxBatchBytes+1))
	if err != nil || len(raw) > MaxBatchBytes {
		tooLarge(w, fmt.Sprintf("a batch request is at most %d bytes", MaxBatchBytes))
		return
	}
	var body struct {
		Batch    []json.RawMessage `json:"batch"`
		WriteKey string            `json:"writeKey"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "invalid JSON"})
		return
	}
	for i, call := range body.Batch {
		if len(call) >= MaxCallBytes {
			tooLarge(w, fmt.Sprintf("call %d of the batch is %d bytes; each call must be under %d", i, len(call), MaxCallBytes))
			return
		}
	}
	key, _, ok := r.BasicAuth()
	if !ok {
		key = body.WriteKey
	}
	if key == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "missing write key"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches++
	if len(body.Batch) > MaxBatchCalls {
		s.dropped += len(body.Batch)
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
		return
	}
	for _, call := range body.Batch {
		var c trackingCall
		if json.Unmarshal(call, &c) != nil {
			s.dropped++
			continue
		}
		s.keep(key, c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// handleCall accepts one call on /v1/identify, /v1/track and the others,
// as the Tracking API does: a request over MaxCallBytes answers 400.
func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("type")
	if !slices.Contains([]string{"identify", "track", "page", "screen", "group", "alias"}, kind) {
		http.NotFound(w, r)
		return
	}
	if !jsonBody(w, r) {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, MaxCallBytes+1))
	if err != nil || len(raw) > MaxCallBytes {
		tooLarge(w, fmt.Sprintf("a request is at most %d bytes", MaxCallBytes))
		return
	}
	var c trackingCall
	if err := json.Unmarshal(raw, &c); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "invalid JSON"})
		return
	}
	c.Type = kind
	key, _, ok := r.BasicAuth()
	if !ok {
		key = c.WriteKey
	}
	if key == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "missing write key"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keep(key, c)
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// keep applies one accepted call, or counts it dropped when Segment would
// lose it (no type, no user or anonymous id, not the source's write key).
// The caller holds s.mu.
func (s *Server) keep(key string, c trackingCall) {
	if c.Type == "" || (c.UserID == "" && c.AnonymousID == "") || key != s.cfg.WriteKey {
		s.dropped++
		return
	}
	if c.Type == "identify" && c.UserID != "" {
		t := s.traits[c.UserID]
		if t == nil {
			t = map[string]any{}
			s.traits[c.UserID] = t
		}
		for k, v := range c.Traits {
			t[k] = v
		}
	}
}

// api checks the Public API's token and request content type.
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.APIToken == "" || r.Header.Get("Authorization") != "Bearer "+s.cfg.APIToken {
			writeJSON(w, http.StatusUnauthorized, apiError("unauthorized", "the token is invalid"))
			return
		}
		if r.Method == http.MethodPost || r.Method == http.MethodPatch {
			ct := r.Header.Get("Content-Type")
			if !strings.HasPrefix(ct, "application/vnd.segment.v1") && !strings.HasPrefix(ct, "application/json") {
				writeJSON(w, http.StatusUnsupportedMediaType, apiError("unsupported-media-type", "unsupported content type "+ct))
				return
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		h(w, r)
	}
}

func (s *Server) handleSource(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != s.cfg.SourceID {
		writeJSON(w, http.StatusNotFound, apiError("not-found", "source not found"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"source": map[string]any{
		"id": s.cfg.SourceID, "slug": "app", "workspaceId": "ws", "enabled": true,
		"writeKeys": []string{s.cfg.WriteKey}, "labels": []any{}, "metadata": map[string]any{}}, "trackingPlanId": nil}})
}

func (s *Server) destination(w http.ResponseWriter, r *http.Request) ([]Filter, bool) {
	list, ok := s.filters[r.PathValue("id")]
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError("not-found", "destination not found"))
	}
	return list, ok
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	list, ok := s.destination(w, r)
	if !ok {
		return
	}
	count, err := strconv.Atoi(r.URL.Query().Get("pagination[count]"))
	if err != nil || count < 1 || count > 200 {
		writeJSON(w, http.StatusBadRequest, apiError("validation", "pagination[count] must be 1 to 200"))
		return
	}
	from, _ := strconv.Atoi(r.URL.Query().Get("pagination[cursor]"))
	from = min(from, len(list))
	to := min(from+count, len(list))
	page := map[string]any{"current": strconv.Itoa(from), "totalEntries": len(list)}
	if to < len(list) {
		page["next"] = strconv.Itoa(to)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"filters": list[from:to], "pagination": page}})
}

// filterInput is a create or update body.
type filterInput struct {
	SourceID    *string          `json:"sourceId"`
	If          *string          `json:"if"`
	Actions     []map[string]any `json:"actions"`
	Title       *string          `json:"title"`
	Description *string          `json:"description"`
	Enabled     *bool            `json:"enabled"`
}

func decodeFilter(w http.ResponseWriter, r *http.Request) (filterInput, bool) {
	var in filterInput
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError("validation", "invalid body: "+err.Error()))
		return in, false
	}
	for _, a := range in.Actions {
		if t, _ := a["type"].(string); !slices.Contains([]string{"DROP", "SAMPLE", "ALLOW_PROPERTIES", "DROP_PROPERTIES"}, t) {
			writeJSON(w, http.StatusBadRequest, apiError("validation", fmt.Sprintf("unknown action type %q", t)))
			return in, false
		}
	}
	return in, true
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.destination(w, r); !ok {
		return
	}
	in, ok := decodeFilter(w, r)
	if !ok {
		return
	}
	if in.SourceID == nil || *in.SourceID != s.cfg.SourceID || in.If == nil || *in.If == "" || in.Title == nil || *in.Title == "" ||
		len(in.Actions) == 0 || in.Enabled == nil {
		writeJSON(w, http.StatusBadRequest, apiError("validation", "sourceId (of a connected source), if, actions, title and enabled are required"))
		return
	}
	if !validFQL(w, *in.If) {
		return
	}
	if n := len(s.filters[r.PathValue("id")]); n >= MaxFiltersPerDestination {
		writeJSON(w, http.StatusUnprocessableEntity, fieldError("validation", "",
			fmt.Sprintf("destination %s already has %d filters; Segment supports %d filters per destination", r.PathValue("id"), n, MaxFiltersPerDestination)))
		return
	}
	s.nextID++
	f := Filter{ID: "flt_" + strconv.Itoa(s.nextID), SourceID: *in.SourceID, DestinationID: r.PathValue("id"), If: *in.If,
		Actions: in.Actions, Title: *in.Title, Enabled: *in.Enabled, CreatedAt: "2026-01-02T00:00:00Z", UpdatedAt: "2026-01-02T00:00:00Z"}
	if in.Description != nil {
		f.Description = *in.Description
	}
	s.filters[f.DestinationID] = append(s.filters[f.DestinationID], f)
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"filter": f}})
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	list, ok := s.destination(w, r)
	if !ok {
		return
	}
	i := slices.IndexFunc(list, func(f Filter) bool { return f.ID == r.PathValue("fid") })
	if i < 0 {
		writeJSON(w, http.StatusNotFound, apiError("not-found", "filter not found"))
		return
	}
	in, ok := decodeFilter(w, r)
	if !ok {
		return
	}
	if in.If != nil && !validFQL(w, *in.If) {
		return
	}
	f := &list[i]
	if in.If != nil {
		f.If = *in.If
	}
	if in.Actions != nil {
		f.Actions = in.Actions
	}
	if in.Title != nil {
		f.Title = *in.Title
	}
	if in.Description != nil {
		f.Description = *in.Description
	}
	if in.Enabled != nil {
		f.Enabled = *in.Enabled
	}
	f.UpdatedAt = "2026-01-03T00:00:00Z"
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"filter": *f}})
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	list, ok := s.destination(w, r)
	if !ok {
		return
	}
	i := slices.IndexFunc(list, func(f Filter) bool { return f.ID == r.PathValue("fid") })
	if i < 0 {
		writeJSON(w, http.StatusNotFound, apiError("not-found", "filter not found"))
		return
	}
	s.filters[r.PathValue("id")] = slices.Delete(list, i, i+1)
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"status": "SUCCESS"}})
}

func (s *Server) handlePreview(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Filter struct {
			If      string           `json:"if"`
			Actions []map[string]any `json:"actions"`
		} `json:"filter"`
		Payload map[string]any `json:"payload"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Payload == nil || len(in.Filter.Actions) == 0 {
		writeJSON(w, http.StatusBadRequest, apiError("validation", "filter.if, filter.actions and payload are required"))
		return
	}
	if s.previewErr != "" {
		writeJSON(w, http.StatusBadRequest, apiError("validation", s.previewErr))
		return
	}
	cond, err := parseFQL(in.Filter.If)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError("validation", "invalid FQL: "+err.Error()))
		return
	}
	var result any = in.Payload
	if cond(in.Payload) == true && slices.ContainsFunc(in.Filter.Actions, func(a map[string]any) bool { return a["type"] == "DROP" }) {
		result = nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"inputPayload": in.Payload, "result": result}})
}

// validFQL answers 422 with the Public API's error envelope, naming the
// field "if", unless src parses as FQL; it reports whether it does.
func validFQL(w http.ResponseWriter, src string) bool {
	if _, err := parseFQL(src); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, fieldError("validation", "if", "invalid FQL: "+err.Error()))
		return false
	}
	return true
}
