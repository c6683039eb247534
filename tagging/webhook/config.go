package webhook

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

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

// baseURL parses BaseURL: https, or http on a loopback host (a destination
// beside the server); no credentials, query or fragment.
func (s Settings) baseURL() (*url.URL, error) {
	bad := func(detail string) error { return &tagging.ConfigError{Field: "settings.base_url", Detail: detail} }
	if s.BaseURL == "" {
		return nil, bad("is required")
	}
	u, err := url.Parse(s.BaseURL)
	switch {
	case err != nil:
		return nil, bad("is not a URL")
	case u.Hostname() == "":
		return nil, bad("has no host")
	case u.User != nil:
		return nil, bad("must not hold credentials: settings are not secret, and the signature authenticates the requests")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, bad("must not have a query or a fragment")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, bad("must be https (http is allowed only on a loopback host such as 127.0.0.1): the identities are personal data")
	default:
		return nil, bad(fmt.Sprintf("must be an https URL (it is %q)", s.BaseURL))
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.Unmap().IsLoopback()
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
