package posthog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/understudy-dev/understudy/tagging"
)

// Kind is the destination kind of PostHog publishers.
const Kind = "posthog"

// vendor names PostHog in errors.
const vendor = "PostHog"

// Compile-time guards: a Publisher does everything, a MarkOnly only marks.
var (
	_ tagging.Factory   = New
	_ tagging.Publisher = (*Publisher)(nil)
	_ tagging.Marker    = (*Publisher)(nil)
	_ tagging.Lister    = (*Publisher)(nil)
	_ tagging.Filterer  = (*Publisher)(nil)
	_ tagging.Verifier  = (*Publisher)(nil)
	_ tagging.Publisher = (*MarkOnly)(nil)
	_ tagging.Marker    = (*MarkOnly)(nil)
	_ tagging.Previewer = (*Publisher)(nil)
	_ tagging.Previewer = (*MarkOnly)(nil)
)

// Publisher is a PostHog destination with a personal API key: it marks,
// lists, filters and verifies.
type Publisher struct {
	cfg    config
	sender tagging.Sender
	sleep  func(ctx context.Context, d time.Duration) error
	log    *slog.Logger

	mu       sync.Mutex
	cohortID int64 // the cohort found or created, once known
}

// MarkOnly is a PostHog destination without a personal API key: it can
// only mark, through the public /batch/ endpoint, and says in ManualSteps
// what a person must do instead.
type MarkOnly struct {
	p *Publisher
}

// New builds a PostHog publisher from cfg: a *Publisher when the secrets
// hold a personal API key, else a *MarkOnly. A bad setting or secret is a
// *tagging.ConfigError naming it.
func New(cfg tagging.Config) (tagging.Publisher, error) {
	return build(cfg, nil)
}

// build is New with the Sender's sleep injected (nil: a timer).
func build(cfg tagging.Config, sleep func(context.Context, time.Duration) error) (tagging.Publisher, error) {
	c, err := decode(cfg.Settings, cfg.Secrets)
	if err != nil {
		return nil, err
	}
	if sleep == nil {
		sleep = sleepTimer
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	p := &Publisher{
		cfg: c,
		// MaxWait lets a Retry-After of up to an hour (the private API's
		// hourly windows) be waited out rather than cut to a minute and
		// retried too early; the Sender refuses a wait that would outlast
		// the caller's deadline.
		sender: tagging.Sender{Vendor: vendor, Client: client, Sleep: sleep, MaxWait: maxRetryWait,
			Secrets: []string{c.token, c.personal}},
		sleep:    sleep,
		log:      logger.With(slog.String("destination", cfg.Destination), slog.String("kind", Kind)),
		cohortID: c.cohortID,
	}
	if c.personal == "" {
		return &MarkOnly{p: p}, nil
	}
	return p, nil
}

// maxRetryWait is the longest wait between two attempts: PostHog's
// longest rate-limit window is an hour
// (https://posthog.com/docs/api#rate-limiting).
const maxRetryWait = time.Hour

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Capabilities says the publisher marks, lists, filters and verifies.
func (p *Publisher) Capabilities() []tagging.Capability {
	return []tagging.Capability{tagging.CapMark, tagging.CapList, tagging.CapFilter, tagging.CapVerify}
}

// Capabilities says the publisher only marks.
func (m *MarkOnly) Capabilities() []tagging.Capability {
	return []tagging.Capability{tagging.CapMark}
}

// project is what the publisher reads of GET /api/projects/{id}/.
type project struct {
	ID                        int64            `json:"id"`
	Name                      string           `json:"name"`
	APIToken                  string           `json:"api_token"`
	TestAccountFilters        []map[string]any `json:"test_account_filters"`
	TestAccountFiltersDefault bool             `json:"test_account_filters_default_checked"`
}

// Test reads the project with the personal API key and checks that the
// project token is that project's. Errors: ErrCredentials, ErrUnavailable,
// ErrRejected.
func (p *Publisher) Test(ctx context.Context) (tagging.Check, error) {
	proj, err := p.project(ctx)
	if err != nil {
		return tagging.Check{}, fmt.Errorf("reading PostHog project %d: %w", p.cfg.projectID, err)
	}
	if proj.APIToken != "" && proj.APIToken != p.cfg.token {
		return tagging.Check{}, fmt.Errorf("%w: %s project %d has another project token than %s",
			tagging.ErrCredentials, vendor, p.cfg.projectID, "secrets."+SecretProjectAPIKey)
	}
	return tagging.Check{OK: true, Detail: fmt.Sprintf("PostHog project %d (%q) answered the personal API key; the project token is this project's", proj.ID, proj.Name)}, nil
}

// Test evaluates flags for a fixed distinct id on the public /flags
// endpoint, the one public call that checks the project token without
// capturing anything. Errors: ErrCredentials, ErrUnavailable, ErrRejected.
func (m *MarkOnly) Test(ctx context.Context) (tagging.Check, error) {
	body := map[string]any{"api_key": m.p.cfg.token, "distinct_id": "understudy-credential-check"}
	if _, err := m.p.do(ctx, http.MethodPost, m.p.cfg.ingest.JoinPath("flags/").String()+"?v=2", body, false, nil); err != nil {
		return tagging.Check{}, fmt.Errorf("checking the project token on /flags: %w", err)
	}
	return tagging.Check{OK: true, Detail: "PostHog accepted the project token on /flags; without a personal API key the publisher marks only"}, nil
}

// ManualSteps are what no PostHog API call does: query-time filters are not
// applied everywhere, and dropping at ingestion is a transformation.
func (p *Publisher) ManualSteps() []string {
	return []string{
		"PostHog applies the test-account filter when a query runs, and only where \"Filter out internal and test users\" is on: Understudy installs the filters (person property is_synthetic is not true, which PostHog judges by the properties stored on each event when it was ingested, so events sent before an account was marked pass it; and not in the static cohort, judged by current membership, which removes those too) and makes them the default for new insights, but open each saved insight and dashboard that existed before and turn \"Filter out internal and test users\" on, and add {filters} to the WHERE clause of SQL insights; surfaces that never apply it (raw event exploration, session replay lists, exports) still show synthetic activity.",
		dropEventsStep,
	}
}

// ManualSteps adds, to the steps of a full publisher, what the missing
// personal API key would have done.
func (m *MarkOnly) ManualSteps() []string {
	return append([]string{
		"Without secrets." + SecretPersonalAPIKey + " Understudy only marks persons (is_synthetic = true). A filter on the person property alone misses the events a person sent before being marked, since PostHog keeps on each event the person properties it had when ingested; PostHog recommends a cohort with \"not in\" instead, which is judged by membership. In PostHog, open Cohorts → \"+ New Cohort\", name it \"" + DefaultCohortName + "\", keep it dynamic with the one condition person property is_synthetic equals true, and save it (PostHog recalculates a dynamic cohort periodically, so a newly marked person leaves reports once it has); then open Settings → Project → Product analytics → \"Filter out internal and test users\", add the filter Cohort with operator \"not in\" and that cohort, tick \"Enable this filter on all new insights\", and save. Or create a personal API key with scopes project:read, project:write, cohort:read, cohort:write and query:read and add it as secrets." + SecretPersonalAPIKey + " so Understudy keeps a static cohort, the filter and the verification itself.",
	}, m.p.ManualSteps()...)
}

// dropEventsStep is the ingestion-time alternative, in the UI.
const dropEventsStep = "To drop synthetic events at ingestion instead of filtering them at query time: in PostHog open Data pipelines → Transformations → New, choose \"Drop Events\", under Filters add the event property is_synthetic equals true, then Create and enable it. Transformations see only the event, not the person, so the app must send is_synthetic: true as a property of every event of a synthetic session (for example posthog.register({is_synthetic: true}) after login); events already stored are not removed."

// do sends one JSON request through the Sender and decodes a 2xx answer
// into out (when not nil). bearer adds the personal API key.
func (p *Publisher) do(ctx context.Context, method, url string, body any, bearer bool, out any) (tagging.Response, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return tagging.Response{}, fmt.Errorf("encoding the request to %s: %w", vendor, err)
		}
	}
	resp, err := p.sender.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return p.request(ctx, method, url, raw, bearer)
	})
	if err != nil {
		return resp, err
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return resp, fmt.Errorf("%w: %s answered %d with a body that is not the documented JSON (%v)", tagging.ErrRejected, vendor, resp.Status, err)
		}
	}
	return resp, nil
}

// request builds one request with an encoded JSON body (nil: none), as do
// sends it and Preview shows it. bearer adds the personal API key.
func (p *Publisher) request(ctx context.Context, method, url string, raw []byte, bearer bool) (*http.Request, error) {
	var r io.Reader
	if raw != nil {
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer {
		req.Header.Set("Authorization", "Bearer "+p.cfg.personal)
	}
	return req, nil
}

// api is the URL of a private API path under the project.
func (p *Publisher) api(path string) string {
	u := p.cfg.app.JoinPath("api", "projects", strconv.FormatInt(p.cfg.projectID, 10))
	if path != "" {
		u = u.JoinPath(path)
	}
	return u.String() + "/"
}

func (p *Publisher) project(ctx context.Context) (project, error) {
	var proj project
	_, err := p.do(ctx, http.MethodGet, p.api(""), nil, true, &proj)
	return proj, err
}
