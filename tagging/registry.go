package tagging

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Registry maps destination kinds to the factories of their publishers.
// It is built explicitly in main (no init registration) and is read-only
// once the server starts.
type Registry struct {
	factories map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]Factory{}} }

// Register adds the factory of kind. It panics when kind is empty or
// registered already: that is a wiring mistake in main.
func (r *Registry) Register(kind string, f Factory) {
	if kind == "" || f == nil {
		panic("tagging: Register needs a kind and a factory")
	}
	if _, dup := r.factories[kind]; dup {
		panic("tagging: destination kind " + kind + " is registered twice")
	}
	r.factories[kind] = f
}

// Kinds returns the registered kinds, sorted.
func (r *Registry) Kinds() []string { return slices.Sorted(maps.Keys(r.factories)) }

// New builds a publisher of kind from cfg. An unknown kind is a
// *ConfigError on "kind"; the factory's own *ConfigError names a setting
// or secret.
func (r *Registry) New(kind string, cfg Config) (Publisher, error) {
	f, ok := r.factories[kind]
	if !ok {
		return nil, &ConfigError{Field: "kind", Detail: fmt.Sprintf("unknown destination kind %q (known: %s)", kind, strings.Join(r.Kinds(), ", "))}
	}
	return f(cfg)
}
