package posthog

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"

	"github.com/understudy-dev/understudy/tagging"
)

// ourFilters are the test-account filters Understudy writes. The person
// filter (is_synthetic is not true) is judged by the person properties
// PostHog stored on each event when it was ingested, so it misses the
// events a person sent before being marked; the cohort filter (not in the
// static cohort) is judged by the cohort's membership when the query runs
// and removes those too (https://posthog.com/docs/how-posthog-works/queries,
// "Filtering on person properties"; the shape
// {"key":"id","type":"cohort","operator":"not_in","value":<id>} is the one
// PostHog's own code writes into test_account_filters).
func ourFilters(cohortID int64) []map[string]any {
	return []map[string]any{
		{"key": tagging.TagSynthetic, "type": "person", "value": []any{"true"}, "operator": "is_not"},
		{"key": "id", "type": "cohort", "value": float64(cohortID), "operator": "not_in"},
	}
}

// isOurs says whether a filter is one Understudy writes (in any version):
// a person filter on is_synthetic, or a cohort filter on its cohort.
func isOurs(cohortID int64) func(map[string]any) bool {
	return func(f map[string]any) bool {
		if f["type"] == "person" {
			return f["key"] == tagging.TagSynthetic
		}
		return f["type"] == "cohort" && fmt.Sprint(f["value"]) == strconv.FormatInt(cohortID, 10)
	}
}

// installed says whether filters hold each of Understudy's filters
// exactly once, and no other version of them.
func installed(filters []map[string]any, cohortID int64) bool {
	want := ourFilters(cohortID)
	ours := slices.DeleteFunc(slices.Clone(filters), func(f map[string]any) bool { return !isOurs(cohortID)(f) })
	if len(ours) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(ours, func(f map[string]any) bool { return reflect.DeepEqual(normal(f), w) }) {
			return false
		}
	}
	return true
}

// normal makes a cohort filter's value a float64, as JSON decodes it.
func normal(f map[string]any) map[string]any {
	if n, ok := f["value"].(int64); ok {
		f = maps.Clone(f)
		f["value"] = float64(n)
	}
	return f
}

// EnsureFilter installs Understudy's filters among the project's
// test_account_filters (finding or creating the static cohort first),
// keeping every filter it did not write, and makes them the default of
// new insights. It changes nothing (and returns false) when both are
// already so. Errors: as Marker.
func (p *Publisher) EnsureFilter(ctx context.Context) (bool, error) {
	cid, err := p.cohort(ctx)
	if err != nil {
		return false, err
	}
	proj, err := p.project(ctx)
	if err != nil {
		return false, fmt.Errorf("reading the test-account filters of PostHog project %d: %w", p.cfg.projectID, err)
	}
	if installed(proj.TestAccountFilters, cid) && proj.TestAccountFiltersDefault {
		return false, nil
	}
	filters := slices.DeleteFunc(slices.Clone(proj.TestAccountFilters), isOurs(cid))
	filters = append(filters, ourFilters(cid)...)
	body := map[string]any{"test_account_filters": filters, "test_account_filters_default_checked": true}
	var after project
	if _, err := p.do(ctx, http.MethodPatch, p.api(""), body, true, &after); err != nil {
		return false, fmt.Errorf("updating the test-account filters of PostHog project %d: %w", p.cfg.projectID, err)
	}
	if !installed(after.TestAccountFilters, cid) || !after.TestAccountFiltersDefault || len(after.TestAccountFilters) != len(filters) {
		return false, fmt.Errorf("%w: PostHog answered 200 to the filter update but the project does not hold the %d filters sent", tagging.ErrRejected, len(filters))
	}
	p.log.InfoContext(ctx, "installed the PostHog test-account filters", "project_id", p.cfg.projectID, "cohort_id", cid, "kept", len(filters)-2)
	return true, nil
}

// VerifyExcluded asks which of ids still have events in the last
// settings.verify_days days once the project's test-account filters are
// applied (a HogQL query with filterTestAccounts). It is conservative:
// when Understudy's filter is not installed every id counts as visible,
// since nothing keeps it out. An identity with no event in the window is
// not seen by the query. Errors: as Marker.
func (p *Publisher) VerifyExcluded(ctx context.Context, ids []tagging.SyntheticUser) (tagging.Verification, error) {
	v := tagging.Verification{Checked: len(ids), Visible: []string{}}
	if len(ids) == 0 {
		v.Detail = "nothing to check"
		return v, nil
	}
	cid, err := p.cohort(ctx)
	if err != nil {
		return v, err
	}
	proj, err := p.project(ctx)
	if err != nil {
		return v, fmt.Errorf("reading the test-account filters of PostHog project %d: %w", p.cfg.projectID, err)
	}
	filters := &hogQLFilters{FilterTestAccounts: true, DateRange: &dateRange{DateFrom: "-" + strconv.Itoa(p.cfg.verifyDays) + "d"}}
	var seen []string
	for batch := range chunks(ids, MaxBatch) {
		rows, err := p.query(ctx, "visibility", hogQL{Query: visibleQuery, Values: map[string]any{"ids": distinctIDs(batch)}, Filters: filters})
		if err != nil {
			return v, err
		}
		seen = append(seen, firstColumn(rows)...)
	}
	slices.Sort(seen)
	seen = slices.Compact(seen)
	query := fmt.Sprintf("%s, with filterTestAccounts and events since -%dd", visibleQuery, p.cfg.verifyDays)
	if !installed(proj.TestAccountFilters, cid) {
		v.Visible = distinctIDs(ids)
		slices.Sort(v.Visible)
		v.Visible = slices.Compact(v.Visible)
		v.Detail = fmt.Sprintf("the test-account filters (person property is_synthetic is not true, and not in cohort %d) are not both installed in project %d, so every identity counts as visible; %d had events past the filters (%s)",
			cid, p.cfg.projectID, len(seen), query)
		return v, nil
	}
	v.Visible = seen
	v.Detail = fmt.Sprintf("%d of %d identities had events past the project's test-account filters (%s); identities without events in the window are not seen by the query", len(seen), len(ids), query)
	return v, nil
}
