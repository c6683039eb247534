package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/tagging"
)

// urlSetting is one URL setting of a destination kind or an app provider,
// with the other settings and secrets it needs to build.
type urlSetting struct {
	kind, field string
	settings    map[string]any
	secrets     map[string]string
}

var signing = map[string]string{"signing_secret": "0123456789abcdef0123"}

// destinationURLs lists every URL setting of every destination kind.
// Amplitude takes a region, not a URL.
var destinationURLs = []urlSetting{
	{"posthog", "ingest_host", map[string]any{"project_id": 1}, map[string]string{"project_api_key": "phc_x"}},
	{"posthog", "app_host", map[string]any{"project_id": 1}, map[string]string{"project_api_key": "phc_x"}},
	{"mixpanel", "ingest_url", map[string]any{}, map[string]string{"project_token": "tok"}},
	{"mixpanel", "query_url", map[string]any{}, map[string]string{"project_token": "tok"}},
	{"segment", "tracking_url", map[string]any{}, map[string]string{"write_key": "wk"}},
	{"segment", "api_url", map[string]any{}, map[string]string{"write_key": "wk"}},
	{"webhook", "base_url", map[string]any{}, signing},
}

// appURLs lists every URL setting of every app provider (exec runs a
// command and postgres takes a DSN secret: neither has a base URL).
var appURLs = []urlSetting{
	{"webhook", "base_url", map[string]any{}, signing},
}

func (u urlSetting) with(url string) map[string]any {
	s := map[string]any{u.field: url}
	for k, v := range u.settings {
		s[k] = v
	}
	return s
}

// TestOneCleartextRule builds every destination kind and app provider
// with each of its URL settings: http to a host that is not loopback is
// refused naming the setting; http to loopback and https are accepted.
func TestOneCleartextRule(t *testing.T) {
	t.Parallel()
	dests, apps := newDestinationRegistry(), newRegistry()
	build := func(app bool, u urlSetting, url string) error {
		raw, _ := json.Marshal(u.with(url))
		if app {
			_, err := apps.New(t.Context(), u.kind, providers.Config{App: "shop", Settings: raw, Secrets: u.secrets})
			return err
		}
		_, err := dests.New(u.kind, tagging.Config{Destination: "d", Settings: raw, Secrets: u.secrets})
		return err
	}
	for _, app := range []bool{false, true} {
		list := destinationURLs
		if app {
			list = appURLs
		}
		for _, u := range list {
			for _, url := range []string{"http://api.example.test", "http://10.0.0.7:8080", "http://localhost.example.test"} {
				err := build(app, u, url)
				field := ""
				if ce, ok := errors.AsType[*tagging.ConfigError](err); ok {
					field = ce.Field
				} else if ce, ok := errors.AsType[*providers.ConfigError](err); ok {
					field = ce.Field
				}
				if field != "settings."+u.field || !strings.Contains(err.Error(), "https") {
					t.Errorf("%s %s = %s: %v, want a refusal naming settings.%s", u.kind, u.field, url, err, u.field)
				}
			}
			for _, url := range []string{"http://127.0.0.1:9000", "http://localhost:9000", "http://[::1]:9000", "https://api.example.test"} {
				if err := build(app, u, url); err != nil {
					t.Errorf("%s %s = %s: %v, want it accepted", u.kind, u.field, url, err)
				}
			}
		}
	}
}

// TestCleartextRefusedAtAttach: the REST doors answer 422 naming the
// setting, for a destination and for an app.
func TestCleartextRefusedAtAttach(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	ctx := context.Background()
	admin := s.client(t, s.Admin)
	for _, u := range destinationURLs {
		settings, secrets := u.with("http://api.example.test"), u.secrets
		r, err := admin.AttachDestinationWithResponse(ctx, "production", openapi.DestinationAttach{Name: "d", Kind: u.kind, Settings: &settings, Secrets: &secrets})
		if err != nil || r.StatusCode() != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "settings."+u.field) {
			t.Errorf("attach %s with http %s: %v %d %s, want 422 naming settings.%s", u.kind, u.field, err, r.StatusCode(), r.Body, u.field)
		}
	}
	for _, u := range appURLs {
		settings, secrets := u.with("http://app.example.test/understudy"), u.secrets
		r, err := admin.AttachAppWithResponse(ctx, "production", openapi.AppAttach{Name: "shop", Provider: u.kind, Settings: &settings, Secrets: &secrets})
		if err != nil || r.StatusCode() != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "settings."+u.field) {
			t.Errorf("attach app %s with http %s: %v %d %s, want 422 naming settings.%s", u.kind, u.field, err, r.StatusCode(), r.Body, u.field)
		}
	}
}
