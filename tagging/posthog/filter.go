package posthog

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"

	"github.com/understudy-dev/understudy/tagging"
)

// ourFilter is the test-account filter Understudy writes: persons whose
// is_synthetic is not true stay in reports.
func ourFilter() map[string]any {
	return map[string]any{"key": tagging.TagSynthetic, "type": "person", "value": []any{"true"}, "operator": "is_not"}
}

// isOurs says whether a filter is the one Understudy writes (in any
// version): a person filter on is_synthetic.
func isOurs(f map[string]any) bool {
	return f["key"] == tagging.TagSynthetic && f["type"] == "person"
}

// installed says whether filters hold exactly Understudy's filter, once.
func installed(filters []map[string]any) bool {
	want := ourFilter()
	n := 0
	for _, f := range filters {
		if isOurs(f) {
			if !reflect.DeepEqual(f, want) {
				return false
			}
			n++
		}
	}
	return n == 1
}

// EnsureFilter installs Understudy's filter among the project's
// test_account_filters, keeping every filter it did not write, and makes
// the filter the default of new insights. It changes nothing (and returns
// false) when both are already so. Errors: as Marker.
func (p *Publisher) EnsureFilter(ctx context.Context) (bool, error) {
	proj, err := p.project(ctx)
	if err != nil {
		return false, fmt.Errorf("reading the test-account filters of PostHog project %d: %w", p.cfg.projectID, err)
	}
	if installed(proj.TestAccountFilters) && proj.TestAccountFiltersDefault {
		return false, nil
	}
	filters := slices.DeleteFunc(slices.Clone(proj.TestAccountFilters), isOurs)
	filters = append(filters, ourFilter())
	body := map[string]any{"test_account_filters": filters, "test_account_filters_default_checked": true}
	var after project
	if _, err := p.do(ctx, http.MethodPatch, p.api(""), body, true, &after); err != nil {
		return false, fmt.Errorf("updating the test-account filters of PostHog project %d: %w", p.cfg.projectID, err)
	}
	if !installed(after.TestAccountFilters) || !after.TestAccountFiltersDefault || len(after.TestAccountFilters) != len(filters) {
		return false, fmt.Errorf("%w: PostHog answered 200 to the filter update but the project does not hold the %d filters sent", tagging.ErrRejected, len(filters))
	}
	p.log.InfoContext(ctx, "installed the PostHog test-account filter", "project_id", p.cfg.projectID, "kept", len(filters)-1)
	return true, nil
}

// VerifyExcluded asks which of ids still have events in the last
// settings.verify_days days once the project's test-account filters are
// applied (a HogQL query with filterTestAccounts). It is conservative:
// when Understudy's filter is not installed every id counts as visible,
// since nothing keeps it out. An identity with no event in the window is
// not seen by the query. Errors: as Marker.
func (p *Publisher) VerifyExcluded(ctx context.Context, ids []tagging.Identity) (tagging.Verification, error) {
	v := tagging.Verification{Checked: len(ids), Visible: []string{}}
	if len(ids) == 0 {
		v.Detail = "nothing to check"
		return v, nil
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
	if !installed(proj.TestAccountFilters) {
		v.Visible = distinctIDs(ids)
		slices.Sort(v.Visible)
		v.Visible = slices.Compact(v.Visible)
		v.Detail = fmt.Sprintf("the test-account filter (person property is_synthetic is not true) is not installed in project %d, so every identity counts as visible; %d had events past the filters (%s)",
			p.cfg.projectID, len(seen), query)
		return v, nil
	}
	v.Visible = seen
	v.Detail = fmt.Sprintf("%d of %d identities had events past the project's test-account filters (%s); identities without events in the window are not seen by the query", len(seen), len(ids), query)
	return v, nil
}
