package amplitude

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/understudy-dev/understudy/tagging"
)

// Publisher marks synthetic identities in one Amplitude project and keeps
// its cohort of them. Build it with New.
type Publisher struct {
	settings  Settings
	urls      endpoints
	apiKey    string
	secretKey string
	log       *slog.Logger
	ingest    tagging.Sender // the Identify API
	cohorts   tagging.Sender // the Behavioral Cohorts API

	mu       sync.Mutex
	cohortID string // configured, found or created; "" until known
}

// Compile-time guards: the capabilities Capabilities claims.
var (
	_ tagging.Publisher = (*Publisher)(nil)
	_ tagging.Marker    = (*Publisher)(nil)
	_ tagging.Lister    = (*Publisher)(nil)
	_ tagging.Previewer = (*Publisher)(nil)
)

// Capabilities are mark (Identify API) and list (Cohorts API). Amplitude
// has no API for a project-level filter: ManualSteps says what to do.
func (p *Publisher) Capabilities() []tagging.Capability {
	return []tagging.Capability{tagging.CapMark, tagging.CapList}
}

// ManualSteps are the steps that only Amplitude's web app can do: a
// saved segment that leaves out the cohort, used by the charts that report
// business numbers.
func (p *Publisher) ManualSteps() []string {
	cohort := fmt.Sprintf("%q", p.settings.CohortName)
	if id := p.knownCohort(); id != "" {
		cohort += " (id " + id + ")"
	}
	app := "https://app.amplitude.com"
	if p.settings.Region == RegionEU {
		app = "https://app.eu.amplitude.com"
	}
	return []string{
		fmt.Sprintf("Sign in to Amplitude at %s and open the project%s.", app, projectName(p.settings.AppID)),
		fmt.Sprintf("Open the cohort %s and check that its members are the synthetic accounts (Understudy keeps it: do not edit it by hand).", cohort),
		fmt.Sprintf("In a chart's Segmentation Module click \"+ Filter\", choose the cohort filter, set it to users NOT in cohort %s, and save the segment as \"Real users (no synthetic accounts)\", shared with the project.", cohort),
		"Apply that saved segment to every chart and dashboard that reports business numbers, and make it the default segment where your Amplitude plan offers one. Amplitude has no API for a project-level filter on a cohort.",
		// https://amplitude.com/docs/faq/block-and-filter-internal-users and
		// https://amplitude.com/docs/jp/delete-invalid-or-erroneous-data
		// (Drop filters: query time, exact values, not in exports).
		"Beside the per-chart cohort, Amplitude has two project-wide filters under Data > Filters (a manager or admin sets them): a Block filter drops matching events at ingestion, for example every event from the office IP address, and they are lost for good; a Drop filter removes matching events from every chart at query time (exact values only; data exports still hold them) and is undone by deleting it. Neither takes a cohort, so they match a fixed value the synthetic traffic carries, not the synthetic accounts as such.",
		fmt.Sprintf("Alternatively, in charts that filter on user properties, add the filter %s is not true: marked users carry it from their next event on (user properties are not retroactive).", tagging.TagSynthetic),
	}
}

func projectName(appID int64) string {
	if appID == 0 {
		return ""
	}
	return fmt.Sprintf(" %d", appID)
}

// Test lists the project's cohorts (GET /api/3/cohorts, read-only), which
// checks the API key and secret key together, and says whether the
// configured cohort exists. Errors: ErrCredentials, ErrUnavailable,
// ErrRejected.
func (p *Publisher) Test(ctx context.Context) (tagging.Check, error) {
	list, err := p.listCohorts(ctx)
	if err != nil {
		return tagging.Check{}, fmt.Errorf("testing Amplitude: %w", err)
	}
	detail := fmt.Sprintf("Amplitude (%s) accepted the API key and secret key; the project has %d cohorts", p.settings.Region, len(list))
	id := p.knownCohort()
	if id == "" {
		return tagging.Check{OK: true, Detail: detail + fmt.Sprintf("; the cohort %q is found or created at the first list sync", p.settings.CohortName)}, nil
	}
	for _, c := range list {
		if c.ID == id {
			return tagging.Check{OK: true, Detail: detail + fmt.Sprintf(", among them the cohort %s (%q, %d members)", id, c.Name, c.Size)}, nil
		}
	}
	return tagging.Check{OK: false, Detail: detail + fmt.Sprintf(", but not settings.cohort_id %q", id)}, nil
}

func (p *Publisher) knownCohort() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cohortID
}

// cohortInfo is the part of a cohort object the publisher reads.
type cohortInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	AppID    int64  `json:"appId"`
	Archived bool   `json:"archived"`
	Size     int    `json:"size"`
}

// listCohorts is GET /api/3/cohorts.
func (p *Publisher) listCohorts(ctx context.Context) ([]cohortInfo, error) {
	resp, err := p.cohorts.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.cohortRequest(ctx, http.MethodGet, "", nil)
	})
	if err != nil {
		return nil, err
	}
	var ans struct {
		Cohorts []cohortInfo `json:"cohorts"`
	}
	if err := json.Unmarshal(resp.Body, &ans); err != nil {
		return nil, fmt.Errorf("%w: Amplitude's list of cohorts is not the documented JSON: %v", tagging.ErrRejected, err)
	}
	return ans.Cohorts, nil
}

// cohortRequest builds a Cohorts API request to the region's host, with
// Basic auth api_key:secret_key.
func (p *Publisher) cohortRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	var r io.Reader = http.NoBody
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.urls.cohorts+path, r)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(p.apiKey, p.secretKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}
