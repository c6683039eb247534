package chirp_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/understudy-dev/understudy/examples/chirp"
)

// isolationWorld is two real users and two synthetic ones (one provisioned
// by Understudy, one signed up as a tester), tangled together.
type isolationWorld struct {
	e                            *env
	real1, real2, synth1, synth2 int64
	realPost, synthPost, ownPost int64
}

func newIsolationWorld(t *testing.T) isolationWorld {
	e := newEnv(t)
	w := isolationWorld{e: e, real1: e.user("rita", false).ID, real2: e.user("raul", false).ID, synth2: e.user("tess", true).ID}
	var err error
	if w.synth1, err = strconv.ParseInt(e.provision("acct-1"), 10, 64); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.app.AddPoints(ctx, w.synth1, 1000)) // the synthetic users top every board
	must(e.app.AddPoints(ctx, w.synth2, 500))
	must(e.app.AddPoints(ctx, w.real2, 5))
	w.realPost = e.post(w.real2, "real post")
	w.synthPost = e.post(w.synth2, "synthetic post")
	w.ownPost = e.post(w.synth1, "tester's own post")
	for _, f := range [][2]int64{{w.real1, w.real2}, {w.real1, w.synth1}, {w.synth1, w.real1}, {w.synth1, w.synth2}, {w.synth2, w.real2}} {
		must(e.app.Follow(ctx, f[0], f[1]))
	}
	must(e.app.Like(ctx, w.synth1, w.realPost)) // a tester likes a real post: the author must not know
	must(e.app.Like(ctx, w.real1, w.synthPost)) // and the other way round
	must(e.app.Like(ctx, w.synth1, w.synthPost))
	return w
}

func userIDs(entries []chirp.Entry) []int64 {
	var ids []int64
	for _, e := range entries {
		ids = append(ids, e.UserID)
	}
	return ids
}

func TestLeaderboardIsolation(t *testing.T) {
	t.Parallel()
	w := newIsolationWorld(t)
	for _, c := range []struct {
		name   string
		viewer int64
		want   []int64
	}{
		{"anonymous viewer sees real users only", 0, []int64{w.real2, w.real1}},
		{"real viewer sees real users only", w.real1, []int64{w.real2, w.real1}},
		{"provisioned tester sees testers only", w.synth1, []int64{w.synth1, w.synth2}},
		{"signed-up tester sees testers only", w.synth2, []int64{w.synth1, w.synth2}},
	} {
		got, err := w.e.app.Leaderboard(t.Context(), c.viewer, 10)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(userIDs(got), c.want) || got[0].Rank != 1 || got[1].Rank != 2 {
			t.Errorf("%s: leaderboard = %+v, want users %v", c.name, got, c.want)
		}
	}
	// The HTTP API goes through the same rule.
	status, body := w.e.call("GET", fmt.Sprintf("/leaderboard?viewer=%d", w.real1), nil)
	wantStatus(t, "GET /leaderboard", status, body, http.StatusOK)
	if got := userIDs(decode[map[string][]chirp.Entry](t, body)["entries"]); !slices.Equal(got, []int64{w.real2, w.real1}) {
		t.Fatalf("GET /leaderboard as a real user = %v", got)
	}
}

func TestFeedIsolation(t *testing.T) {
	t.Parallel()
	w := newIsolationWorld(t)
	real1Feed, err := w.e.app.Feed(t.Context(), w.real1, 0)
	if err != nil {
		t.Fatal(err)
	}
	// rita follows raul and the tester: she sees raul's post only, and not
	// the tester's like on it.
	if len(real1Feed) != 1 || real1Feed[0].ID != w.realPost || real1Feed[0].Likes != 0 {
		t.Fatalf("real user's feed = %+v, want only post %d with 0 likes", real1Feed, w.realPost)
	}
	synthFeed, err := w.e.app.Feed(t.Context(), w.synth1, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The tester follows rita and tess: it sees its own post and tess's,
	// with its own like counted and rita's not.
	if len(synthFeed) != 2 || synthFeed[0].ID != w.ownPost || synthFeed[1].ID != w.synthPost {
		t.Fatalf("tester's feed = %+v, want posts %d and %d", synthFeed, w.ownPost, w.synthPost)
	}
	for _, p := range synthFeed {
		if p.AuthorID != w.synth1 && p.AuthorID != w.synth2 {
			t.Fatalf("tester's feed shows a real user's post: %+v", p)
		}
		if p.ID == w.synthPost && p.Likes != 1 {
			t.Fatalf("tester's feed counts %d likes on post %d, want 1 (its own)", p.Likes, p.ID)
		}
	}
	// tess follows raul: a tester does not see real users in a feed either.
	synth2Feed, err := w.e.app.Feed(t.Context(), w.synth2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(synth2Feed) != 1 || synth2Feed[0].ID != w.synthPost {
		t.Fatalf("tess's feed = %+v, want only her own post", synth2Feed)
	}
}

func TestNotificationIsolation(t *testing.T) {
	t.Parallel()
	w := newIsolationWorld(t)
	for _, c := range []struct {
		name  string
		user  int64
		kinds []string
	}{
		{"rita: the tester's follow is hidden", w.real1, nil},
		{"raul: rita's follow; the tester's like and tess's follow are hidden", w.real2, []string{"follow:@rita followed you"}},
		{"tess: the tester's like and follow; rita's like is hidden", w.synth2, []string{
			fmt.Sprintf("like:@understudy-acct-1 liked your post %d", w.synthPost), "follow:@understudy-acct-1 followed you"}},
	} {
		list, err := w.e.app.Notifications(t.Context(), c.user, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range list {
			got = append(got, n.Kind+":"+n.Body)
		}
		if !slices.Equal(got, c.kinds) {
			t.Errorf("%s: notifications = %q, want %q", c.name, got, c.kinds)
		}
	}
}
