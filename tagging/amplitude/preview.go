package amplitude

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/understudy-dev/understudy/tagging"
)

// Preview returns the Identify API requests Mark (Unmark when remove)
// would send for ids, split and encoded by the same code, the API key
// redacted; then the Cohorts API membership requests of AddToList
// (RemoveFromList) when the cohort's id is known, else one request whose
// Note says the cohort is looked up (and, to add, created) first. An id
// Amplitude refuses is left out, as Mark leaves it out, and said in a Note.
func (p *Publisher) Preview(ids []tagging.SyntheticUser, remove bool) ([]tagging.PreviewRequest, error) {
	op, action := setOperation, tagging.PreviewMark
	if remove {
		op, action = unsetOperation, tagging.PreviewUnmark
	}
	if len(ids) == 0 {
		return nil, nil
	}
	prefix, batches, refused, err := p.identifyBatches(ids, op)
	if err != nil {
		return nil, err
	}
	var out []tagging.PreviewRequest
	for _, batch := range batches {
		req, err := p.identifyRequest(context.Background(), identifyBody(prefix, batch))
		if err != nil {
			return nil, err
		}
		pr, err := tagging.PreviewOf(action, req, len(batch), p.secrets())
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	if len(refused) > 0 {
		out = append(out, tagging.PreviewRequest{Action: action, Method: http.MethodPost, URL: p.urls.identify,
			Note: refusedText(refused)})
	}
	lists, err := p.previewList(ids, remove)
	if err != nil {
		return nil, err
	}
	return append(out, lists...), nil
}

// previewList previews the membership requests of AddToList or
// RemoveFromList.
func (p *Publisher) previewList(ids []tagging.SyntheticUser, remove bool) ([]tagging.PreviewRequest, error) {
	op, action := "ADD", tagging.PreviewListAdd
	if remove {
		op, action = "REMOVE", tagging.PreviewListRemove
	}
	cohortID := p.knownCohort()
	if cohortID == "" {
		note := fmt.Sprintf("the id of the cohort named %q is looked up first; ", p.settings.CohortName)
		if remove {
			note += "with no such cohort there is nothing to remove and no request is sent"
		} else {
			note += "when there is none, the first batch creates it (POST " + p.urls.cohorts + "/upload), the others are ADD requests"
		}
		return []tagging.PreviewRequest{{Action: action, Method: http.MethodPost, URL: p.urls.cohorts + "/membership",
			Identities: len(ids), Note: note + " in batches of " + strconv.Itoa(p.listBatch())}}, nil
	}
	var out []tagging.PreviewRequest
	for _, batch := range chunk(ids, p.listBatch()) {
		body, err := membershipBody(cohortID, op, batch)
		if err != nil {
			return nil, err
		}
		req, err := p.cohortRequest(context.Background(), http.MethodPost, "/membership", body)
		if err != nil {
			return nil, err
		}
		pr, err := tagging.PreviewOf(action, req, len(batch), p.secrets())
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}

func (p *Publisher) secrets() []string { return []string{p.apiKey, p.secretKey} }
