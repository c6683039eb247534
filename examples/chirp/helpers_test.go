package chirp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/webhook/signature"
)

var testSecret = []byte("chirp-test-secret")

// env is one test's chirp: a fresh database, the App, and its HTTP server.
type env struct {
	t    *testing.T
	app  *chirp.App
	pool *pgxpool.Pool
	srv  *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with configure applied to chirp's Config, whose
// BaseURL is already the test server's.
func newEnvWith(t *testing.T, configure func(*chirp.Config)) *env {
	t.Helper()
	pool := dbtest.NewPool(t)
	if err := chirp.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	srv := httptest.NewUnstartedServer(nil)
	// The cheapest bcrypt cost: hashing at the default cost takes a second
	// under the race detector.
	cfg := chirp.Config{DB: pool, WebhookSecret: testSecret, PasswordCost: bcrypt.MinCost,
		BaseURL: "http://" + srv.Listener.Addr().String()}
	if configure != nil {
		configure(&cfg)
	}
	app, err := chirp.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv.Config.Handler = app.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{t: t, app: app, pool: pool, srv: srv}
}

// call sends a request to chirp's own API and returns the status and body.
func (e *env) call(method, path string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	default:
		r = bytes.NewReader(mustJSON(e.t, b))
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) (int, []byte) {
	e.t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, out
}

// webhook sends a request to the contract, signed at `at` with secret.
func (e *env) webhook(op string, body any, secret []byte, at time.Time) (int, []byte) {
	e.t.Helper()
	raw := mustJSON(e.t, body)
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodPost, e.srv.URL+"/understudy/"+op, bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-ID", "req-"+op)
	if secret != nil {
		req.Header.Set(signature.Header, signature.Sign(secret, at, raw))
	}
	return e.send(req)
}

// signed sends a correctly signed, fresh webhook request.
func (e *env) signed(op string, body any) (int, []byte) {
	e.t.Helper()
	return e.webhook(op, body, testSecret, time.Now())
}

// user creates a user through the Go API.
func (e *env) user(name string, synthetic bool) chirp.User {
	e.t.Helper()
	u, err := e.app.CreateUser(e.t.Context(), chirp.NewUser{Username: name, Email: name + "@example.com",
		DisplayName: "User " + name, IsSynthetic: synthetic})
	if err != nil {
		e.t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

// provision provisions the synthetic user of account id and returns its ref.
func (e *env) provision(id string) string {
	e.t.Helper()
	ref, err := e.app.ProvisionUser(e.t.Context(), account(id))
	if err != nil {
		e.t.Fatalf("ProvisionUser(%s): %v", id, err)
	}
	return ref
}

func (e *env) post(userID int64, body string) int64 {
	e.t.Helper()
	id, err := e.app.Post(e.t.Context(), userID, body)
	if err != nil {
		e.t.Fatalf("Post: %v", err)
	}
	return id
}

func account(id string) providers.Account {
	return providers.Account{ID: id, Environment: "production", Role: "buyer", Email: id + "@synthetic.example.com",
		Username: "understudy-" + id, DisplayName: "Understudy " + id}
}

// rows returns every row that belongs to or touches the user, as JSON, to
// prove that nothing changed.
func (e *env) rows(userID int64) string {
	e.t.Helper()
	const q = `SELECT json_build_object(
		'user', (SELECT row_to_json(u) FROM users u WHERE id = $1),
		'profile', (SELECT row_to_json(p) FROM profiles p WHERE user_id = $1),
		'posts', (SELECT json_agg(p ORDER BY id) FROM posts p WHERE user_id = $1),
		'follows', (SELECT json_agg(f ORDER BY followee_id) FROM follows f WHERE follower_id = $1),
		'followers', (SELECT json_agg(f ORDER BY follower_id) FROM follows f WHERE followee_id = $1),
		'likes', (SELECT json_agg(l ORDER BY post_id) FROM likes l WHERE user_id = $1),
		'liked', (SELECT json_agg(l ORDER BY l.user_id, l.post_id) FROM likes l JOIN posts p ON p.id = l.post_id WHERE p.user_id = $1),
		'score', (SELECT row_to_json(s) FROM scores s WHERE user_id = $1),
		'notifications', (SELECT json_agg(n ORDER BY id) FROM notifications n WHERE user_id = $1),
		'cart', (SELECT json_agg(c ORDER BY sku) FROM cart_items c WHERE user_id = $1))::text`
	var out string
	if err := e.pool.QueryRow(context.Background(), q, userID).Scan(&out); err != nil {
		e.t.Fatalf("reading the rows of user %d: %v", userID, err)
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return v
}

// problemBody is the body of an error answer.
type problemBody struct {
	Code   string `json:"code"`
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func wantStatus(t *testing.T, what string, status int, body []byte, want int) {
	t.Helper()
	if status != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, status, want, body)
	}
}
