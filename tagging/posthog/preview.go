package posthog

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/understudy-dev/understudy/tagging"
)

// Preview returns the /batch/ requests Mark (Unmark when remove) would
// send for ids, encoded by the same code, then what AddToList
// (RemoveFromList) would do: its requests carry person ids that only
// PostHog can look up, so they are described in a Note. Errors: as Mark,
// before anything would be sent.
func (p *Publisher) Preview(ids []tagging.SyntheticUser, remove bool) ([]tagging.PreviewRequest, error) {
	out, err := p.previewCapture(ids, remove)
	if err != nil || len(ids) == 0 {
		return out, err
	}
	cohort := "{cohort_id}"
	lookup := "looked up first: the cohort named " + strconv.Quote(p.cfg.cohortName) + " (created when missing), then "
	p.mu.Lock()
	known := p.cohortID
	p.mu.Unlock()
	if known != 0 {
		cohort, lookup = strconv.FormatInt(known, 10), "looked up first: "
	}
	if remove {
		return append(out, tagging.PreviewRequest{Action: tagging.PreviewListRemove, Method: http.MethodPatch,
			URL: p.api("cohorts/" + cohort + "/remove_person_from_static_cohort"), Identities: len(ids),
			Note: lookup + "the person of each distinct id (a HogQL query); then one request per person found, body {\"person_id\": uuid}"}), nil
	}
	return append(out, tagging.PreviewRequest{Action: tagging.PreviewListAdd, Method: http.MethodPatch,
		URL: p.api("cohorts/" + cohort + "/add_persons_to_static_cohort"), Identities: len(ids),
		Note: fmt.Sprintf("%sthe person of each distinct id (a HogQL query; identities without a person are marked and looked up again after %s); then one request per %d persons, body {\"person_ids\": [uuid, …]}", lookup, p.cfg.personWait, MaxBatch)}), nil
}

// Preview returns the /batch/ requests Mark (Unmark when remove) would
// send; a MarkOnly keeps no list.
func (m *MarkOnly) Preview(ids []tagging.SyntheticUser, remove bool) ([]tagging.PreviewRequest, error) {
	return m.p.previewCapture(ids, remove)
}

// previewCapture builds the batches capture would send, as it builds them.
func (p *Publisher) previewCapture(ids []tagging.SyntheticUser, remove bool) ([]tagging.PreviewRequest, error) {
	mk, action := setEvent, tagging.PreviewMark
	if remove {
		mk, action = unsetEvent, tagging.PreviewUnmark
	}
	if err := checkDistinctIDs(ids); err != nil {
		return nil, err
	}
	var out []tagging.PreviewRequest
	for len(ids) > 0 {
		n, body, err := p.nextBatch(ids, mk)
		if err != nil {
			return nil, err
		}
		req, err := p.request(context.Background(), http.MethodPost, p.batchURL(), body, false)
		if err != nil {
			return nil, err
		}
		pr, err := tagging.PreviewOf(action, req, n, p.secrets())
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
		ids = ids[n:]
	}
	return out, nil
}

func (p *Publisher) secrets() []string { return []string{p.cfg.token, p.cfg.personal} }
