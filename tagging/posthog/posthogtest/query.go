package posthogtest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// query answers the two HogQL queries the publisher sends (see the package
// documentation); the caller holds f.mu.
func (f *Fake) query(w http.ResponseWriter, body map[string]any) {
	q, _ := body["query"].(map[string]any)
	if kind, _ := q["kind"].(string); kind != "HogQLQuery" {
		writeJSON(w, http.StatusBadRequest, apiError("validation_error", "invalid_input", "query.kind must be a known query kind"))
		return
	}
	if f.queryError != "" {
		writeJSON(w, http.StatusOK, map[string]any{"results": []any{}, "columns": []any{}, "error": f.queryError})
		return
	}
	text, _ := q["query"].(string)
	values, _ := q["values"].(map[string]any)
	ids := map[string]bool{}
	list, _ := values["ids"].([]any)
	for _, v := range list {
		if s, ok := v.(string); ok {
			ids[s] = true
		}
	}
	filters, _ := q["filters"].(map[string]any)
	filterTest, _ := filters["filterTestAccounts"].(bool)
	rows := [][]any{}
	switch {
	case strings.Contains(text, "FROM person_distinct_ids") && strings.Contains(text, "{ids}"):
		for id, p := range f.persons {
			if ids[id] {
				rows = append(rows, []any{id, p.uuid})
			}
		}
	case strings.Contains(text, "FROM events") && strings.Contains(text, "{ids}"):
		seen := map[string]bool{}
		for _, e := range f.events {
			if ids[e.distinctID] && !seen[e.distinctID] && (!filterTest || f.passes(e)) {
				seen[e.distinctID] = true
				rows = append(rows, []any{e.distinctID})
			}
		}
	default:
		writeJSON(w, http.StatusBadRequest, apiError("validation_error", "query_error", "The fake PostHog answers only the publisher's queries"))
		return
	}
	slices.SortFunc(rows, func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) })
	writeJSON(w, http.StatusOK, map[string]any{"results": rows, "columns": []string{}, "is_cached": false})
}

// passes says whether an event stays in a view with the project's
// test-account filters applied: it must match every filter.
func (f *Fake) passes(e captured) bool {
	p := f.persons[e.distinctID]
	for _, flt := range f.filters {
		typ, _ := flt["type"].(string)
		key, _ := flt["key"].(string)
		op, _ := flt["operator"].(string)
		switch typ {
		case "person":
			v, ok := e.personProps[key]
			if !match(op, v, ok, flt["value"]) {
				return false
			}
		case "event":
			v, ok := e.props[key]
			if !match(op, v, ok, flt["value"]) {
				return false
			}
		case "cohort":
			in := false
			for _, c := range f.cohorts {
				if fmt.Sprint(c.ID) == fmt.Sprint(flt["value"]) && c.members[p.uuid] {
					in = true
				}
			}
			if (op == "not_in" && in) || (op == "in" && !in) {
				return false
			}
		}
	}
	return true
}

// match applies one property filter; values compare by their string form,
// as PostHog compares a boolean true with "true".
func match(op string, v any, present bool, want any) bool {
	wants := []string{}
	switch w := want.(type) {
	case []any:
		for _, x := range w {
			wants = append(wants, fmt.Sprint(x))
		}
	case nil:
	default:
		wants = append(wants, fmt.Sprint(w))
	}
	got := fmt.Sprint(v)
	switch op {
	case "exact", "":
		return present && slices.Contains(wants, got)
	case "is_not":
		return !present || !slices.Contains(wants, got)
	case "is_set":
		return present
	case "is_not_set":
		return !present
	}
	return true
}
