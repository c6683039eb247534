// Package chirptest runs the provider conformance suite with chirp behind
// a provider: it gives a fresh chirp, and the providertest.Harness that
// reaches chirp both through the provider under test and directly (chirp's
// Go API to change state, its tables to read it back).
package chirptest

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/providertest"
)

// Secret is the webhook signing secret of the chirps New makes.
var Secret = []byte("chirp-webhook-secret-for-tests")

// New returns chirp on a migrated database of its own, and the pool. It
// hashes passwords at bcrypt's cheapest cost: the default cost takes a
// second a hash under the race detector.
func New(t *testing.T) (*chirp.App, *pgxpool.Pool) {
	t.Helper()
	pool := dbtest.NewPool(t)
	if err := chirp.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("chirp.Migrate: %v", err)
	}
	app, err := chirp.New(chirp.Config{DB: pool, WebhookSecret: Secret, PasswordCost: bcrypt.MinCost})
	if err != nil {
		t.Fatalf("chirp.New: %v", err)
	}
	return app, pool
}

// Harness reaches chirp through provider, and directly through its Go API
// (Mutate, RealUser) and its tables (Fingerprint).
func Harness(provider providers.App, app *chirp.App, pool *pgxpool.Pool) providertest.Harness {
	var n atomic.Int64
	return providertest.Harness{
		App: provider,
		Mutate: func(t *testing.T, ref string) {
			t.Helper()
			if err := mutate(t, app, RefID(t, ref), n.Add(1)); err != nil {
				t.Fatalf("mutating chirp user %s: %v", ref, err)
			}
		},
		RealUser: func(t *testing.T) string { return strconv.FormatInt(RealUser(t, app), 10) },
		Fingerprint: func(t *testing.T, ref string) string {
			t.Helper()
			var s string
			if err := pool.QueryRow(t.Context(), fingerprintSQL, RefID(t, ref)).Scan(&s); err != nil {
				t.Fatalf("fingerprinting chirp user %s: %v", ref, err)
			}
			return s
		},
		OwnerChecked: true,
	}
}

// mutate changes a user's state in every per-user table.
func mutate(t *testing.T, app *chirp.App, id, i int64) error {
	ctx, friend := t.Context(), RealUser(t, app)
	post, err := app.Post(ctx, id, fmt.Sprintf("post number %d", i))
	if err == nil {
		err = app.Like(ctx, id, post)
	}
	if err == nil {
		err = app.Follow(ctx, id, friend)
	}
	if err == nil {
		err = app.AddToCart(ctx, id, fmt.Sprintf("sku-%d", i), int(i))
	}
	return err
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

// RealUser signs a real (not synthetic) user up and returns its id.
func RealUser(t *testing.T, app *chirp.App) int64 {
	t.Helper()
	name := "user_" + rand.Text()[:10]
	u, err := app.CreateUser(t.Context(), chirp.NewUser{Username: name, Email: name + "@example.com", DisplayName: "Some One"})
	if err != nil {
		t.Fatalf("creating a chirp user: %v", err)
	}
	return u.ID
}

// RefID parses a chirp ref.
func RefID(t *testing.T, ref string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		t.Fatalf("chirp ref %q is not a user id", ref)
	}
	return id
}
