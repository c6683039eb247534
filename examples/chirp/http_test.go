package chirp_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/examples/chirp"
)

// must sends a request to chirp's own API and fails unless it gets want.
func (e *env) must(method, path string, body any, want int) []byte {
	e.t.Helper()
	status, out := e.call(method, path, body)
	wantStatus(e.t, method+" "+path, status, out, want)
	return out
}

func TestHTTPSocialFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := decode[chirp.User](t, e.must("POST", "/users", chirp.NewUser{Username: "ada", Email: "ada@example.com", DisplayName: "Ada"}, 201))
	if ada.ID == 0 || ada.Username != "ada" || ada.IsSynthetic || ada.UnderstudyAccountID != "" || ada.CreatedAt.IsZero() {
		t.Fatalf("created %+v", ada)
	}
	bob := decode[chirp.User](t, e.must("POST", "/users", chirp.NewUser{Username: "bob", Email: "bob@example.com", DisplayName: "Bob"}, 201))
	if got := decode[chirp.User](t, e.must("GET", fmt.Sprintf("/users/%d", ada.ID), nil, 200)); got != ada {
		t.Fatalf("GET user = %+v, want %+v", got, ada)
	}
	postID := decode[map[string]int64](t, e.must("POST", fmt.Sprintf("/users/%d/posts", bob.ID), map[string]string{"body": "hello from bob"}, 201))["id"]
	a := func(format string) string { return fmt.Sprintf(format, ada.ID) }
	e.must("POST", a("/users/%d/follows"), map[string]int64{"followee_id": bob.ID}, 204)
	e.must("POST", a("/users/%d/follows"), map[string]int64{"followee_id": bob.ID}, 204) // twice: one follow, one notification
	e.must("POST", a("/users/%d/likes"), map[string]int64{"post_id": postID}, 204)
	e.must("POST", a("/users/%d/points"), map[string]int64{"points": 25}, 204)
	e.must("POST", a("/users/%d/cart"), map[string]any{"sku": "mug-1", "quantity": 2}, 204)
	e.must("POST", a("/users/%d/cart"), map[string]any{"sku": "mug-1", "quantity": 3}, 204)

	feed := decode[map[string][]chirp.FeedPost](t, e.must("GET", a("/users/%d/feed"), nil, 200))["posts"]
	if len(feed) != 1 || feed[0].ID != postID || feed[0].AuthorID != bob.ID || feed[0].AuthorUsername != "bob" ||
		feed[0].Body != "hello from bob" || feed[0].Likes != 1 {
		t.Fatalf("ada's feed = %+v", feed)
	}
	wantNotifications(t, e, bob.ID, fmt.Sprintf("like:@ada liked your post %d", postID), "follow:@ada followed you")
	board := decode[map[string][]chirp.Entry](t, e.must("GET", a("/leaderboard?viewer=%d&limit=5"), nil, 200))["entries"]
	wantBoard := []chirp.Entry{
		{Rank: 1, UserID: ada.ID, Username: "ada", DisplayName: "Ada", Points: 25},
		{Rank: 2, UserID: bob.ID, Username: "bob", DisplayName: "Bob", Points: chirp.PostPoints},
	}
	if fmt.Sprint(board) != fmt.Sprint(wantBoard) {
		t.Fatalf("leaderboard = %+v, want %+v", board, wantBoard)
	}
	var qty int
	if err := e.pool.QueryRow(t.Context(), `SELECT quantity FROM cart_items WHERE user_id = $1 AND sku = 'mug-1'`, ada.ID).Scan(&qty); err != nil || qty != 5 {
		t.Fatalf("ada's cart holds %d mugs (%v), want 5", qty, err)
	}
	e.must("GET", "/healthz", nil, 200)
}

// wantNotifications checks the user's notifications over HTTP, newest
// first, as "kind:body", all unread.
func wantNotifications(t *testing.T, e *env, userID int64, want ...string) {
	t.Helper()
	notes := decode[map[string][]chirp.Notification](t, e.must("GET", fmt.Sprintf("/users/%d/notifications", userID), nil, 200))["notifications"]
	if len(notes) != len(want) {
		t.Fatalf("user %d's notifications = %+v, want %q", userID, notes, want)
	}
	for i, n := range notes {
		if got := n.Kind + ":" + n.Body; got != want[i] || n.Read {
			t.Errorf("notification %d = %q (read %v), want %q", i, got, n.Read, want[i])
		}
	}
}

// validationCase is one refused request and the problem it must get.
type validationCase struct {
	name, method, path string
	body               any
	status             int
	code, field        string
}

func TestHTTPValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.user("ada", false)
	bob := e.user("bob", false)
	postID := e.post(bob.ID, "a post")
	before := e.rows(ada.ID)
	t.Run("cases", func(t *testing.T) {
		for _, c := range validationCases(ada.ID, postID) {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				te := *e
				te.t = t
				status, body := te.call(c.method, c.path, c.body)
				wantStatus(t, c.method+" "+c.path, status, body, c.status)
				p := decode[problemBody](t, body)
				if p.Code != c.code || p.Field != c.field || p.Detail == "" {
					t.Fatalf("problem = %+v, want code %q field %q and a detail", p, c.code, c.field)
				}
			})
		}
	})
	if after := e.rows(ada.ID); after != before {
		t.Fatalf("refused requests wrote rows:\nbefore %s\nafter  %s", before, after)
	}
}

func validationCases(ada, postID int64) []validationCase {
	u := func(format string) string { return fmt.Sprintf(format, ada) }
	return []validationCase{
		{"missing username", "POST", "/users", map[string]string{"email": "x@example.com", "display_name": "X"}, 422, "invalid", "username"},
		{"bad email", "POST", "/users", chirp.NewUser{Username: "x", Email: "not an email", DisplayName: "X"}, 422, "invalid", "email"},
		{"blank display name", "POST", "/users", chirp.NewUser{Username: "x", Email: "x@example.com", DisplayName: "  "}, 422, "invalid", "display_name"},
		{"username taken", "POST", "/users", chirp.NewUser{Username: "ada", Email: "x@example.com", DisplayName: "X"}, 409, "conflict", "username"},
		{"email taken", "POST", "/users", chirp.NewUser{Username: "x", Email: "ada@example.com", DisplayName: "X"}, 409, "conflict", "email"},
		{"not JSON", "POST", "/users", "{nope", 400, "malformed", ""},
		{"unknown field", "POST", "/users", `{"username":"x","age":3}`, 400, "malformed", "age"},
		{"wrong type", "POST", "/users", `{"username":5}`, 400, "malformed", "username"},
		{"no such user", "GET", "/users/999999", nil, 404, "not_found", "id"},
		{"id not a number", "GET", "/users/abc", nil, 404, "not_found", "id"},
		{"post too long", "POST", u("/users/%d/posts"), map[string]string{"body": strings.Repeat("é", 281)}, 422, "invalid", "body"},
		{"post empty", "POST", u("/users/%d/posts"), map[string]string{"body": ""}, 422, "invalid", "body"},
		{"post by nobody", "POST", "/users/999999/posts", map[string]string{"body": "hi"}, 404, "not_found", "id"},
		{"follow oneself", "POST", u("/users/%d/follows"), map[string]int64{"followee_id": ada}, 422, "invalid", "followee_id"},
		{"follow nobody", "POST", u("/users/%d/follows"), map[string]int64{"followee_id": 999999}, 404, "not_found", "followee_id"},
		{"follow without followee", "POST", u("/users/%d/follows"), map[string]int64{}, 422, "invalid", "followee_id"},
		{"follow by nobody", "POST", "/users/999999/follows", map[string]int64{"followee_id": ada}, 404, "not_found", "id"},
		{"like no post", "POST", u("/users/%d/likes"), map[string]int64{"post_id": 999999}, 404, "not_found", "post_id"},
		{"like by nobody", "POST", "/users/999999/likes", map[string]int64{"post_id": postID}, 404, "not_found", "id"},
		{"zero points", "POST", u("/users/%d/points"), map[string]int64{"points": 0}, 422, "invalid", "points"},
		{"points for nobody", "POST", "/users/999999/points", map[string]int64{"points": 5}, 404, "not_found", "id"},
		{"bad sku", "POST", u("/users/%d/cart"), map[string]any{"sku": "a b", "quantity": 1}, 422, "invalid", "sku"},
		{"zero quantity", "POST", u("/users/%d/cart"), map[string]any{"sku": "mug", "quantity": 0}, 422, "invalid", "quantity"},
		{"limit too big", "GET", "/leaderboard?limit=500", nil, 422, "invalid", "limit"},
		{"limit not a number", "GET", "/leaderboard?limit=ten", nil, 400, "malformed", "limit"},
		{"unknown viewer", "GET", "/leaderboard?viewer=999999", nil, 404, "not_found", "viewer"},
		{"feed of nobody", "GET", "/users/999999/feed", nil, 404, "not_found", "id"},
		{"notifications of nobody", "GET", "/users/999999/notifications", nil, 404, "not_found", "id"},
	}
}
