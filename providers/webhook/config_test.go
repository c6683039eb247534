package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/webhook"
)

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	good := `"base_url":"https://app.internal/understudy"`
	cases := []struct {
		name     string
		settings string
		secrets  map[string]string
		field    string
	}{
		{"no base_url", `{}`, nil, "settings.base_url"},
		{"not http", `{"base_url":"ftp://app.internal/"}`, nil, "settings.base_url"},
		{"no host", `{"base_url":"http:///understudy"}`, nil, "settings.base_url"},
		{"relative", `{"base_url":"/understudy"}`, nil, "settings.base_url"},
		{"credentials", `{"base_url":"https://u:p@app.internal/"}`, nil, "settings.base_url"},
		{"query", `{"base_url":"https://app.internal/?x=1"}`, nil, "settings.base_url"},
		{"metadata address", `{"base_url":"https://169.254.169.254/"}`, nil, "settings.allow_link_local"},
		{"link-local address", `{"base_url":"https://[fe80::1]/"}`, nil, "settings.allow_link_local"},
		{"unspecified address", `{"base_url":"https://0.0.0.0:8080/"}`, nil, "settings.base_url"},
		{"cleartext to a private host", `{"base_url":"http://10.1.2.3/understudy"}`, nil, "settings.base_url"},
		{"cleartext to a named host", `{"base_url":"http://app.internal/understudy"}`, nil, "settings.base_url"},
		{"loopback refused", `{"base_url":"http://127.0.0.1:8080/","allow_private":false}`, nil, "settings.allow_private"},
		{"bad timeout", `{` + good + `,"timeout":"ten seconds"}`, nil, "settings.timeout"},
		{"negative timeout", `{` + good + `,"timeout":"-1s"}`, nil, "settings.timeout"},
		{"huge timeout", `{` + good + `,"timeout":"1h"}`, nil, "settings.timeout"},
		{"timeout as a number", `{` + good + `,"timeout":10}`, nil, "settings.timeout"},
		{"negative max_attempts", `{` + good + `,"max_attempts":-1}`, nil, "settings.max_attempts"},
		{"too many attempts", `{` + good + `,"max_attempts":11}`, nil, "settings.max_attempts"},
		{"max_attempts as a string", `{` + good + `,"max_attempts":"4"}`, nil, "settings.max_attempts"},
		{"unknown setting", `{` + good + `,"baseurl":"x"}`, nil, "settings.baseurl"},
		{"no secret", `{` + good + `}`, map[string]string{}, "secrets.signing_secret"},
		{"short secret", `{` + good + `}`, map[string]string{"signing_secret": "tooshort"}, "secrets.signing_secret"},
		{"unknown secret", `{` + good + `}`, map[string]string{"signing_secret": string(secret), "signing_key": "x"}, "secrets.signing_key"},
	}
	for _, tc := range cases {
		secrets := tc.secrets
		if secrets == nil {
			secrets = map[string]string{"signing_secret": string(secret)}
		}
		app, err := webhook.Factory(t.Context(), providers.Config{App: "shop", Settings: json.RawMessage(tc.settings), Secrets: secrets})
		ce, ok := errors.AsType[*providers.ConfigError](err)
		if app != nil || !ok || ce.Field != tc.field {
			t.Errorf("%s: Factory = %v, %v; want a ConfigError on %s", tc.name, app, err, tc.field)
			continue
		}
		if strings.Contains(err.Error(), "tooshort") {
			t.Errorf("%s: error %q holds the secret", tc.name, err)
		}
	}

	app, err := webhook.Factory(t.Context(), providers.Config{App: "shop",
		Settings: json.RawMessage(`{"base_url":"https://app.internal/understudy","timeout":"3s","max_attempts":2,"allow_link_local":false,"allow_private":true}`),
		Secrets:  map[string]string{"signing_secret": string(secret)}})
	if _, isClient := app.(*webhook.Client); err != nil || !isClient {
		t.Errorf("Factory of a good config = %v, %v; want a *webhook.Client", app, err)
	}
	// Cleartext is accepted only where nothing crosses a network.
	for _, base := range []string{"http://127.0.0.1:8080/understudy", "http://localhost:8080", "http://[::1]:9000", "https://10.1.2.3/understudy"} {
		app, err := webhook.Factory(t.Context(), providers.Config{App: "shop",
			Settings: json.RawMessage(`{"base_url":"` + base + `"}`), Secrets: map[string]string{"signing_secret": string(secret)}})
		if app == nil || err != nil {
			t.Errorf("Factory with base_url %s = %v, %v; want it accepted", base, app, err)
		}
	}
}

// TestRefusedAddressSendsNothing resolves a name to a loopback address
// that allow_private=false forbids: the check runs at dial time, after DNS,
// so no request reaches the app, and the refusal is not retried.
func TestRefusedAddressSendsNothing(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) { verified(w) })
	url := strings.Replace(a.URL, "127.0.0.1", "localhost", 1)
	c, clk := newClient(t, url, func(c *webhook.Config) { c.AllowPrivate = new(false) })
	err := c.Verify(t.Context(), target)
	ce, ok := errors.AsType[*providers.ConfigError](err)
	if !ok || ce.Field != "settings.allow_private" || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("Verify of a loopback app with allow_private=false: %v, want a ConfigError naming 127.0.0.1 and settings.allow_private", err)
	}
	if n := len(a.requests()); n != 0 {
		t.Errorf("the app got %d requests, want none", n)
	}
	if n := len(clk.Waits()); n != 0 {
		t.Errorf("the refusal was retried %d times, want never", n)
	}

	c, _ = newClient(t, url, nil) // loopback is allowed by default
	if err := c.Verify(t.Context(), target); err != nil {
		t.Errorf("Verify of a loopback app by default: %v, want nil", err)
	}
}

func ExampleFactory() {
	app, err := webhook.Factory(context.Background(), providers.Config{
		App:      "shop",
		Settings: json.RawMessage(`{"base_url": "https://shop.internal/understudy", "timeout": "5s"}`),
		Secrets:  map[string]string{"signing_secret": "0123456789abcdef0123"},
	})
	fmt.Printf("%T %v\n", app, err)
	// Output: *webhook.Client <nil>
}
