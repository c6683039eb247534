package posthog

import (
	"context"
	"fmt"
	"net/http"

	"github.com/understudy-dev/understudy/tagging"
)

// The HogQL the publisher runs. Distinct ids are bound as a placeholder
// value ({ids}), never spliced into the text.
const (
	// personsQuery maps distinct ids to person uuids.
	personsQuery = "SELECT distinct_id, person_id FROM person_distinct_ids WHERE has({ids}, distinct_id) LIMIT 50000"
	// visibleQuery lists the distinct ids that still have events once the
	// project's test-account filters ({filters} with filterTestAccounts)
	// are applied.
	visibleQuery = "SELECT DISTINCT distinct_id FROM events WHERE has({ids}, distinct_id) AND {filters} LIMIT 50000"
)

// hogQL is the query object of POST /api/projects/{id}/query/.
type hogQL struct {
	Kind    string         `json:"kind"`
	Query   string         `json:"query"`
	Values  map[string]any `json:"values,omitempty"`
	Filters *hogQLFilters  `json:"filters,omitempty"`
}

type hogQLFilters struct {
	FilterTestAccounts bool       `json:"filterTestAccounts"`
	DateRange          *dateRange `json:"dateRange,omitempty"`
}

type dateRange struct {
	DateFrom string `json:"date_from"`
}

// queryAnswer is the query endpoint's answer. A 200 can still carry an
// error (error, or a query_status that failed or did not complete).
type queryAnswer struct {
	Results     [][]any `json:"results"`
	Error       string  `json:"error"`
	QueryStatus *struct {
		Complete     bool   `json:"complete"`
		Error        bool   `json:"error"`
		ErrorMessage string `json:"error_message"`
	} `json:"query_status"`
}

// query runs q synchronously (refresh force_blocking, so neither a cached
// nor an async answer) and returns its rows. Errors: as Marker; a 200 that
// reports an error is ErrRejected.
func (p *Publisher) query(ctx context.Context, name string, q hogQL) ([][]any, error) {
	q.Kind = "HogQLQuery"
	body := map[string]any{"query": q, "refresh": "force_blocking", "name": "understudy: " + name}
	var ans queryAnswer
	if _, err := p.do(ctx, http.MethodPost, p.api("query"), body, true, &ans); err != nil {
		return nil, fmt.Errorf("running the %s query: %w", name, err)
	}
	switch {
	case ans.Error != "":
		return nil, fmt.Errorf("%w: PostHog answered 200 to the %s query with an error: %s", tagging.ErrRejected, name, p.sender.Scrubber().Message(ans.Error))
	case ans.QueryStatus != nil && ans.QueryStatus.Error:
		return nil, fmt.Errorf("%w: PostHog answered 200 to the %s query with a failed status: %s", tagging.ErrRejected, name,
			p.sender.Scrubber().Message(ans.QueryStatus.ErrorMessage))
	case ans.QueryStatus != nil && !ans.QueryStatus.Complete:
		return nil, fmt.Errorf("%w: PostHog answered the %s query asynchronously although it was asked to block", tagging.ErrRejected, name)
	case ans.Results == nil:
		return nil, fmt.Errorf("%w: PostHog answered 200 to the %s query without results", tagging.ErrRejected, name)
	}
	return ans.Results, nil
}

// persons maps the distinct ids that PostHog has a person for to that
// person's uuid.
func (p *Publisher) persons(ctx context.Context, ids []string) (map[string]string, error) {
	rows, err := p.query(ctx, "persons", hogQL{Query: personsQuery, Values: map[string]any{"ids": ids}})
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, row := range rows {
		if len(row) < 2 {
			return nil, fmt.Errorf("%w: PostHog answered the persons query with a row of %d columns", tagging.ErrRejected, len(row))
		}
		did, ok1 := row[0].(string)
		uuid, ok2 := row[1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: PostHog answered the persons query with a row that is not two strings", tagging.ErrRejected)
		}
		out[did] = uuid
	}
	return out, nil
}

// firstColumn returns the first column of rows as strings.
func firstColumn(rows [][]any) []string {
	out := make([]string, 0, len(rows))
	for _, row := range rows {
		if len(row) > 0 {
			if s, ok := row[0].(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
