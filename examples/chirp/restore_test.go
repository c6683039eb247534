package chirp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/providers"
)

// usedUser provisions acct-1's user and gives it a post, a follow, a like,
// points and a cart, and returns its ref, id and state.
func (e *env) usedUser() (string, int64, json.RawMessage) {
	e.t.Helper()
	ref := e.provision("acct-1")
	id, _ := strconv.ParseInt(ref, 10, 64)
	friend := e.user("friend", true).ID
	ctx := e.t.Context()
	for _, err := range []error{
		e.app.Follow(ctx, id, friend),
		e.app.Like(ctx, id, e.post(friend, "friend's post")),
		e.app.Like(ctx, friend, e.post(id, "my post")),
		e.app.AddToCart(ctx, id, "mug", 2),
	} {
		if err != nil {
			e.t.Fatal(err)
		}
	}
	state, err := e.app.SnapshotUser(ctx, target(ref, "acct-1"))
	if err != nil {
		e.t.Fatal(err)
	}
	return ref, id, state
}

func TestRestoreFailingMidwayWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref, id, state := e.usedUser()
	var s chirp.UserState
	if err := json.Unmarshal(state, &s); err != nil {
		t.Fatal(err)
	}
	tooLong := s
	tooLong.Posts = []chirp.StatePost{{ID: s.Posts[0].ID, Body: strings.Repeat("x", 281), CreatedAt: time.Now()}}
	likesNothing := s
	likesNothing.Likes = append([]chirp.StateLike{}, s.Likes...)
	likesNothing.Likes = append(likesNothing.Likes, chirp.StateLike{PostID: 999999})
	badCart := s
	badCart.Cart = []chirp.CartItem{{SKU: "mug", Quantity: 0}}
	before := e.rows(id)

	for name, bad := range map[string]chirp.UserState{
		"a post of 281 characters (CHECK, after the deletes)": tooLong,
		"a like of a post that does not exist (FOREIGN KEY)":  likesNothing,
		"a cart line of quantity 0 (CHECK, the last insert)":  badCart,
	} {
		err := e.app.RestoreUser(t.Context(), target(ref, "acct-1"), mustJSON(t, bad))
		if !errors.Is(err, providers.ErrRefused) {
			t.Fatalf("restoring %s: err = %v, want ErrRefused", name, err)
		}
		if after := e.rows(id); after != before {
			t.Fatalf("restoring %s half-wrote:\nbefore %s\nafter  %s", name, before, after)
		}
	}
	status, body := e.signed("restore", map[string]any{"ref": ref, "account_id": "acct-1", "state": tooLong})
	wantProblem(t, "restore of a 281-character post", status, body, 422, "invalid")
	if after := e.rows(id); after != before {
		t.Fatalf("a refused restore over HTTP half-wrote:\nbefore %s\nafter  %s", before, after)
	}
}

func TestConcurrentRestoresQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref, id, stateA := e.usedUser()
	e.post(id, "another post")
	if err := e.app.AddToCart(t.Context(), id, "tea", 9); err != nil {
		t.Fatal(err)
	}
	stateB, err := e.app.SnapshotUser(t.Context(), target(ref, "acct-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(stateA, stateB) {
		t.Fatal("states A and B are the same")
	}
	for round := range 5 {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() {
				errs[i] = e.app.RestoreUser(t.Context(), target(ref, "acct-1"), [...]json.RawMessage{stateA, stateB}[i%2])
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: restore %d failed: %v", round, i, err)
			}
		}
		got, err := e.app.SnapshotUser(t.Context(), target(ref, "acct-1"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, stateA) && !bytes.Equal(got, stateB) {
			t.Fatalf("round %d: after concurrent restores the state is neither A nor B:\n%s", round, got)
		}
	}
}

// Deleting a user's posts deletes the likes others gave them: a restore
// brings the posts back, not other users' likes.
func TestRestoreDropsOthersLikesOfOwnPosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref, id, state := e.usedUser()
	var likes int
	count := func() int {
		t.Helper()
		if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM likes l JOIN posts p ON p.id = l.post_id
			WHERE p.user_id = $1 AND l.user_id <> $1`, id).Scan(&likes); err != nil {
			t.Fatal(err)
		}
		return likes
	}
	if n := count(); n != 1 {
		t.Fatalf("%d likes by others before the restore, want 1", n)
	}
	if err := e.app.RestoreUser(t.Context(), target(ref, "acct-1"), state); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d likes by others after the restore, want 0 (they cascade with the posts)", n)
	}
	if got, _ := e.app.SnapshotUser(t.Context(), target(ref, "acct-1")); !bytes.Equal(got, state) {
		t.Fatalf("state after restore = %s, want %s", got, state)
	}
}

func TestContractErrorsWrapSentinels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref := e.provision("acct-1")
	realRef := strconv.FormatInt(e.user("rita", false).ID, 10)
	ctx := t.Context()
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"verify of nobody", e.app.VerifyUser(ctx, target("999999", "acct-1")), providers.ErrNotFound},
		{"verify of a real user", e.app.VerifyUser(ctx, target(realRef, "acct-1")), providers.ErrNotSynthetic},
		{"verify by another account", e.app.VerifyUser(ctx, target(ref, "acct-2")), providers.ErrNotOwned},
		{"restore of a real user", e.app.RestoreUser(ctx, target(realRef, "acct-1"), json.RawMessage(`{"version":1}`)), providers.ErrNotSynthetic},
		{"restore of junk", e.app.RestoreUser(ctx, target(ref, "acct-1"), json.RawMessage(`[1]`)), providers.ErrRefused},
		{"deprovision of a real user", e.app.DeprovisionUser(ctx, target(realRef, "acct-1")), providers.ErrNotSynthetic},
		{"provision of a taken email", provisionErr(e, "acct-9", "rita@example.com"), providers.ErrRefused},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, c.err, c.want)
		}
	}
	if err := e.app.DeprovisionUser(ctx, target("999999", "acct-1")); err != nil {
		t.Fatalf("deprovision of nobody = %v, want nil", err)
	}
}

func provisionErr(e *env, id, email string) error {
	acct := account(id)
	acct.Email = email
	_, err := e.app.ProvisionUser(e.t.Context(), acct)
	return err
}

func TestConcurrentProvisionsGiveOneUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	refs := make([]string, 6)
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for i := range refs {
		wg.Go(func() { refs[i], errs[i] = e.app.ProvisionUser(t.Context(), account("acct-1")) })
	}
	wg.Wait()
	for i := range refs {
		if errs[i] != nil || refs[i] != refs[0] {
			t.Fatalf("provision %d = %q, %v; want %q", i, refs[i], errs[i], refs[0])
		}
	}
	var users, profiles, scores int
	err := e.pool.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM profiles),
		(SELECT count(*) FROM scores)`).Scan(&users, &profiles, &scores)
	if err != nil || users != 1 || profiles != 1 || scores != 1 {
		t.Fatalf("%d users, %d profiles, %d scores (%v); want one of each", users, profiles, scores, err)
	}
}

// Restores of two users who follow each other, at the same time, do not
// deadlock: each one's foreign-key checks lock the other's row in share mode.
func TestRestoresOfUsersWhoFollowEachOtherDoNotDeadlock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	refs := [2]string{e.provision("acct-a"), e.provision("acct-b")}
	ids := [2]int64{}
	for i, r := range refs {
		id, err := strconv.ParseInt(r, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	if err := e.app.Follow(t.Context(), ids[0], ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := e.app.Follow(t.Context(), ids[1], ids[0]); err != nil {
		t.Fatal(err)
	}
	owners := [2]string{"acct-a", "acct-b"}
	var states [2]json.RawMessage
	for i := range refs {
		s, err := e.app.SnapshotUser(t.Context(), target(refs[i], owners[i]))
		if err != nil {
			t.Fatal(err)
		}
		states[i] = s
	}
	for round := range 25 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range refs {
			wg.Go(func() { errs[i] = e.app.RestoreUser(t.Context(), target(refs[i], owners[i]), states[i]) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, user %d: %v", round, i, err)
			}
		}
	}
}

// Many rounds of concurrent provisions of one account, each released at
// once, give one user per account: a provision that finds another's
// uncommitted row through users_username_key (checked before the
// understudy_account_id arbiter) must wait for it and take the existing
// user, never fail on the username.
func TestConcurrentProvisionsNeverLoseTheUsernameRace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const rounds, callers = 150, 6
	for round := range rounds {
		acct := account(fmt.Sprintf("race-%d", round))
		start := make(chan struct{})
		refs := make([]string, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				<-start
				refs[i], errs[i] = e.app.ProvisionUser(t.Context(), acct)
			})
		}
		close(start)
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || refs[i] != refs[0] {
				t.Fatalf("round %d: provision %d = %q, %v; want %q", round, i, refs[i], errs[i], refs[0])
			}
		}
	}
	var users int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM users`).Scan(&users); err != nil || users != rounds {
		t.Fatalf("%d users (%v); want %d", users, err, rounds)
	}
}
