package webhook_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/examples/chirp/chirptest"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/providertest"
	"github.com/understudy-dev/understudy/providers/webhook"
)

// TestConformance runs the provider suite against chirp's webhook contract,
// served over HTTP, with a database of its own.
func TestConformance(t *testing.T) {
	t.Parallel()
	app, pool := newChirp(t)
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	provider, err := webhook.Factory(t.Context(), providers.Config{
		App:      "chirp",
		Settings: json.RawMessage(fmt.Sprintf(`{"base_url": %q, "timeout": "30s"}`, srv.URL+"/understudy")),
		Secrets:  map[string]string{"signing_secret": string(chirpSecret)},
	})
	if err != nil {
		t.Fatalf("webhook.Factory: %v", err)
	}
	providertest.Run(t, func(t *testing.T) providertest.Harness { return chirptest.Harness(provider, app, pool) })
}

// TestChirpTest runs Test against chirp, then against chirp with another
// secret and chirp down.
func TestChirpTest(t *testing.T) {
	t.Parallel()
	app, _ := newChirp(t)
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	c, clk := newClient(t, srv.URL+"/understudy", func(c *webhook.Config) { c.SigningSecret, c.Now = chirpSecret, time.Now })
	if err := c.Test(t.Context()); err != nil {
		t.Errorf("Test against chirp: %v", err)
	}
	wrong, _ := newClient(t, srv.URL+"/understudy", func(c *webhook.Config) { c.Now = time.Now })
	if err := wrong.Test(t.Context()); err == nil {
		t.Error("Test with the wrong secret passed")
	}
	app.SetDown(true)
	if err := c.Test(t.Context()); err == nil {
		t.Error("Test of chirp down passed")
	}
	if n := len(clk.Waits()); n != 3 {
		t.Errorf("chirp down: %d retries, want 3", n)
	}
}

var chirpSecret = chirptest.Secret

func newChirp(t *testing.T) (*chirp.App, *pgxpool.Pool) { return chirptest.New(t) }
