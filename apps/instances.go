package apps

import (
	"context"
	"sync"
	"time"

	"github.com/understudy-dev/understudy/providers"
)

// LiveRef is an account's ref in one app together with the live provider
// instance of that app: what resets, captures and provisioning call.
type LiveRef struct {
	AppID   string
	AppName string
	// App is the provider instance, built from the app's settings and
	// secrets and kept while the app is unchanged.
	App providers.App
	Ref string
}

// instances keeps one built provider per app, rebuilt when the app changes.
type instances struct {
	mu   sync.Mutex
	byID map[string]instance
}

type instance struct {
	updatedAt time.Time
	app       providers.App
}

// appInstance returns the provider instance of a, building it (with its
// secrets opened) when a is new or has changed since it was built.
func (s *Service) appInstance(ctx context.Context, a App) (providers.App, error) {
	s.apps.mu.Lock()
	inst, ok := s.apps.byID[a.ID]
	s.apps.mu.Unlock()
	if ok && inst.updatedAt.Equal(a.UpdatedAt) {
		return inst.app, nil
	}
	secrets, err := s.openSecrets(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	built, err := s.registry.New(ctx, a.Provider, providers.Config{App: a.Name, Settings: a.Settings, Secrets: secrets, Logger: s.logger})
	if err != nil {
		return nil, err
	}
	s.apps.mu.Lock()
	defer s.apps.mu.Unlock()
	if old, ok := s.apps.byID[a.ID]; ok {
		if old.updatedAt.After(a.UpdatedAt) || old.updatedAt.Equal(a.UpdatedAt) {
			closeApp(built)
			return old.app, nil
		}
		closeApp(old.app)
	}
	s.apps.byID[a.ID] = instance{updatedAt: a.UpdatedAt, app: built}
	return built, nil
}

// forgetApp closes and drops the instance of app id.
func (s *Service) forgetApp(id string) {
	s.apps.mu.Lock()
	defer s.apps.mu.Unlock()
	if old, ok := s.apps.byID[id]; ok {
		closeApp(old.app)
		delete(s.apps.byID, id)
	}
}

// Close releases every provider instance.
func (s *Service) Close() {
	s.apps.mu.Lock()
	defer s.apps.mu.Unlock()
	for id, inst := range s.apps.byID {
		closeApp(inst.app)
		delete(s.apps.byID, id)
	}
}

func closeApp(a providers.App) {
	if c, ok := a.(providers.Closer); ok {
		_ = c.Close()
	}
}

// Instance returns the live provider instance of app a, built from its
// settings and secrets, or the one built before while a is unchanged.
func (s *Service) Instance(ctx context.Context, a App) (providers.App, error) {
	return s.appInstance(ctx, a)
}
