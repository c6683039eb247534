package mixpanel

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/tagging"
)

// Kind names this publisher in a destination's configuration.
const Kind = "mixpanel"

// Secret names.
const (
	// SecretProjectToken is the project token sent as "$token". Required.
	SecretProjectToken = "project_token"
	// SecretServiceAccountSecret is the service account's secret, for Test
	// and the check before the first write. Optional, with
	// settings.service_account_username.
	SecretServiceAccountSecret = "service_account_secret"
)

// Documented limits of the Engage endpoint.
const (
	// MaxBatch is the most profile updates one request may carry.
	MaxBatch = 2000
	// MaxUpdateBytes is the largest single profile update.
	MaxUpdateBytes = 1_000_000
	// DefaultMaxRequestBytes bounds a whole request (our bound: /engage
	// documents none).
	DefaultMaxRequestBytes = 1_000_000
)

// Backoff on 429 and 5xx, as Mixpanel recommends.
const (
	minWait = 2 * time.Second
	maxWait = 60 * time.Second
)

// Settings is the JSON settings document of a Mixpanel destination.
type Settings struct {
	// Region is the project's data residency: "us", "eu" or "in".
	// Defaults to "us".
	Region string `json:"region"`
	// ProjectID is the project's numeric id, for the Query API. Required
	// with a service account.
	ProjectID int64 `json:"project_id"`
	// ServiceAccountUsername is the service account that Test uses.
	// Defaults to none: Test then cannot check the credentials.
	ServiceAccountUsername string `json:"service_account_username"`
	// IngestURL is the ingestion API's base URL. Defaults to the region's
	// https://api.mixpanel.com, https://api-eu.mixpanel.com or
	// https://api-in.mixpanel.com.
	IngestURL string `json:"ingest_url"`
	// QueryURL is the Query API's base URL. Defaults to the region's
	// https://mixpanel.com/api/query, https://eu.mixpanel.com/api/query or
	// https://in.mixpanel.com/api/query.
	QueryURL string `json:"query_url"`
	// MaxBatch is the most updates per request, 1 to 2000. Defaults to 2000.
	MaxBatch int `json:"max_batch"`
	// MaxRequestBytes bounds each request's body, 1 KB to 1 MB. Defaults
	// to 1,000,000.
	MaxRequestBytes int `json:"max_request_bytes"`
}

var regions = map[string][2]string{
	"us": {"https://api.mixpanel.com", "https://mixpanel.com/api/query"},
	"eu": {"https://api-eu.mixpanel.com", "https://eu.mixpanel.com/api/query"},
	"in": {"https://api-in.mixpanel.com", "https://in.mixpanel.com/api/query"},
}

// Options are what the caller can set beyond the destination's
// configuration.
type Options struct {
	// Sleep waits between attempts, or until ctx is done. Defaults to a
	// timer; tests inject one that records the waits.
	Sleep func(ctx context.Context, d time.Duration) error
}

// config is the validated configuration.
type config struct {
	Settings
	token, saSecret string
}

func parse(cfg tagging.Config) (config, error) {
	var c config
	if err := tagging.DecodeSettings(cfg.Settings, &c.Settings); err != nil {
		return c, err
	}
	c.Region = cmp.Or(c.Region, "us")
	region, ok := regions[c.Region]
	if !ok {
		return c, &tagging.ConfigError{Field: "settings.region", Detail: `must be "us", "eu" or "in"`}
	}
	c.IngestURL = strings.TrimRight(cmp.Or(c.IngestURL, region[0]), "/")
	c.QueryURL = strings.TrimRight(cmp.Or(c.QueryURL, region[1]), "/")
	for field, u := range map[string]string{"settings.ingest_url": c.IngestURL, "settings.query_url": c.QueryURL} {
		if err := tagging.CheckURL(field, u); err != nil {
			return c, err
		}
	}
	c.MaxBatch = cmp.Or(c.MaxBatch, MaxBatch)
	if c.MaxBatch < 1 || c.MaxBatch > MaxBatch {
		return c, &tagging.ConfigError{Field: "settings.max_batch", Detail: fmt.Sprintf("must be 1 to %d", MaxBatch)}
	}
	c.MaxRequestBytes = cmp.Or(c.MaxRequestBytes, DefaultMaxRequestBytes)
	if c.MaxRequestBytes < 1000 || c.MaxRequestBytes > DefaultMaxRequestBytes {
		return c, &tagging.ConfigError{Field: "settings.max_request_bytes", Detail: fmt.Sprintf("must be 1000 to %d", DefaultMaxRequestBytes)}
	}
	c.token = strings.TrimSpace(cfg.Secrets[SecretProjectToken])
	if c.token == "" {
		return c, &tagging.ConfigError{Field: "secrets." + SecretProjectToken, Detail: "is required"}
	}
	c.saSecret = cfg.Secrets[SecretServiceAccountSecret]
	switch {
	case c.ServiceAccountUsername != "" && c.saSecret == "":
		return c, &tagging.ConfigError{Field: "secrets." + SecretServiceAccountSecret, Detail: "is required with settings.service_account_username"}
	case c.ServiceAccountUsername == "" && c.saSecret != "":
		return c, &tagging.ConfigError{Field: "settings.service_account_username", Detail: "is required with secrets." + SecretServiceAccountSecret}
	case c.ServiceAccountUsername != "" && c.ProjectID <= 0:
		return c, &tagging.ConfigError{Field: "settings.project_id", Detail: "is required with a service account (a positive number)"}
	}
	return c, nil
}

func (c config) serviceAccount() bool { return c.ServiceAccountUsername != "" }
