package webhook_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/dbtest"
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
	providertest.Run(t, func(t *testing.T) providertest.Harness { return chirpHarness(provider, app, pool) })
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

var chirpSecret = []byte("chirp-webhook-secret-for-tests")

func newChirp(t *testing.T) (*chirp.App, *pgxpool.Pool) {
	t.Helper()
	pool := dbtest.NewPool(t)
	if err := chirp.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("chirp.Migrate: %v", err)
	}
	app, err := chirp.New(chirp.Config{DB: pool, WebhookSecret: chirpSecret})
	if err != nil {
		t.Fatalf("chirp.New: %v", err)
	}
	return app, pool
}

// chirpHarness reaches chirp through provider, and directly through its Go
// API (Mutate, RealUser) and its tables (Fingerprint). The exec provider's
// test has the same harness: see the report on sharing it.
func chirpHarness(provider providers.App, app *chirp.App, pool *pgxpool.Pool) providertest.Harness {
	var n atomic.Int64
	return providertest.Harness{
		App: provider,
		Mutate: func(t *testing.T, ref string) {
			t.Helper()
			ctx, id, i := t.Context(), refID(t, ref), n.Add(1)
			friend := chirpUser(t, app)
			post, err := app.Post(ctx, id, fmt.Sprintf("post number %d", i))
			if err == nil {
				err = app.Like(ctx, id, post)
			}
			if err == nil {
				err = app.Follow(ctx, id, friend)
			}
			if err == nil {
				err = app.Follow(ctx, friend, id) // a notification
			}
			if err == nil {
				err = app.AddToCart(ctx, id, fmt.Sprintf("sku-%d", i), int(i))
			}
			if err != nil {
				t.Fatalf("mutating chirp user %s: %v", ref, err)
			}
		},
		RealUser: func(t *testing.T) string { return strconv.FormatInt(chirpUser(t, app), 10) },
		Fingerprint: func(t *testing.T, ref string) string {
			t.Helper()
			var s string
			if err := pool.QueryRow(t.Context(), fingerprintSQL, refID(t, ref)).Scan(&s); err != nil {
				t.Fatalf("fingerprinting chirp user %s: %v", ref, err)
			}
			return s
		},
		OwnerChecked: true,
	}
}

// fingerprintSQL renders a user's rows of every per-user table of chirp.
const fingerprintSQL = `SELECT concat_ws(E'\n',
	(SELECT format('profile %s|%s', bio, avatar_url) FROM profiles WHERE user_id = $1),
	(SELECT format('score %s', points) FROM scores WHERE user_id = $1),
	(SELECT string_agg(format('post %s|%s|%s', id, body, created_at), E'\n' ORDER BY id) FROM posts WHERE user_id = $1),
	(SELECT string_agg(format('follow %s|%s', followee_id, created_at), E'\n' ORDER BY followee_id) FROM follows WHERE follower_id = $1),
	(SELECT string_agg(format('like %s', post_id), E'\n' ORDER BY post_id) FROM likes WHERE user_id = $1),
	(SELECT string_agg(format('notification %s|%s|%s|%s|%s', id, kind, body, read, created_at), E'\n' ORDER BY id)
		FROM notifications WHERE user_id = $1),
	(SELECT string_agg(format('cart %s|%s', sku, quantity), E'\n' ORDER BY sku COLLATE "C") FROM cart_items WHERE user_id = $1))`

// chirpUser signs a real (not synthetic) user up and returns its id.
func chirpUser(t *testing.T, app *chirp.App) int64 {
	t.Helper()
	name := "user_" + rand.Text()[:10]
	u, err := app.CreateUser(t.Context(), chirp.NewUser{Username: name, Email: name + "@example.com", DisplayName: "Some One", IsSynthetic: false})
	if err != nil {
		t.Fatalf("creating a chirp user: %v", err)
	}
	return u.ID
}

func refID(t *testing.T, ref string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		t.Fatalf("chirp ref %q is not a user id", ref)
	}
	return id
}
