package webhook

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/understudy-dev/understudy/internal/egress"
	"github.com/understudy-dev/understudy/tagging"
)

// Kind names this publisher in a destination's configuration.
const Kind = "webhook"

// SecretSigningSecret names the one secret: the HMAC key of the signature.
const SecretSigningSecret = "signing_secret"

// Limits of the settings.
const (
	// DefaultBatchSize is the default number of identities a request carries.
	DefaultBatchSize = 500
	// MaxBatchSize is the most identities a request may carry (the
	// contract's maxItems).
	MaxBatchSize = 10000
	// MinSecretSize is the shortest signing secret accepted, in bytes, as
	// for the app webhook.
	MinSecretSize = 16
)

// Settings is the JSON settings document of a webhook destination.
type Settings struct {
	// BaseURL is where the destination serves the contract; "/mark" etc.
	// are appended. https, or http only on a loopback host. Required.
	BaseURL string `json:"base_url"`
	// BatchSize is the number of identities a request carries, 1 to
	// MaxBatchSize. Defaults to DefaultBatchSize.
	BatchSize int `json:"batch_size"`
}

// decodeSettings decodes raw strictly (tagging.DecodeSettings).
func decodeSettings(raw json.RawMessage) (Settings, error) {
	var s Settings
	return s, tagging.DecodeSettings(raw, &s)
}

// WithDefaults returns s with its unset optional fields filled.
func (s Settings) WithDefaults() Settings {
	s.BatchSize = cmp.Or(s.BatchSize, DefaultBatchSize)
	return s
}

// Validate returns a *tagging.ConfigError naming the first bad setting.
func (s Settings) Validate() error {
	if _, err := s.baseURL(); err != nil {
		return err
	}
	if s.BatchSize < 1 || s.BatchSize > MaxBatchSize {
		return &tagging.ConfigError{Field: "settings.batch_size", Detail: fmt.Sprintf("must be 1 to %d (it is %d)", MaxBatchSize, s.BatchSize)}
	}
	return nil
}

// baseURL parses BaseURL under egress.CheckURL: https, or http only to a
// loopback host (a destination beside the server); no credentials, query
// or fragment.
func (s Settings) baseURL() (*url.URL, error) {
	u, err := egress.CheckURL(s.BaseURL)
	if err != nil {
		return nil, &tagging.ConfigError{Field: "settings.base_url", Detail: err.Error()}
	}
	return u, nil
}

// secret reads the signing secret; any other secret is refused.
func secret(in map[string]string) ([]byte, error) {
	for name := range in {
		if name != SecretSigningSecret {
			return nil, &tagging.ConfigError{Field: "secrets." + name, Detail: "is not a known secret (the webhook publisher takes only " + SecretSigningSecret + ")"}
		}
	}
	sec := in[SecretSigningSecret]
	switch {
	case sec == "":
		return nil, &tagging.ConfigError{Field: "secrets." + SecretSigningSecret, Detail: "is required"}
	case len(sec) < MinSecretSize:
		return nil, &tagging.ConfigError{Field: "secrets." + SecretSigningSecret,
			Detail: fmt.Sprintf("must be at least %d bytes (it has %d)", MinSecretSize, len(sec))}
	}
	return []byte(sec), nil
}
