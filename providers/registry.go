package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// Config is what a provider is built from: the app's settings (public,
// returned by the API) and its secrets (sealed at rest, never returned).
type Config struct {
	// App names the app, for messages and logs.
	App string
	// Settings is the provider's own JSON settings document.
	Settings json.RawMessage
	// Secrets are named secret values (a signing secret, a DSN).
	Secrets map[string]string
	// Logger receives the provider's logs. Defaults to discarding.
	Logger *slog.Logger
}

// Factory builds an App from its config. It decodes and validates the
// config completely, so a bad config fails here, before any account is
// touched, with a *ConfigError naming the field.
type Factory func(ctx context.Context, cfg Config) (App, error)

// ConfigError names the bad field of a provider config: "provider",
// "settings.users_table", "secrets.signing_secret".
type ConfigError struct {
	Field  string
	Detail string
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Detail }

// Registry maps provider names to factories. It is built explicitly in
// main; there is no global registry and no init() registration.
type Registry struct {
	factories map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]Factory{}} }

// Register adds a provider. It panics on a duplicate name: two providers
// with one name is a programming error.
func (r *Registry) Register(name string, f Factory) {
	if _, dup := r.factories[name]; dup {
		panic("providers: provider " + name + " registered twice")
	}
	r.factories[name] = f
}

// Names lists the registered providers, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.factories))
	for n := range r.factories {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// New builds an app with provider name. An unknown provider is a
// *ConfigError on field "provider".
func (r *Registry) New(ctx context.Context, name string, cfg Config) (App, error) {
	f, ok := r.factories[name]
	if !ok {
		return nil, &ConfigError{Field: "provider", Detail: fmt.Sprintf("unknown provider %q (known: %s)", name, strings.Join(r.Names(), ", "))}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return f(ctx, cfg)
}

// DecodeSettings decodes a settings document into v, refusing unknown
// fields; errors are *ConfigError naming the field.
func DecodeSettings(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field := "settings"
		if ute, ok := err.(*json.UnmarshalTypeError); ok && ute.Field != "" {
			field += "." + ute.Field
		} else if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return &ConfigError{Field: "settings." + strings.Trim(name, `"`), Detail: "is not a known setting"}
		}
		return &ConfigError{Field: field, Detail: err.Error()}
	}
	return nil
}
