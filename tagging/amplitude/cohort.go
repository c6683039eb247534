package amplitude

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/understudy-dev/understudy/tagging"
)

// MaxCohortIDs is the most ids one Cohorts API request may carry.
const MaxCohortIDs = 100_000

// AddToList adds ids to the cohort of synthetic identities. The first
// time, with no settings.cohort_id, it looks for the cohort by name and,
// if there is none, creates it by uploading the first batch; every other
// batch is an incremental ADD to the cohort's membership. Amplitude skips
// the ids it does not know (no event or identify yet): the others of the
// batch are acknowledged, and ErrRejected counts the skipped ones at the
// end, so the next run retries them.
func (p *Publisher) AddToList(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	if len(ids) == 0 {
		return nil
	}
	id, err := p.findCohort(ctx)
	if err != nil {
		return err
	}
	batches := chunk(ids, p.listBatch())
	if id == "" {
		if id, err = p.createCohort(ctx, batches[0]); err != nil {
			return err
		}
		if err := ack(ctx, batches[0]); err != nil {
			return err
		}
		batches = batches[1:]
	}
	var skipped []string
	for _, batch := range batches {
		s, err := p.membership(ctx, id, "ADD", batch, ack)
		if err != nil {
			return err
		}
		skipped = append(skipped, s...)
	}
	if len(skipped) > 0 {
		return fmt.Errorf("%w: Amplitude skipped %d id(s) it does not know yet (they need an event or an identify first), e.g. %s",
			tagging.ErrRejected, len(skipped), strings.Join(skipped[:min(3, len(skipped))], ", "))
	}
	return nil
}

// RemoveFromList removes ids from the cohort (REMOVE operations). With no
// cohort yet there is nothing to remove from: ids are acknowledged without
// a request. An id Amplitude skips on removal is one it does not know, so
// not a member: it is acknowledged, and logged.
func (p *Publisher) RemoveFromList(ctx context.Context, ids []tagging.SyntheticUser, ack tagging.Ack) error {
	if len(ids) == 0 {
		return nil
	}
	id, err := p.findCohort(ctx)
	if err != nil {
		return err
	}
	for _, batch := range chunk(ids, p.listBatch()) {
		if id == "" {
			if err := ack(ctx, batch); err != nil {
				return err
			}
			continue
		}
		skipped, err := p.membership(ctx, id, "REMOVE", batch, nil)
		if err != nil {
			return err
		}
		if len(skipped) > 0 {
			p.log.InfoContext(ctx, "Amplitude skipped ids on removal from the cohort (unknown users, so not members)",
				slog.String("cohort_id", id), slog.Int("skipped", len(skipped)))
		}
		if err := ack(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

func (p *Publisher) listBatch() int { return min(p.settings.BatchSize, MaxCohortIDs) }

// findCohort returns the configured or known cohort id, else looks for a
// cohort of the project named settings.cohort_name (not archived); "" when
// there is none. Two such cohorts are an error: settings.cohort_id must
// choose.
func (p *Publisher) findCohort(ctx context.Context) (string, error) {
	if id := p.knownCohort(); id != "" {
		return id, nil
	}
	list, err := p.listCohorts(ctx)
	if err != nil {
		return "", fmt.Errorf("looking for the cohort %q in Amplitude: %w", p.settings.CohortName, err)
	}
	var found []string
	for _, c := range list {
		if c.Name == p.settings.CohortName && !c.Archived && (c.AppID == 0 || c.AppID == p.settings.AppID) {
			found = append(found, c.ID)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		p.remember(ctx, found[0], "found")
		return found[0], nil
	}
	return "", fmt.Errorf("%w: Amplitude has %d cohorts named %q (%s): set settings.cohort_id to the one to keep",
		tagging.ErrRejected, len(found), p.settings.CohortName, strings.Join(found, ", "))
}

func (p *Publisher) remember(ctx context.Context, id, how string) {
	p.mu.Lock()
	p.cohortID = id
	p.mu.Unlock()
	p.log.InfoContext(ctx, "Amplitude cohort "+how+": set settings.cohort_id to it to skip the lookup",
		slog.String("cohort_id", id), slog.String("cohort_name", p.settings.CohortName))
}

// uploadRequest is the body of POST /api/3/cohorts/upload.
type uploadRequest struct {
	Name           string   `json:"name"`
	AppID          int64    `json:"app_id"`
	IDType         string   `json:"id_type"`
	IDs            []string `json:"ids"`
	Owner          string   `json:"owner"`
	Published      bool     `json:"published"`
	SkipInvalidIDs bool     `json:"skip_invalid_ids"`
}

// apiError is the documented error object of the Cohorts API.
type apiError struct {
	HTTPCode int    `json:"http_code"`
	Type     string `json:"type"`
	Message  string `json:"message"`
}

// err is the error of e, its type and message scrubbed of the keys.
func (e *apiError) err(what string, sc *tagging.Scrubber) error {
	return fmt.Errorf("%w: Amplitude refused %s: %s (%d)", tagging.ErrRejected, what, sc.Message(e.Type+" "+e.Message), e.HTTPCode)
}

// createCohort uploads batch as a new, published cohort. skip_invalid_ids
// is false, so the upload is all or nothing and acknowledging the whole
// batch afterwards is exact.
func (p *Publisher) createCohort(ctx context.Context, batch []tagging.SyntheticUser) (string, error) {
	body, err := json.Marshal(uploadRequest{Name: p.settings.CohortName, AppID: p.settings.AppID, IDType: "BY_USER_ID",
		IDs: distinctIDs(batch), Owner: p.settings.Owner, Published: true, SkipInvalidIDs: false})
	if err != nil {
		return "", err
	}
	resp, err := p.cohorts.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.cohortRequest(ctx, http.MethodPost, "/upload", body)
	})
	if err != nil {
		return "", fmt.Errorf("creating the cohort %q in Amplitude: %w", p.settings.CohortName, err)
	}
	var ans struct {
		CohortID  string    `json:"cohortId"`
		CohortID2 string    `json:"cohort_id"`
		Error     *apiError `json:"error"`
	}
	if err := json.Unmarshal(resp.Body, &ans); err != nil {
		return "", fmt.Errorf("%w: Amplitude's answer to the cohort upload is not the documented JSON: %v", tagging.ErrRejected, err)
	}
	if ans.Error != nil {
		return "", ans.Error.err("the cohort upload", p.cohorts.Scrubber())
	}
	id := ans.CohortID
	if id == "" {
		id = ans.CohortID2
	}
	if id == "" {
		return "", fmt.Errorf("%w: Amplitude's answer to the cohort upload has no cohortId", tagging.ErrRejected)
	}
	p.remember(ctx, id, "created")
	return id, nil
}

// membershipRequest is the body of POST /api/3/cohorts/membership.
type membershipRequest struct {
	CohortID       string       `json:"cohort_id"`
	Memberships    []membership `json:"memberships"`
	SkipInvalidIDs bool         `json:"skip_invalid_ids"`
}

type membership struct {
	IDs       []string `json:"ids"`
	IDType    string   `json:"id_type"` // BY_NAME: user ids, for the User count group
	Operation string   `json:"operation"`
}

// membershipBody is the body of one ADD or REMOVE of batch.
func membershipBody(cohortID, op string, batch []tagging.SyntheticUser) ([]byte, error) {
	return json.Marshal(membershipRequest{CohortID: cohortID, SkipInvalidIDs: true,
		Memberships: []membership{{IDs: distinctIDs(batch), IDType: "BY_NAME", Operation: op}}})
}

// membership applies one ADD or REMOVE of batch to the cohort and returns
// the ids Amplitude skipped. With ack (ADD), it acknowledges the batch
// without the skipped ids.
func (p *Publisher) membership(ctx context.Context, cohortID, op string, batch []tagging.SyntheticUser, ack tagging.Ack) ([]string, error) {
	body, err := membershipBody(cohortID, op, batch)
	if err != nil {
		return nil, err
	}
	resp, err := p.cohorts.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.cohortRequest(ctx, http.MethodPost, "/membership", body)
	})
	if err != nil {
		return nil, fmt.Errorf("updating the membership of the Amplitude cohort %s (%s %d): %w", cohortID, op, len(batch), err)
	}
	var ans struct {
		Results []struct {
			SkippedIDs []string `json:"skipped_ids"`
		} `json:"memberships_result"`
		Error *apiError `json:"error"`
	}
	if err := json.Unmarshal(resp.Body, &ans); err != nil {
		return nil, fmt.Errorf("%w: Amplitude's answer to the membership update is not the documented JSON: %v", tagging.ErrRejected, err)
	}
	if ans.Error != nil {
		return nil, ans.Error.err("the membership update", p.cohorts.Scrubber())
	}
	skipped := map[string]bool{}
	var list []string
	for _, r := range ans.Results {
		for _, id := range r.SkippedIDs {
			if !skipped[id] {
				skipped[id] = true
				list = append(list, id)
			}
		}
	}
	if ack == nil {
		return list, nil
	}
	done := make([]tagging.SyntheticUser, 0, len(batch))
	for _, id := range batch {
		if !skipped[id.DistinctID] {
			done = append(done, id)
		}
	}
	if len(done) > 0 {
		if err := ack(ctx, done); err != nil {
			return nil, err
		}
	}
	return list, nil
}

func distinctIDs(batch []tagging.SyntheticUser) []string {
	out := make([]string, len(batch))
	for i, id := range batch {
		out[i] = id.DistinctID
	}
	return out
}

func chunk(ids []tagging.SyntheticUser, n int) [][]tagging.SyntheticUser {
	var out [][]tagging.SyntheticUser
	for len(ids) > n {
		out = append(out, ids[:n:n])
		ids = ids[n:]
	}
	return append(out, ids)
}
