package amplitudetest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// cohortAPI serves the Behavioral Cohorts API (credentials checked).
func (f *Fake) cohortAPI(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/api/3/cohorts" && r.Method == http.MethodGet:
		f.listCohorts(w)
	case r.Method != http.MethodPost:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case !isJSON(r.Header.Get("Content-Type")):
		apiError(w, http.StatusBadRequest, "invalid_request", "the body must be application/json")
	case r.URL.Path == "/api/3/cohorts/upload":
		f.upload(w, r)
	default:
		f.membership(w, r)
	}
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// apiError answers with the documented error object.
func apiError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"http_code": status, "type": typ, "message": msg}})
}

func (f *Fake) addCohort(name, owner string, appID int64, members []string) string {
	id := fmt.Sprintf("c%06d", len(f.order)+1)
	c := &cohort{name: name, owner: owner, appID: appID, members: map[string]bool{}}
	for _, m := range members {
		c.members[m] = true
	}
	f.cohorts[id] = c
	f.order = append(f.order, id)
	return id
}

func (f *Fake) listCohorts(w http.ResponseWriter) {
	list := make([]map[string]any, 0, len(f.order))
	for _, id := range f.order {
		c := f.cohorts[id]
		list = append(list, map[string]any{"id": id, "name": c.name, "appId": c.appID, "archived": false,
			"owners": []string{c.owner}, "published": true, "size": len(c.members)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"cohorts": list})
}

func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// upload serves POST /api/3/cohorts/upload.
func (f *Fake) upload(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name             *string  `json:"name"`
		AppID            *int64   `json:"app_id"`
		IDType           string   `json:"id_type"`
		CG               string   `json:"cg"`
		IDs              []string `json:"ids"`
		Owner            string   `json:"owner"`
		Published        *bool    `json:"published"`
		SkipSave         bool     `json:"skip_save"`
		SkipInvalidIDs   *bool    `json:"skip_invalid_ids"`
		ExistingCohortID string   `json:"existing_cohort_id"`
	}
	if err := decodeStrict(r, &req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	switch {
	case req.Name == nil || *req.Name == "", req.AppID == nil, req.Owner == "", req.Published == nil, len(req.IDs) == 0:
		apiError(w, http.StatusBadRequest, "invalid_request", "name, app_id, id_type, ids, owner and published are required")
		return
	case req.IDType != "BY_AMP_ID" && req.IDType != "BY_USER_ID":
		apiError(w, http.StatusBadRequest, "invalid_request", "id_type must be BY_AMP_ID or BY_USER_ID")
		return
	case len(req.IDs) > MaxCohortIDs:
		apiError(w, http.StatusBadRequest, "invalid_request", "too many ids in one request")
		return
	}
	valid, invalid := f.split(req.IDs)
	if len(invalid) > 0 && req.SkipInvalidIDs != nil && !*req.SkipInvalidIDs {
		apiError(w, http.StatusBadRequest, "invalid_ids", fmt.Sprintf("%d invalid ids", len(invalid)))
		return
	}
	id := req.ExistingCohortID
	if !req.SkipSave {
		if c, ok := f.cohorts[id]; ok {
			c.members = map[string]bool{}
			for _, m := range valid {
				c.members[m] = true
			}
		} else if id != "" {
			apiError(w, http.StatusBadRequest, "invalid_request", "no such cohort")
			return
		} else {
			id = f.addCohort(*req.Name, req.Owner, *req.AppID, valid)
		}
		f.uploads++
	}
	writeJSON(w, http.StatusOK, map[string]any{"cohortId": id,
		"metadata": map[string]any{"matched": len(valid), "totals": len(req.IDs), "invalid_ids_sample": invalid[:min(len(invalid), 10)]}})
}

func (f *Fake) split(ids []string) (valid, invalid []string) {
	for _, id := range ids {
		if f.unknown[id] || strings.TrimSpace(id) == "" {
			invalid = append(invalid, id)
		} else {
			valid = append(valid, id)
		}
	}
	return valid, invalid
}

// membership serves POST /api/3/cohorts/membership.
func (f *Fake) membership(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CohortID    string `json:"cohort_id"`
		CountGroup  string `json:"count_group"`
		Memberships []struct {
			IDs       []string `json:"ids"`
			IDType    string   `json:"id_type"`
			Operation string   `json:"operation"`
		} `json:"memberships"`
		SkipInvalidIDs *bool `json:"skip_invalid_ids"`
	}
	if err := decodeStrict(r, &req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	c, ok := f.cohorts[req.CohortID]
	if !ok || len(req.Memberships) == 0 {
		apiError(w, http.StatusBadRequest, "invalid_request", "cohort_id must name an existing cohort and memberships must not be empty")
		return
	}
	total := 0
	for _, m := range req.Memberships {
		total += len(m.IDs)
		if m.IDType != "BY_ID" && m.IDType != "BY_NAME" || m.Operation != "ADD" && m.Operation != "REMOVE" || len(m.IDs) == 0 {
			apiError(w, http.StatusBadRequest, "invalid_request", "each membership needs ids, id_type BY_ID or BY_NAME and operation ADD or REMOVE")
			return
		}
	}
	if total > MaxCohortIDs {
		apiError(w, http.StatusBadRequest, "invalid_request", "too many ids in one request")
		return
	}
	results := make([]map[string]any, 0, len(req.Memberships))
	for _, m := range req.Memberships {
		valid, invalid := f.split(m.IDs)
		if len(invalid) > 0 && req.SkipInvalidIDs != nil && !*req.SkipInvalidIDs {
			apiError(w, http.StatusBadRequest, "invalid_ids", fmt.Sprintf("%d invalid ids", len(invalid)))
			return
		}
		results = append(results, map[string]any{"skipped_ids": append([]string{}, invalid...), "id_type": m.IDType, "operation": m.Operation})
		for _, id := range valid {
			if m.Operation == "ADD" {
				c.members[id] = true
			} else {
				delete(c.members, id)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cohort_id": req.CohortID, "memberships_result": results})
}
