package amplitude

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/tagging"
)

// Kind names this publisher in a destination's configuration.
const Kind = "amplitude"

// Names of the secrets.
const (
	// SecretAPIKey is the project's API key: it authenticates the Identify
	// API (in the form body) and is the user name of the Cohorts API's
	// Basic auth.
	SecretAPIKey = "api_key"
	// SecretSecretKey is the project's secret key: the password of the
	// Cohorts API's Basic auth.
	SecretSecretKey = "secret_key"
)

// Limits of the settings, from Amplitude's documentation (see the package
// documentation).
const (
	// DefaultBatchSize is the default number of identities a request carries.
	DefaultBatchSize = 1000
	// MaxBatchSize is the most identities one identify request may carry:
	// HTTP V2 asks for "fewer than 2000 events per request".
	MaxBatchSize = 1999
	// MaxRequestBytes bounds an identify request's body: HTTP V2 asks for
	// requests "under 1 MB" (1,000,000 bytes, decimal) and answers 413
	// above, so a body is at most one byte less.
	MaxRequestBytes = 1_000_000 - 1
	// DefaultCohortName names the cohort the publisher creates or finds.
	DefaultCohortName = "Understudy synthetic accounts"
)

// Regions.
const (
	RegionUS = "us"
	RegionEU = "eu"
)

// Settings is the JSON settings document of an Amplitude destination.
type Settings struct {
	// Region is the project's data residency: "us" or "eu". Defaults to "us".
	Region string `json:"region"`
	// AppID is the Amplitude project id, which the cohort upload requires.
	// Required unless CohortID is set.
	AppID int64 `json:"app_id"`
	// CohortID is the id of the cohort of synthetic identities (from the
	// cohort's URL). Defaults to the cohort named CohortName, found or
	// created on the first AddToList.
	CohortID string `json:"cohort_id"`
	// CohortName names the cohort the publisher finds or creates. Defaults
	// to DefaultCohortName.
	CohortName string `json:"cohort_name"`
	// Owner is the login email of the created cohort's owner. Required
	// unless CohortID is set.
	Owner string `json:"owner"`
	// BatchSize is the number of identities a request carries, 1 to
	// MaxBatchSize. Defaults to DefaultBatchSize; Amplitude recommends at
	// most 10 events a batch on the Starter plan.
	BatchSize int `json:"batch_size"`
}

// endpoints are the hosts of one region.
type endpoints struct {
	identify string // the Identify API
	cohorts  string // the Behavioral Cohorts API
}

var regions = map[string]endpoints{
	RegionUS: {identify: "https://api2.amplitude.com/identify", cohorts: "https://amplitude.com/api/3/cohorts"},
	RegionEU: {identify: "https://api.eu.amplitude.com/identify", cohorts: "https://analytics.eu.amplitude.com/api/3/cohorts"},
}

// decodeSettings decodes raw strictly (tagging.DecodeSettings).
func decodeSettings(raw json.RawMessage) (Settings, error) {
	var s Settings
	return s, tagging.DecodeSettings(raw, &s)
}

// WithDefaults returns s with its unset optional fields filled.
func (s Settings) WithDefaults() Settings {
	s.Region = cmp.Or(strings.ToLower(strings.TrimSpace(s.Region)), RegionUS)
	s.CohortName = cmp.Or(strings.TrimSpace(s.CohortName), DefaultCohortName)
	s.BatchSize = cmp.Or(s.BatchSize, DefaultBatchSize)
	return s
}

// Validate returns a *tagging.ConfigError naming the first bad setting.
func (s Settings) Validate() error {
	bad := func(field, detail string) error {
		return &tagging.ConfigError{Field: "settings." + field, Detail: detail}
	}
	if _, ok := regions[s.Region]; !ok {
		return bad("region", fmt.Sprintf("must be %q or %q (it is %q)", RegionUS, RegionEU, s.Region))
	}
	if s.BatchSize < 1 || s.BatchSize > MaxBatchSize {
		return bad("batch_size", fmt.Sprintf("must be 1 to %d (it is %d)", MaxBatchSize, s.BatchSize))
	}
	if s.CohortID != "" {
		return nil
	}
	if s.AppID <= 0 {
		return bad("app_id", "is required unless settings.cohort_id names an existing cohort: the cohort upload needs the project id")
	}
	if s.Owner == "" {
		return bad("owner", "is required unless settings.cohort_id names an existing cohort: the cohort upload needs its owner's login email")
	}
	if _, err := mail.ParseAddress(s.Owner); err != nil {
		return bad("owner", fmt.Sprintf("must be the login email of an Amplitude user (it is %q)", s.Owner))
	}
	return nil
}

// secrets reads and checks the two secrets; any other secret is refused.
func secrets(in map[string]string) (apiKey, secretKey string, err error) {
	for name := range in {
		if name != SecretAPIKey && name != SecretSecretKey {
			return "", "", &tagging.ConfigError{Field: "secrets." + name,
				Detail: "is not a known secret (Amplitude takes " + SecretAPIKey + " and " + SecretSecretKey + ")"}
		}
	}
	apiKey, secretKey = strings.TrimSpace(in[SecretAPIKey]), strings.TrimSpace(in[SecretSecretKey])
	if apiKey == "" {
		return "", "", &tagging.ConfigError{Field: "secrets." + SecretAPIKey, Detail: "is required (Settings > Projects > the project > General)"}
	}
	if secretKey == "" {
		return "", "", &tagging.ConfigError{Field: "secrets." + SecretSecretKey, Detail: "is required: the Cohorts API authenticates with the API key and the secret key"}
	}
	return apiKey, secretKey, nil
}

// New builds an Amplitude publisher from cfg; see Settings,
// SecretAPIKey and SecretSecretKey. Its errors are *tagging.ConfigError.
func New(cfg tagging.Config) (tagging.Publisher, error) {
	return newPublisher(cfg)
}

var _ tagging.Factory = New

func newPublisher(cfg tagging.Config) (*Publisher, error) {
	s, err := decodeSettings(cfg.Settings)
	if err != nil {
		return nil, err
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	apiKey, secretKey, err := secrets(cfg.Secrets)
	if err != nil {
		return nil, err
	}
	client := cmp.Or(cfg.HTTPClient, &http.Client{Timeout: 30 * time.Second})
	keys := []string{apiKey, secretKey}
	// Identify: a throttled batch pauses ThrottlePause (Retry-After when
	// Amplitude sends one) before each retry, and a batch over the daily
	// quota fails at once (classifyIngest); a pause past the run's deadline
	// ends the run at once (the Sender's rule). MinWait and MaxWait bound the
	// backoff of the other failures (5xx, no answer).
	ingest := tagging.Sender{Vendor: "Amplitude", Client: client, MinWait: ThrottlePause, MaxWait: 60 * time.Second,
		Secrets: keys}
	ingest.Classify = classifyIngest(ingest.Scrubber())
	return &Publisher{
		settings:  s,
		urls:      regions[s.Region],
		apiKey:    apiKey,
		secretKey: secretKey,
		log:       cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)).With(slog.String("destination", cfg.Destination)),
		ingest:    ingest,
		cohorts:   tagging.Sender{Vendor: "Amplitude", Client: client, Secrets: keys},
		cohortID:  s.CohortID,
	}, nil
}
