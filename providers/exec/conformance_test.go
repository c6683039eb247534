package exec_test

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/exec"
	"github.com/understudy-dev/understudy/providers/providertest"
)

// binDir holds the programs that the tests build; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "understudy-exec-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

var (
	adapterOnce sync.Once
	adapterPath string
	adapterErr  error
)

// chirpExec builds chirp's exec adapter, once per test binary.
func chirpExec(t *testing.T) string {
	t.Helper()
	adapterOnce.Do(func() {
		adapterPath = filepath.Join(binDir, "chirp-exec")
		cmd := osexec.Command("go", "build", "-o", adapterPath, "github.com/understudy-dev/understudy/examples/chirp/cmd/chirp-exec")
		if out, err := cmd.CombinedOutput(); err != nil {
			adapterErr = fmt.Errorf("go build chirp-exec: %v\n%s", err, out)
		}
	})
	if adapterErr != nil {
		t.Fatal(adapterErr)
	}
	return adapterPath
}

// newChirpProgram is an exec provider running chirp-exec on a fresh chirp
// database, and chirp's Go API on the same database.
func newChirpProgram(t *testing.T) (providers.App, *chirp.App, *pgxpool.Pool) {
	t.Helper()
	pool := dbtest.NewPool(t)
	if err := chirp.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("chirp.Migrate: %v", err)
	}
	app, err := chirp.New(chirp.Config{DB: pool})
	if err != nil {
		t.Fatalf("chirp.New: %v", err)
	}
	settings, _ := json.Marshal(exec.Settings{Command: []string{chirpExec(t)}, Timeout: "30s"})
	provider, err := exec.Factory(t.Context(), providers.Config{
		App:      "chirp",
		Settings: settings,
		Secrets:  map[string]string{"CHIRP_DATABASE_URL": pool.Config().ConnString()},
	})
	if err != nil {
		t.Fatalf("exec.Factory: %v", err)
	}
	return provider, app, pool
}

// TestConformance runs the provider suite against chirp's exec adapter.
func TestConformance(t *testing.T) {
	t.Parallel()
	provider, app, pool := newChirpProgram(t)
	providertest.Run(t, func(t *testing.T) providertest.Harness { return chirpHarness(provider, app, pool) })
}

func TestChirpExecTest(t *testing.T) {
	t.Parallel()
	provider, _, _ := newChirpProgram(t)
	if err := provider.(providers.Tester).Test(t.Context()); err != nil {
		t.Errorf("Test of chirp-exec: %v", err)
	}

	// The database is gone: the adapter answers "unavailable", and the
	// message does not show the URL, which holds a password in real life.
	const url = "postgres://chirp:Zq9-s3cr3t-Xw7@127.0.0.1:1/chirp?connect_timeout=2"
	p, err := exec.New(exec.Config{App: "chirp", Command: []string{chirpExec(t)}, Secrets: map[string]string{"CHIRP_DATABASE_URL": url}})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Test(t.Context())
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("Test of chirp-exec without its database: %v, want ErrUnavailable", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q shows the database password", err)
	}
}

// chirpHarness reaches chirp through provider, and directly through its Go
// API (Mutate, RealUser) and its tables (Fingerprint). The webhook
// provider's test has the same harness: see the report on sharing it.
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
