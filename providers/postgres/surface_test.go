package postgres_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/postgres"
)

// withSurfaces returns chirp's settings with surfaces (a JSON object) and
// a surface timeout.
func withSurfaces(surfaces, timeout string) string {
	return strings.TrimSuffix(strings.TrimSpace(chirpSettings), "}") +
		`, "surfaces": ` + surfaces + `, "surface_timeout": "` + timeout + `"}`
}

// TestSurface reads a surface's refs through its query, and refuses a
// query that writes, cuts one that runs long, and names the shape errors.
func TestSurface(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	real, synth := e.createUser(t, false), e.createUser(t, true)
	p := e.newProvider(t, withSurfaces(`{
		"everyone": "SELECT id FROM users WHERE id IN (`+strconv.FormatInt(real.ID, 10)+`, `+strconv.FormatInt(synth.ID, 10)+`) ORDER BY id",
		"writes": "WITH d AS (DELETE FROM users RETURNING id) SELECT id FROM d",
		"sleeps": "SELECT id FROM users, pg_sleep(5) LIMIT 1",
		"two": "SELECT id, username FROM users",
		"nulls": "SELECT NULL::bigint"
	}`, "200ms"))
	var s providers.Surfaces = p
	refs, err := s.Surface(t.Context(), "everyone")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{strconv.FormatInt(real.ID, 10), strconv.FormatInt(synth.ID, 10)}
	if !slices.Equal(refs, want) {
		t.Errorf("refs = %v, want %v", refs, want)
	}
	for _, tc := range []struct {
		surface string
		kind    error
		detail  string
	}{
		{"writes", providers.ErrRefused, "the query writes, and surface queries run in a read-only transaction"},
		{"sleeps", providers.ErrUnavailable, "ran longer than surface_timeout (200ms)"},
		{"two", providers.ErrProtocol, "returns 2 columns, not 1"},
		{"nulls", providers.ErrProtocol, "returned NULL"},
		{"search", providers.ErrNoSurface, `surface "search"`},
	} {
		_, err := s.Surface(t.Context(), tc.surface)
		if !errors.Is(err, tc.kind) || err == nil || !strings.Contains(err.Error(), tc.detail) {
			t.Errorf("Surface(%s) = %v, want %v saying %q", tc.surface, err, tc.kind, tc.detail)
		}
	}
	var n int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM users WHERE id = $1`, real.ID).Scan(&n); err != nil || n != 1 {
		t.Errorf("after the writing query, the real user's rows = %d (%v), want 1", n, err)
	}
}

// TestSurfaceConfig names the surface whose query cannot work, at
// construction (the name, an empty query) and at CheckConfig (the query
// against the app's catalog).
func TestSurfaceConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct{ surfaces, field, detail string }{
		{`{"Leader Boards": "SELECT 1"}`, "settings.surfaces.Leader Boards", "is not a surface name"},
		{`{"feed": " "}`, "settings.surfaces.feed", "has no query"},
	} {
		_, err := providersFactory(t, e, withSurfaces(tc.surfaces, "1s"))
		ce, ok := errors.AsType[*providers.ConfigError](err)
		if !ok || ce.Field != tc.field || !strings.Contains(ce.Detail, tc.detail) {
			t.Errorf("settings %s: %v, want %s %s", tc.surfaces, err, tc.field, tc.detail)
		}
	}
	for _, tc := range []struct{ surfaces, field, detail string }{
		{`{"feed": "SELECT id FROM nowhere"}`, "settings.surfaces.feed", `relation "nowhere" does not exist`},
		{`{"feed": "SELECT id, email FROM users"}`, "settings.surfaces.feed", "returns 2 columns"},
		{`{"feed": "SELECT 1; DELETE FROM users"}`, "settings.surfaces.feed", "cannot be prepared"},
	} {
		err := e.newProvider(t, withSurfaces(tc.surfaces, "1s")).CheckConfig(t.Context())
		ce, ok := errors.AsType[*providers.ConfigError](err)
		if !ok || ce.Field != tc.field || !strings.Contains(ce.Detail, tc.detail) {
			t.Errorf("CheckConfig with %s: %v, want %s %s", tc.surfaces, err, tc.field, tc.detail)
		}
	}
	if err := e.newProvider(t, withSurfaces(`{"feed": "SELECT user_id FROM posts"}`, "1s")).CheckConfig(t.Context()); err != nil {
		t.Errorf("CheckConfig with a good surface: %v", err)
	}
}

// providersFactory builds a provider through the registry's path and
// closes it if it was built.
func providersFactory(t *testing.T, e *env, settings string) (providers.App, error) {
	t.Helper()
	app, err := postgres.Factory(t.Context(), providers.Config{
		App: "chirp", Settings: json.RawMessage(settings), Secrets: map[string]string{"dsn": e.dsn},
	})
	if err == nil {
		t.Cleanup(func() { _ = app.(*postgres.App).Close() })
	}
	return app, err
}
