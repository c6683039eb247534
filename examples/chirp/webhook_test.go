package chirp_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/providers"
)

func target(ref, acct string) providers.Target { return providers.Target{Ref: ref, AccountID: acct} }

// snapshot takes the target's state over the webhook.
func (e *env) snapshot(ref, acct string) json.RawMessage {
	e.t.Helper()
	status, body := e.signed("snapshot", target(ref, acct))
	wantStatus(e.t, "snapshot", status, body, http.StatusOK)
	return decode[struct{ State json.RawMessage }](e.t, body).State
}

func wantProblem(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: status %d, want %d; body %s", what, status, wantStatus, body)
	}
	if p := decode[problemBody](t, body); p.Code != wantCode || p.Detail == "" {
		t.Fatalf("%s: problem %+v, want code %q with a detail", what, p, wantCode)
	}
}

func TestWebhookProvision(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := account("acct-1")
	status, body := e.signed("provision", map[string]any{"account": acct})
	wantStatus(t, "provision", status, body, http.StatusOK)
	ref := decode[map[string]string](t, body)["ref"]
	status, body = e.signed("provision", map[string]any{"account": acct})
	wantStatus(t, "provision again", status, body, http.StatusOK)
	if again := decode[map[string]string](t, body)["ref"]; again != ref || ref == "" {
		t.Fatalf("provisioning twice gave refs %q and %q", ref, again)
	}
	id, _ := strconv.ParseInt(ref, 10, 64)
	u, err := e.app.GetUser(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !u.IsSynthetic || u.UnderstudyAccountID != "acct-1" || u.Username != acct.Username || u.Email != acct.Email || u.DisplayName != acct.DisplayName {
		t.Fatalf("provisioned user = %+v", u)
	}
	wantState := `{"version":1,"profile":{"bio":"","avatar_url":""},"posts":[],"follows":[],"likes":[],` +
		`"score":{"points":0},"notifications":[],"cart":[]}`
	if got := string(e.snapshot(ref, "acct-1")); got != wantState {
		t.Fatalf("a new user's state = %s, want %s", got, wantState)
	}

	taken := account("acct-2")
	taken.Username = acct.Username
	status, body = e.signed("provision", map[string]any{"account": taken})
	wantProblem(t, "provision with a taken username", status, body, http.StatusUnprocessableEntity, "invalid")
	status, body = e.signed("provision", map[string]any{"account": providers.Account{ID: "acct-3"}})
	wantProblem(t, "provision without a username", status, body, http.StatusUnprocessableEntity, "invalid")
	status, body = e.signed("provision", map[string]any{})
	wantProblem(t, "provision without an account", status, body, http.StatusUnprocessableEntity, "invalid")
}

func TestWebhookSnapshotRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref := e.provision("acct-1")
	id, _ := strconv.ParseInt(ref, 10, 64)
	friendRef := e.provision("acct-2")
	friend, _ := strconv.ParseInt(friendRef, 10, 64)
	friendPost := e.post(friend, "friend's post")
	baseline := e.snapshot(ref, "acct-1")

	own := e.useOverHTTP(id, friend, friendPost)
	used := e.snapshot(ref, "acct-1")
	if bytes.Equal(used, baseline) {
		t.Fatal("the state did not change after posting, following, liking and shopping")
	}
	var s chirp.UserState
	if err := json.Unmarshal(used, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Posts) != 1 || s.Posts[0].ID != own || len(s.Follows) != 1 || s.Follows[0].FolloweeID != friend ||
		len(s.Likes) != 2 || s.Likes[0].PostID != friendPost || s.Score.Points != chirp.PostPoints ||
		len(s.Notifications) != 1 || len(s.Cart) != 2 || s.Cart[0].SKU != "Apple" {
		t.Fatalf("state after use = %s", used)
	}

	status, body := e.signed("restore", map[string]any{"ref": ref, "account_id": "acct-1", "state": baseline})
	wantStatus(t, "restore baseline", status, body, http.StatusOK)
	if got := e.snapshot(ref, "acct-1"); !bytes.Equal(got, baseline) {
		t.Fatalf("after restoring the baseline the state is\n%s\nwant\n%s", got, baseline)
	}
	status, body = e.signed("restore", map[string]any{"ref": ref, "account_id": "acct-1", "state": used})
	wantStatus(t, "restore used", status, body, http.StatusOK)
	if got := e.snapshot(ref, "acct-1"); !bytes.Equal(got, used) {
		t.Fatalf("after restoring the used state (ids and times kept) the state is\n%s\nwant\n%s", got, used)
	}
	status, body = e.signed("verify", target(ref, "acct-1"))
	wantStatus(t, "verify", status, body, http.StatusOK)
	if v := decode[map[string]any](t, body); v["ref"] != ref || v["synthetic"] != true || v["account_id"] != "acct-1" {
		t.Fatalf("verify = %v", v)
	}
}

// useOverHTTP uses the app as a tester would, over its own HTTP API: the
// user posts, follows friend, likes friend's post and its own, fills a
// cart, and friend follows back. It returns the user's post id.
func (e *env) useOverHTTP(id, friend, friendPost int64) int64 {
	e.t.Helper()
	u := func(format string) string { return fmt.Sprintf(format, id) }
	own := decode[map[string]int64](e.t, e.must("POST", u("/users/%d/posts"), map[string]string{"body": "first!"}, 201))["id"]
	e.must("POST", u("/users/%d/follows"), map[string]int64{"followee_id": friend}, 204)
	e.must("POST", u("/users/%d/likes"), map[string]int64{"post_id": friendPost}, 204)
	e.must("POST", u("/users/%d/likes"), map[string]int64{"post_id": own}, 204)
	e.must("POST", u("/users/%d/cart"), map[string]any{"sku": "zebra", "quantity": 1}, 204)
	e.must("POST", u("/users/%d/cart"), map[string]any{"sku": "Apple", "quantity": 4}, 204)
	e.must("POST", fmt.Sprintf("/users/%d/follows", friend), map[string]int64{"followee_id": id}, 204)
	return own
}

func TestWebhookRefusesRealUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	realUser := e.user("rita", false)
	other := e.user("raul", false)
	post := e.post(realUser.ID, "my real post")
	if err := e.app.Like(t.Context(), other.ID, post); err != nil {
		t.Fatal(err)
	}
	if err := e.app.Follow(t.Context(), realUser.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	synthRef := e.provision("acct-1")
	emptyState := e.snapshot(synthRef, "acct-1")
	ref := strconv.FormatInt(realUser.ID, 10)
	before := e.rows(realUser.ID)

	for _, op := range []string{"verify", "snapshot", "deprovision"} {
		status, body := e.signed(op, target(ref, "acct-1"))
		wantProblem(t, op+" of a real user", status, body, http.StatusConflict, "not_synthetic")
	}
	status, body := e.signed("restore", map[string]any{"ref": ref, "account_id": "acct-1", "state": emptyState})
	wantProblem(t, "restore of a real user", status, body, http.StatusConflict, "not_synthetic")
	status, body = e.signed("restore", map[string]any{"ref": ref, "account_id": "acct-1", "state": map[string]any{"junk": true}})
	wantProblem(t, "restore of a real user with a bad state", status, body, http.StatusConflict, "not_synthetic")
	if after := e.rows(realUser.ID); after != before {
		t.Fatalf("refused calls changed the real user's rows:\nbefore %s\nafter  %s", before, after)
	}
}

func TestWebhookRefusesOtherOwners(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref := e.provision("acct-1")
	id, _ := strconv.ParseInt(ref, 10, 64)
	e.post(id, "mine")
	tester := e.user("tess", true) // synthetic, but not provisioned by Understudy
	state := e.snapshot(e.provision("acct-2"), "acct-2")
	before := e.rows(id)

	for _, op := range []string{"verify", "snapshot", "deprovision"} {
		status, body := e.signed(op, target(ref, "acct-2"))
		wantProblem(t, op+" by another account", status, body, http.StatusConflict, "not_owned")
	}
	status, body := e.signed("restore", map[string]any{"ref": ref, "account_id": "acct-2", "state": state})
	wantProblem(t, "restore by another account", status, body, http.StatusConflict, "not_owned")
	if after := e.rows(id); after != before {
		t.Fatalf("refused calls changed the user's rows:\nbefore %s\nafter  %s", before, after)
	}
	status, body = e.signed("verify", target(strconv.FormatInt(tester.ID, 10), "acct-1"))
	wantProblem(t, "verify of a tester Understudy did not provision", status, body, http.StatusConflict, "not_owned")
}

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref := e.provision("acct-1")
	for _, c := range []struct {
		name   string
		secret []byte
		at     time.Time
	}{
		{"unsigned", nil, time.Now()},
		{"replayed 6 minutes later", testSecret, time.Now().Add(-6 * time.Minute)},
		{"from the future", testSecret, time.Now().Add(6 * time.Minute)},
		{"signed with another secret", []byte("not the secret"), time.Now()},
	} {
		for _, op := range []string{"verify", "deprovision"} {
			status, body := e.webhook(op, target(ref, "acct-1"), c.secret, c.at)
			wantStatus(t, c.name+" "+op, status, body, http.StatusUnauthorized)
		}
	}
	if err := e.app.VerifyUser(t.Context(), target(ref, "acct-1")); err != nil {
		t.Fatalf("a refused deprovision deleted the user: %v", err)
	}
	status, body := e.webhook("verify", target(ref, "acct-1"), testSecret, time.Now().Add(-4*time.Minute))
	wantStatus(t, "signed 4 minutes ago", status, body, http.StatusOK)
}

func TestWebhookDeprovision(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref := e.provision("acct-1")
	id, _ := strconv.ParseInt(ref, 10, 64)
	e.post(id, "soon gone")
	for range 2 { // deprovisioning a user already gone succeeds
		status, body := e.signed("deprovision", target(ref, "acct-1"))
		wantStatus(t, "deprovision", status, body, http.StatusOK)
	}
	status, body := e.signed("verify", target(ref, "acct-1"))
	wantProblem(t, "verify after deprovision", status, body, http.StatusNotFound, "not_found")
	var n int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM posts WHERE user_id = $1`, id).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d posts left after deprovision (%v)", n, err)
	}
	if again := e.provision("acct-1"); again == ref {
		t.Fatalf("provisioning after deprovision reused ref %s", ref)
	}
}

func TestWebhookBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref := e.provision("acct-1")
	for _, c := range []struct {
		name, op string
		body     any
		status   int
		code     string
	}{
		{"ref not a number", "verify", target("abc", "acct-1"), 404, "not_found"},
		{"ref not canonical", "verify", target("0"+ref, "acct-1"), 404, "not_found"},
		{"no such ref", "snapshot", target("999999", "acct-1"), 404, "not_found"},
		{"no ref", "verify", target("", "acct-1"), 422, "invalid"},
		{"no account id", "verify", target(ref, ""), 422, "invalid"},
		{"restore without state", "restore", target(ref, "acct-1"), 422, "invalid"},
		{"restore of another app's state", "restore", map[string]any{"ref": ref, "account_id": "acct-1", "state": map[string]any{"rows": []int{1}}}, 422, "invalid"},
		{"restore of a future version", "restore", map[string]any{"ref": ref, "account_id": "acct-1", "state": map[string]any{"version": 2}}, 422, "invalid"},
	} {
		status, body := e.signed(c.op, c.body)
		wantProblem(t, c.name, status, body, c.status, c.code)
	}
	status, body := e.signed("nope", target(ref, "acct-1"))
	wantStatus(t, "unknown operation", status, body, http.StatusNotFound)
}
