package fake

import (
	"context"
	"fmt"
	"slices"

	"github.com/understudy-dev/understudy/providers"
)

// surface is what the app answers for one surface.
type surface struct {
	refs []string
	err  error
}

// SetSurface makes Surface(name) answer refs, or err when it is not nil;
// nil refs and nil err make the app not show the surface (ErrNoSurface).
func (a *App) SetSurface(name string, refs []string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.surfaces == nil {
		a.surfaces = map[string]surface{}
	}
	if refs == nil && err == nil {
		delete(a.surfaces, name)
		return
	}
	a.surfaces[name] = surface{refs: slices.Clone(refs), err: err}
}

// Surface implements providers.Surfaces with what SetSurface set.
func (a *App) Surface(ctx context.Context, name string) ([]string, error) {
	if err := a.begin(ctx, func(*Calls) {}); err != nil {
		return nil, err
	}
	defer a.mu.Unlock() // begin returns with it held
	s, ok := a.surfaces[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("surface %q: %w", name, providers.ErrNoSurface)
	case s.err != nil:
		return nil, fmt.Errorf("surface %q: %w", name, s.err)
	}
	return slices.Clone(s.refs), nil
}
