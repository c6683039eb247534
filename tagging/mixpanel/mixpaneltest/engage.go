package mixpaneltest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// handleEngage applies profile updates as /engage does.
func (s *Server) handleEngage(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, int64(s.cfg.MaxBytes)+1))
	if err != nil {
		answer(w, r, http.StatusBadRequest, false, "could not read the request body")
		return
	}
	if len(raw) > s.cfg.MaxBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"status": 0,
			"error": fmt.Sprintf("request exceeds max limit of %d bytes", s.cfg.MaxBytes)})
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		r.Body = io.NopCloser(strings.NewReader(string(raw)))
		if err := r.ParseForm(); err == nil {
			raw = []byte(r.PostForm.Get("data"))
		}
	} else if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		answer(w, r, http.StatusOK, false, "data, missing or empty")
		return
	}
	var records []json.RawMessage
	if err := json.Unmarshal(raw, &records); err != nil || len(records) == 0 {
		answer(w, r, http.StatusOK, false, "data, missing or invalid: must be a non-empty JSON array of updates")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.engage++
	s.largest = max(s.largest, len(records))
	if len(records) > MaxRecords {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": 0,
			"error": fmt.Sprintf("too many updates in one request: %d, the limit is %d", len(records), MaxRecords)})
		return
	}
	if len(s.failNext) > 0 {
		msg := s.failNext[0]
		s.failNext = s.failNext[1:]
		answer(w, r, http.StatusOK, false, msg)
		return
	}
	valid, firstErr := 0, ""
	for i, rec := range records {
		u, err := parseUpdate(rec)
		if err != nil {
			if firstErr == "" {
				firstErr = "record " + strconv.Itoa(i) + ": " + err.Error()
			}
			continue
		}
		valid++
		if u.token == s.cfg.Token {
			s.apply(u)
		}
	}
	answer(w, r, http.StatusOK, valid > 0, firstErr)
}

// update is one valid profile update.
type update struct {
	token, distinctID string
	set               map[string]any
	unset             []string
}

func parseUpdate(rec json.RawMessage) (update, error) {
	var u update
	if len(rec) > MaxBytes {
		return u, fmt.Errorf("update over %d bytes", MaxBytes)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rec, &m); err != nil {
		return u, fmt.Errorf("not a JSON object")
	}
	if json.Unmarshal(m["$token"], &u.token) != nil || u.token == "" {
		return u, fmt.Errorf("$token, missing or empty")
	}
	if json.Unmarshal(m["$distinct_id"], &u.distinctID) != nil || u.distinctID == "" {
		return u, fmt.Errorf("$distinct_id, missing or empty")
	}
	ops := 0
	if v, ok := m["$set"]; ok {
		ops++
		if json.Unmarshal(v, &u.set) != nil || u.set == nil {
			return u, fmt.Errorf("$set must be an object")
		}
	}
	if v, ok := m["$unset"]; ok {
		ops++
		if json.Unmarshal(v, &u.unset) != nil || len(u.unset) == 0 {
			return u, fmt.Errorf("$unset must be a non-empty list of property names")
		}
	}
	if ops != 1 {
		return u, fmt.Errorf("an update needs exactly one operation ($set or $unset here), it has %d", ops)
	}
	for k := range m {
		switch k {
		case "$token", "$distinct_id", "$set", "$unset", "$ip", "$time", "$ignore_time", "$ignore_alias":
		default:
			return u, fmt.Errorf("unknown key %q", k)
		}
	}
	return u, nil
}

func (s *Server) apply(u update) {
	p := s.profiles[u.distinctID]
	if p == nil {
		p = map[string]any{}
		s.profiles[u.distinctID] = p
	}
	for k, v := range u.set {
		p[k] = v
	}
	for _, k := range u.unset {
		delete(p, k)
	}
}

// handleQuery answers the Query API's profile query for a service account.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	user, secret, ok := r.BasicAuth()
	if !ok || s.cfg.Username == "" || user != s.cfg.Username || secret != s.cfg.Secret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 401, "status": "Unauthorized", "error": "Not a valid service account username"})
		return
	}
	if r.URL.Query().Get("project_id") != strconv.FormatInt(s.cfg.ProjectID, 10) {
		writeJSON(w, http.StatusForbidden, map[string]any{"code": 403, "status": "Forbidden", "error": "service account has no access to this project"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "error": "invalid form body"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	results := []map[string]any{}
	if id := r.PostForm.Get("distinct_id"); id != "" {
		if p, ok := s.profiles[id]; ok {
			results = append(results, map[string]any{"$distinct_id": id, "$properties": p})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"page": 0, "page_size": 1000, "session_id": "fake", "status": "ok",
		"total": len(results), "results": results})
}
