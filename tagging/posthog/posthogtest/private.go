package posthogtest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

var (
	notFound  = apiError("invalid_request", "not_found", "Not found.")
	uuidShape = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// private serves /api/projects/{project}/…: it checks the personal API key,
// the project and the rate limit, then routes by the rest of the path.
func (f *Fake) private(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token != f.opts.PersonalKey {
		writeJSON(w, http.StatusUnauthorized, invalidPersonalKey)
		return
	}
	if r.PathValue("project") != strconv.FormatInt(f.opts.ProjectID, 10) {
		writeJSON(w, http.StatusNotFound, notFound)
		return
	}
	rest := strings.Trim(r.PathValue("rest"), "/")
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeJSON(w, http.StatusUnsupportedMediaType, apiError("invalid_request", "unsupported_media_type",
				fmt.Sprintf("Unsupported media type %q in request.", r.Header.Get("Content-Type"))))
			return
		}
		raw, ok := readBody(w, r)
		if !ok {
			return
		}
		if err := json.Unmarshal(raw, &body); err != nil || body == nil {
			writeJSON(w, http.StatusBadRequest, apiError("invalid_request", "parse_error", "JSON parse error"))
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	class, perMinute, perHour := "crud", f.opts.CRUDPerMinute, f.opts.CRUDPerHour
	if rest == "query" {
		class, perMinute, perHour = "query", f.opts.QueryPerMinute, f.opts.QueryPerHour
	}
	if !f.limit(w, class, perMinute, perHour) {
		return
	}
	parts := strings.Split(rest, "/")
	switch {
	case rest == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, f.project())
	case rest == "" && r.Method == http.MethodPatch:
		f.patchProject(w, body)
	case rest == "cohorts" && r.Method == http.MethodGet:
		f.listCohorts(w, r)
	case rest == "cohorts" && r.Method == http.MethodPost:
		f.createCohort(w, body)
	case len(parts) == 3 && parts[0] == "cohorts" && r.Method == http.MethodPatch:
		f.cohortAction(w, parts[1], parts[2], body)
	case rest == "query" && r.Method == http.MethodPost:
		f.query(w, body)
	default:
		writeJSON(w, http.StatusNotFound, notFound)
	}
}

func (f *Fake) project() map[string]any {
	filters := f.filters
	if filters == nil {
		filters = []map[string]any{}
	}
	return map[string]any{"id": f.opts.ProjectID, "name": "Fake project", "api_token": f.opts.ProjectToken,
		"test_account_filters": filters, "test_account_filters_default_checked": f.defaultChecked}
}

func (f *Fake) patchProject(w http.ResponseWriter, body map[string]any) {
	if v, ok := body["test_account_filters"]; ok {
		list, ok := v.([]any)
		var filters []map[string]any
		for _, item := range list {
			m, isObj := item.(map[string]any)
			_, hasKey := m["key"].(string)
			_, hasType := m["type"].(string)
			if !isObj || !hasKey || !hasType {
				ok = false
				break
			}
			filters = append(filters, m)
		}
		if !ok {
			writeJSON(w, http.StatusBadRequest, apiError("validation_error", "invalid_input",
				"test_account_filters must be a list of filters with a key and a type"))
			return
		}
		f.filters = filters
	}
	if v, ok := body["test_account_filters_default_checked"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			writeJSON(w, http.StatusBadRequest, apiError("validation_error", "invalid_input", "Must be a valid boolean."))
			return
		}
		f.defaultChecked = b
	}
	writeJSON(w, http.StatusOK, f.project())
}

func (f *Fake) listCohorts(w http.ResponseWriter, r *http.Request) {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 {
		limit = 100
	}
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	offset = max(offset, 0)
	end := min(offset+limit, len(f.cohorts))
	page := []*cohort{}
	if offset < len(f.cohorts) {
		page = f.cohorts[offset:end]
	}
	var next any
	if end < len(f.cohorts) {
		next = "/api/projects/" + strconv.FormatInt(f.opts.ProjectID, 10) + "/cohorts/?limit=" + strconv.Itoa(limit) + "&offset=" + strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(f.cohorts), "next": next, "results": page})
}

func (f *Fake) createCohort(w http.ResponseWriter, body map[string]any) {
	name, _ := body["name"].(string)
	if strings.TrimSpace(name) == "" {
		writeJSON(w, http.StatusBadRequest, apiError("validation_error", "required", "This field is required."))
		return
	}
	static, _ := body["is_static"].(bool)
	writeJSON(w, http.StatusCreated, f.addCohort(name, static))
}

func (f *Fake) cohortAction(w http.ResponseWriter, id, action string, body map[string]any) {
	var c *cohort
	for _, x := range f.cohorts {
		if strconv.FormatInt(x.ID, 10) == id && !x.Deleted {
			c = x
		}
	}
	if c == nil {
		writeJSON(w, http.StatusNotFound, notFound)
		return
	}
	invalid := func(detail string) {
		writeJSON(w, http.StatusBadRequest, apiError("validation_error", "invalid_input", detail))
	}
	switch action {
	case "add_persons_to_static_cohort":
		if !c.IsStatic {
			invalid("Can only add users to static cohorts")
			return
		}
		ids, ok := body["person_ids"].([]any)
		switch {
		case !ok:
			invalid("person_ids must be a list")
			return
		case len(ids) == 0:
			invalid("person_ids cannot be empty")
			return
		case len(ids) > 1000:
			invalid("List size exceeds limit")
			return
		}
		added := 0
		for _, v := range ids {
			if s, ok := v.(string); ok && f.personByUUID(s) != nil {
				c.members[s] = true
				added++
			}
		}
		if added == 0 {
			invalid("No valid users to add to cohort")
			return
		}
	case "remove_person_from_static_cohort":
		if !c.IsStatic {
			invalid("Can only remove users from static cohorts")
			return
		}
		id, ok := body["person_id"].(string)
		switch {
		case !ok || id == "":
			invalid("person_id is required")
			return
		case !uuidShape.MatchString(id):
			invalid("person_id must be a valid UUID")
			return
		case f.personByUUID(id) == nil:
			writeJSON(w, http.StatusNotFound, apiError("invalid_request", "not_found", "Person with this UUID does not exist in the cohort's team"))
			return
		}
		delete(c.members, id)
	default:
		writeJSON(w, http.StatusNotFound, notFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

func (f *Fake) personByUUID(uuid string) *person {
	for _, p := range f.persons {
		if p.uuid == uuid {
			return p
		}
	}
	return nil
}
