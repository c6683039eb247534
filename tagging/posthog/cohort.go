package posthog

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/understudy-dev/understudy/tagging"
)

// cohortPage is a page of GET /api/projects/{id}/cohorts/.
type cohortPage struct {
	Next    *string  `json:"next"`
	Results []cohort `json:"results"`
}

type cohort struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	IsStatic bool   `json:"is_static"`
	Deleted  bool   `json:"deleted"`
}

// success is the answer of the static cohort actions.
type success struct {
	Success bool `json:"success"`
}

// cohortPageSize is the limit asked of each page of the cohort list.
const cohortPageSize = 100

// cohort returns the id of the static cohort: the configured one, else the
// one found by name, else a new one. Errors: as Marker; a dynamic cohort
// of that name is ErrRejected.
func (p *Publisher) cohort(ctx context.Context) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cohortID != 0 {
		return p.cohortID, nil
	}
	id, err := p.findCohort(ctx)
	if err != nil {
		return 0, err
	}
	if id == 0 {
		var c cohort
		body := map[string]any{"name": p.cfg.cohortName, "is_static": true,
			"description": "Synthetic test accounts managed by Understudy: keep them out of analytics."}
		if _, err := p.do(ctx, http.MethodPost, p.api("cohorts"), body, true, &c); err != nil {
			return 0, fmt.Errorf("creating the PostHog cohort %q: %w", p.cfg.cohortName, err)
		}
		if c.ID <= 0 || !c.IsStatic {
			return 0, fmt.Errorf("%w: PostHog answered the cohort creation without the id of a static cohort", tagging.ErrRejected)
		}
		p.log.InfoContext(ctx, "created the PostHog cohort", "cohort_id", c.ID, "name", p.cfg.cohortName)
		id = c.ID
	}
	p.cohortID = id
	return id, nil
}

// findCohort pages through the cohorts for one named cohortName (0: none).
func (p *Publisher) findCohort(ctx context.Context) (int64, error) {
	for offset := 0; ; offset += cohortPageSize {
		var page cohortPage
		url := p.api("cohorts") + "?limit=" + strconv.Itoa(cohortPageSize) + "&offset=" + strconv.Itoa(offset)
		if _, err := p.do(ctx, http.MethodGet, url, nil, true, &page); err != nil {
			return 0, fmt.Errorf("listing the PostHog cohorts: %w", err)
		}
		for _, c := range page.Results {
			if c.Name != p.cfg.cohortName || c.Deleted {
				continue
			}
			if !c.IsStatic {
				return 0, fmt.Errorf("%w: the PostHog cohort %q (%d) is dynamic; name a static one in settings.cohort_name or settings.cohort_id", tagging.ErrRejected, c.Name, c.ID)
			}
			return c.ID, nil
		}
		if page.Next == nil || len(page.Results) == 0 {
			return 0, nil
		}
	}
}

// AddToList adds the persons of ids to the static cohort, MaxBatch at a
// time, calling ack after each. A person exists in PostHog only once an
// event names it, so the identities PostHog has no person for are marked
// first and looked up again after settings.person_wait; those still
// missing are not acknowledged and make the error (ErrUnavailable: a later
// run finds them). Errors: as Marker.
func (p *Publisher) AddToList(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	if len(ids) == 0 {
		return nil
	}
	cid, err := p.cohort(ctx)
	if err != nil {
		return err
	}
	for batch := range chunks(ids, MaxBatch) {
		found, missing, err := p.resolve(ctx, batch)
		if err != nil {
			return err
		}
		if len(found) > 0 {
			body := map[string]any{"person_ids": uniqueValues(found, batch)}
			var ans success
			url := p.api("cohorts/" + strconv.FormatInt(cid, 10) + "/add_persons_to_static_cohort")
			if _, err := p.do(ctx, http.MethodPatch, url, body, true, &ans); err != nil {
				return fmt.Errorf("adding %d persons to PostHog cohort %d: %w", len(found), cid, err)
			}
			if !ans.Success {
				return fmt.Errorf("%w: PostHog answered 200 to adding persons to cohort %d without success", tagging.ErrRejected, cid)
			}
			if err := ack(ctx, only(batch, found)); err != nil {
				return err
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%w: PostHog has no person yet for %d identities (first: %q): they were marked, so run again once PostHog has ingested them",
				tagging.ErrUnavailable, len(missing), missing[0].DistinctID)
		}
	}
	return nil
}

// resolve finds the person uuid of each identity in batch, marking those
// without a person and looking them up once more after the wait.
func (p *Publisher) resolve(ctx context.Context, batch []tagging.SyntheticUser) (map[string]string, []tagging.SyntheticUser, error) {
	found, err := p.persons(ctx, distinctIDs(batch))
	if err != nil {
		return nil, nil, err
	}
	missing := without(batch, found)
	if len(missing) == 0 {
		return found, nil, nil
	}
	noop := func(context.Context, []tagging.SyntheticUser) error { return nil }
	if err := p.capture(ctx, missing, noop, setEvent); err != nil {
		return nil, nil, fmt.Errorf("marking %d identities PostHog has no person for: %w", len(missing), err)
	}
	if err := p.sleep(ctx, p.cfg.personWait); err != nil {
		return nil, nil, err
	}
	again, err := p.persons(ctx, distinctIDs(missing))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range again {
		found[k] = v
	}
	return found, without(batch, found), nil
}

// RemoveFromList removes the persons of ids from the static cohort, one
// person per request (PostHog's endpoint takes one), calling ack after
// each. An identity PostHog has no person for is in no cohort: it is
// acknowledged at once. Errors: as Marker.
func (p *Publisher) RemoveFromList(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	if len(ids) == 0 {
		return nil
	}
	cid, err := p.cohort(ctx)
	if err != nil {
		return err
	}
	url := p.api("cohorts/" + strconv.FormatInt(cid, 10) + "/remove_person_from_static_cohort")
	for batch := range chunks(ids, MaxBatch) {
		found, err := p.persons(ctx, distinctIDs(batch))
		if err != nil {
			return err
		}
		if gone := without(batch, found); len(gone) > 0 {
			if err := ack(ctx, gone); err != nil {
				return err
			}
		}
		for _, uuid := range uniqueValues(found, batch) {
			var ans success
			if _, err := p.do(ctx, http.MethodPatch, url, map[string]any{"person_id": uuid}, true, &ans); err != nil {
				return fmt.Errorf("removing person %s from PostHog cohort %d: %w", uuid, cid, err)
			}
			if !ans.Success {
				return fmt.Errorf("%w: PostHog answered 200 to removing person %s from cohort %d without success", tagging.ErrRejected, uuid, cid)
			}
			if err := ack(ctx, onlyPerson(batch, found, uuid)); err != nil {
				return err
			}
		}
	}
	return nil
}
