package posthog

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/internal/egress"
	"github.com/understudy-dev/understudy/tagging"
)

// Secret names of a PostHog destination.
const (
	// SecretProjectAPIKey is the project token (phc_…), sent as api_key in
	// the body of /batch/ and /flags requests. Required.
	SecretProjectAPIKey = "project_api_key"
	// SecretPersonalAPIKey is a personal API key (phx_…), sent as a Bearer
	// token to the private API. Optional: without it the publisher marks
	// only. Scopes needed: project:read, project:write, cohort:read,
	// cohort:write, query:read.
	SecretPersonalAPIKey = "personal_api_key"
)

// Defaults of the settings.
const (
	DefaultIngestHost = "https://us.i.posthog.com"
	DefaultAppHost    = "https://us.posthog.com"
	DefaultCohortName = "Understudy synthetic accounts"
	DefaultVerifyDays = 30
	DefaultPersonWait = 10 * time.Second
)

// Settings is the JSON settings document of a PostHog destination. Unknown
// fields are refused.
type Settings struct {
	// IngestHost serves the public capture endpoints (/batch/, /flags):
	// https (http only to a loopback host), optionally with a path prefix
	// when PostHog is behind a proxy. Defaults to "https://us.i.posthog.com" (EU: "https://eu.i.posthog.com").
	IngestHost string `json:"ingest_host"`
	// AppHost serves the private API (/api/projects/…): https (http only
	// to a loopback host), optionally with a path prefix. Defaults to
	// "https://us.posthog.com" (EU: "https://eu.posthog.com").
	AppHost string `json:"app_host"`
	// ProjectID is the numeric project id (Project settings → Project ID).
	// Required.
	ProjectID int64 `json:"project_id"`
	// CohortName names the static cohort of synthetic persons, found by
	// name and created when missing. Defaults to "Understudy synthetic accounts".
	CohortName string `json:"cohort_name"`
	// CohortID, when set, is the id of an existing static cohort to use
	// instead of finding or creating one by name. Defaults to 0 (by name).
	CohortID int64 `json:"cohort_id"`
	// VerifyDays is how far back the verification query looks for events,
	// in days (1 to 365). Defaults to 30.
	VerifyDays int `json:"verify_days"`
	// PersonWait is how long AddToList waits for PostHog to ingest the
	// persons it had to create before looking them up again, as a Go
	// duration (at most "5m"). Defaults to "10s".
	PersonWait string `json:"person_wait"`
}

// config is the validated form of the settings and secrets.
type config struct {
	ingest, app *url.URL
	projectID   int64
	cohortName  string
	cohortID    int64
	verifyDays  int
	personWait  time.Duration
	token       string
	personal    string
}

// decode decodes raw strictly and validates it with the secrets; every
// problem is a *tagging.ConfigError, joined.
func decode(raw json.RawMessage, secrets map[string]string) (config, error) {
	var s Settings
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return config{}, decodeError(err)
		}
		if dec.More() {
			return config{}, &tagging.ConfigError{Field: "settings", Detail: "more than one JSON value"}
		}
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &tagging.ConfigError{Field: field, Detail: fmt.Sprintf(format, args...)})
	}
	c := config{
		projectID:  s.ProjectID,
		cohortName: cmp.Or(strings.TrimSpace(s.CohortName), DefaultCohortName),
		cohortID:   s.CohortID,
		verifyDays: cmp.Or(s.VerifyDays, DefaultVerifyDays),
		personWait: DefaultPersonWait,
	}
	var err error
	if c.ingest, err = hostURL(cmp.Or(s.IngestHost, DefaultIngestHost)); err != nil {
		bad("settings.ingest_host", "%v", err)
	}
	if c.app, err = hostURL(cmp.Or(s.AppHost, DefaultAppHost)); err != nil {
		bad("settings.app_host", "%v", err)
	}
	if c.projectID <= 0 {
		bad("settings.project_id", "required: the numeric project id from PostHog's project settings")
	}
	if c.cohortID < 0 {
		bad("settings.cohort_id", "must be a positive cohort id, or left out to find the cohort by name")
	}
	if c.verifyDays < 1 || c.verifyDays > 365 {
		bad("settings.verify_days", "must be between 1 and 365, not %d", c.verifyDays)
	}
	if s.PersonWait != "" {
		if c.personWait, err = time.ParseDuration(s.PersonWait); err != nil || c.personWait < 0 || c.personWait > 5*time.Minute {
			bad("settings.person_wait", "must be a Go duration between 0s and 5m, not %q", s.PersonWait)
		}
	}
	c.token = strings.TrimSpace(secrets[SecretProjectAPIKey])
	switch {
	case c.token == "":
		bad("secrets."+SecretProjectAPIKey, "required: the project token (phc_…) from PostHog's project settings")
	case !strings.HasPrefix(c.token, "phc_"):
		bad("secrets."+SecretProjectAPIKey, "is not a project token: PostHog project tokens start with phc_")
	}
	c.personal = strings.TrimSpace(secrets[SecretPersonalAPIKey])
	if c.personal != "" && !strings.HasPrefix(c.personal, "phx_") {
		bad("secrets."+SecretPersonalAPIKey, "is not a personal API key: PostHog personal API keys start with phx_")
	}
	return c, errors.Join(errs...)
}

// decodeError names the setting that failed to decode.
func decodeError(err error) error {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
		return &tagging.ConfigError{Field: "settings." + te.Field, Detail: fmt.Sprintf("must be a JSON %s, not %s", te.Type.Kind(), te.Value)}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &tagging.ConfigError{Field: "settings." + strings.Trim(name, `"`), Detail: "unknown setting"}
	}
	return &tagging.ConfigError{Field: "settings", Detail: "not a JSON object of settings: " + msg}
}

// hostURL parses a host setting under egress.CheckURL: https, or http
// to a loopback host (a local fake), with no query, fragment or
// credentials. A path is kept as a prefix (a self-hosted PostHog behind a
// proxy at https://example.com/posthog): requests go to the prefix
// followed by PostHog's documented path.
func hostURL(raw string) (*url.URL, error) {
	return egress.CheckURL(raw)
}
