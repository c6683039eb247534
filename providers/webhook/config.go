package webhook

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"github.com/understudy-dev/understudy/internal/egress"
	"github.com/understudy-dev/understudy/providers"
)

// Limits of the settings.
const (
	// MinSecretSize is the shortest signing secret accepted, in bytes.
	MinSecretSize = 16
	maxTimeout    = 5 * time.Minute
	maxAttempts   = 10
)

// SecretSigningSecret names the one secret of a webhook app.
const SecretSigningSecret = "signing_secret"

// Settings is the JSON settings document of a webhook app.
type Settings struct {
	// BaseURL is where the app serves the contract; "/provision" etc. are
	// appended to it. https, or http only to a loopback host. Required.
	BaseURL string `json:"base_url"`
	// Timeout bounds each attempt, as a Go duration ("10s"). Defaults to "10s".
	Timeout string `json:"timeout"`
	// MaxAttempts counts the first attempt and the retries. Defaults to 4.
	MaxAttempts int `json:"max_attempts"`
	// AllowLinkLocal allows link-local and cloud metadata addresses.
	// Defaults to false.
	AllowLinkLocal bool `json:"allow_link_local"`
	// AllowPrivate allows loopback and private addresses. Defaults to true.
	AllowPrivate *bool `json:"allow_private"`
}

// Config configures a Client. Validate names a bad field by its place in
// the app's config ("settings.base_url", "secrets.signing_secret"), since
// that is where a user fixes it.
type Config struct {
	// App names the app in errors and logs. Defaults to the host of BaseURL.
	App string
	// BaseURL is where the app serves the contract: https (http only to a
	// loopback host), no credentials, query or fragment. Required.
	BaseURL string
	// SigningSecret keys the HMAC signature of every request; at least
	// MinSecretSize bytes. Required.
	SigningSecret []byte
	// Timeout bounds each attempt (at most 5m). Defaults to 10s.
	Timeout time.Duration
	// MaxAttempts counts the first attempt and the retries (1 to 10).
	// Defaults to 4.
	MaxAttempts int
	// AllowLinkLocal allows link-local and cloud metadata addresses.
	// Defaults to false.
	AllowLinkLocal bool
	// AllowPrivate allows loopback and private addresses. Defaults to true:
	// apps often run on private networks.
	AllowPrivate *bool
	// Logger receives retries and, at debug level, every call. Defaults to
	// discarding.
	Logger *slog.Logger
	// Now tells the time, for signatures and Retry-After dates. Defaults
	// to time.Now.
	Now func() time.Time
	// Sleep waits d between attempts, or until ctx is done. Defaults to a
	// timer; tests inject one that records the waits.
	Sleep func(ctx context.Context, d time.Duration) error
}

// WithDefaults returns c with its unset optional fields filled.
func (c Config) WithDefaults() Config {
	if c.App == "" {
		if u, err := url.Parse(c.BaseURL); err == nil {
			c.App = u.Host
		}
	}
	c.App = cmp.Or(c.App, "webhook app")
	c.Timeout = cmp.Or(c.Timeout, 10*time.Second)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, 4)
	c.AllowPrivate = cmp.Or(c.AllowPrivate, new(true))
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	return c
}

// Validate returns a *providers.ConfigError naming the first bad field.
func (c Config) Validate() error {
	if _, err := c.baseURL(); err != nil {
		return err
	}
	if len(c.SigningSecret) == 0 {
		return &providers.ConfigError{Field: "secrets." + SecretSigningSecret, Detail: "is required"}
	}
	if len(c.SigningSecret) < MinSecretSize {
		return &providers.ConfigError{Field: "secrets." + SecretSigningSecret,
			Detail: fmt.Sprintf("must be at least %d bytes (it has %d)", MinSecretSize, len(c.SigningSecret))}
	}
	if c.Timeout <= 0 || c.Timeout > maxTimeout {
		return &providers.ConfigError{Field: "settings.timeout", Detail: fmt.Sprintf("must be above 0 and at most %s (it is %s)", maxTimeout, c.Timeout)}
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > maxAttempts {
		return &providers.ConfigError{Field: "settings.max_attempts", Detail: fmt.Sprintf("must be 1 to %d (it is %d)", maxAttempts, c.MaxAttempts)}
	}
	return nil
}

// baseURL parses BaseURL under egress.CheckURL (https, or http only to a
// loopback host: the requests carry personal data and their signatures)
// and, when its host is an IP literal, checks it against the address policy, so that an obviously forbidden URL fails at
// start-up rather than at the first call.
func (c Config) baseURL() (*url.URL, error) {
	u, err := egress.CheckURL(c.BaseURL)
	if err != nil {
		return nil, &providers.ConfigError{Field: "settings.base_url", Detail: err.Error()}
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		if err := c.policy().check(ip); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func (c Config) policy() addressPolicy {
	return addressPolicy{allowLinkLocal: c.AllowLinkLocal, allowPrivate: c.AllowPrivate == nil || *c.AllowPrivate}
}

// Factory builds a webhook app from its settings and secrets; see Settings
// and SecretSigningSecret. Its errors are *providers.ConfigError.
func Factory(ctx context.Context, cfg providers.Config) (providers.App, error) {
	c, err := configFrom(cfg)
	if err != nil {
		return nil, err
	}
	client, err := New(c)
	if err != nil {
		return nil, err
	}
	return client, nil
}

func configFrom(cfg providers.Config) (Config, error) {
	var s Settings
	if err := providers.DecodeSettings(cfg.Settings, &s); err != nil {
		return Config{}, err
	}
	c := Config{App: cfg.App, BaseURL: s.BaseURL, MaxAttempts: s.MaxAttempts,
		AllowLinkLocal: s.AllowLinkLocal, AllowPrivate: s.AllowPrivate, Logger: cfg.Logger}
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil {
			return Config{}, &providers.ConfigError{Field: "settings.timeout", Detail: fmt.Sprintf("is not a duration such as \"10s\": %q", s.Timeout)}
		}
		if d <= 0 {
			return Config{}, &providers.ConfigError{Field: "settings.timeout", Detail: fmt.Sprintf("must be above 0 (it is %s)", s.Timeout)}
		}
		c.Timeout = d
	}
	if s.MaxAttempts < 0 {
		return Config{}, &providers.ConfigError{Field: "settings.max_attempts", Detail: fmt.Sprintf("must be 1 to %d (it is %d)", maxAttempts, s.MaxAttempts)}
	}
	for name, value := range cfg.Secrets {
		if name != SecretSigningSecret {
			return Config{}, &providers.ConfigError{Field: "secrets." + name, Detail: "is not a known secret (the webhook provider takes only " + SecretSigningSecret + ")"}
		}
		c.SigningSecret = []byte(value)
	}
	return c, nil
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
