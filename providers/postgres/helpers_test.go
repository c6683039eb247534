package postgres_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/postgres"
	"github.com/understudy-dev/understudy/providers/providertest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// chirpSettings drive chirp's tables.
const chirpSettings = chirp.PostgresProviderSettings

// env is one test's chirp, in a database of its own, and a postgres
// provider driving its tables.
type env struct {
	dsn      string
	pool     *pgxpool.Pool // the test's own pool, to act as chirp and to read
	chirp    *chirp.App
	provider *postgres.App
	n        atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dsn: dbtest.NewDatabase(t)}
	var err error
	if e.pool, err = pgxpool.New(t.Context(), e.dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.pool.Close)
	if err := chirp.Migrate(t.Context(), e.pool); err != nil {
		t.Fatal(err)
	}
	if e.chirp, err = chirp.New(chirp.Config{DB: e.pool}); err != nil {
		t.Fatal(err)
	}
	e.provider = e.newProvider(t, chirpSettings)
	return e
}

// newProvider builds a provider on the env's database through the
// registry's path, closed when the test ends.
func (e *env) newProvider(t *testing.T, settings string) *postgres.App {
	t.Helper()
	app, err := postgres.Factory(t.Context(), providers.Config{
		App: "chirp", Settings: json.RawMessage(settings), Secrets: map[string]string{"dsn": e.dsn},
	})
	if err != nil {
		t.Fatalf("building the provider: %v", err)
	}
	p := app.(*postgres.App)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func (e *env) harness() providertest.Harness {
	return providertest.Harness{
		App:          e.provider,
		Mutate:       e.mutate,
		RealUser:     e.realUser,
		Fingerprint:  e.fingerprint,
		OwnerChecked: true,
	}
}

// mutate acts as the user in chirp, in every per-user table: a post that
// the user likes, a new followee who likes it back (a notification), a
// cart line and points.
func (e *env) mutate(t *testing.T, ref string) {
	t.Helper()
	ctx, id := t.Context(), refID(t, ref)
	user, err := e.chirp.GetUser(ctx, id)
	if err != nil {
		t.Fatalf("reading user %s: %v", ref, err)
	}
	n := e.n.Add(1)
	friend := e.createUser(t, user.IsSynthetic)
	post, err := e.chirp.Post(ctx, id, "post number "+strconv.FormatInt(n, 10))
	if err != nil {
		t.Fatalf("posting: %v", err)
	}
	steps := []struct {
		what string
		err  error
	}{
		{"liking", e.chirp.Like(ctx, id, post)},
		{"following", e.chirp.Follow(ctx, id, friend.ID)},
		{"being liked", e.chirp.Like(ctx, friend.ID, post)},
		{"adding to the cart", e.chirp.AddToCart(ctx, id, "sku-"+strconv.FormatInt(n, 10), 2)},
		{"adding points", e.chirp.AddPoints(ctx, id, 7)},
	}
	for _, s := range steps {
		if s.err != nil {
			t.Fatalf("%s: %v", s.what, s.err)
		}
	}
}

func (e *env) realUser(t *testing.T) string {
	t.Helper()
	return strconv.FormatInt(e.createUser(t, false).ID, 10)
}

func (e *env) createUser(t *testing.T, synthetic bool) chirp.User {
	t.Helper()
	suffix := randomHex()
	u, err := e.chirp.CreateUser(t.Context(), chirp.NewUser{
		Username: "person_" + suffix, Email: "person-" + suffix + "@example.com",
		DisplayName: "Person " + suffix, IsSynthetic: synthetic,
	})
	if err != nil {
		t.Fatalf("creating a chirp user: %v", err)
	}
	return u
}

// fingerprintSQL reads a user's rows in every table straight from chirp,
// in an order of its own, without the provider's code.
const fingerprintSQL = `SELECT json_build_object(
	'user', (SELECT row_to_json(u) FROM users u WHERE u.id = $1),
	'profiles', (SELECT json_agg(p ORDER BY p.user_id) FROM profiles p WHERE p.user_id = $1),
	'posts', (SELECT json_agg(p ORDER BY p.id) FROM posts p WHERE p.user_id = $1),
	'follows', (SELECT json_agg(f ORDER BY f.followee_id) FROM follows f WHERE f.follower_id = $1),
	'likes', (SELECT json_agg(l ORDER BY l.post_id) FROM likes l WHERE l.user_id = $1),
	'scores', (SELECT json_agg(s) FROM scores s WHERE s.user_id = $1),
	'notifications', (SELECT json_agg(n ORDER BY n.id) FROM notifications n WHERE n.user_id = $1),
	'cart_items', (SELECT json_agg(c ORDER BY c.sku) FROM cart_items c WHERE c.user_id = $1)
)::text`

func (e *env) fingerprint(t *testing.T, ref string) string {
	t.Helper()
	var s string
	if err := e.pool.QueryRow(t.Context(), fingerprintSQL, refID(t, ref)).Scan(&s); err != nil {
		t.Fatalf("fingerprinting user %s: %v", ref, err)
	}
	return s
}

func refID(t *testing.T, ref string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		t.Fatalf("ref %q is not a chirp user id", ref)
	}
	return id
}

func randomHex() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
