package chirp_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/dbtest"
)

// hidingList stands in for the isolation client where a test needs to hide
// real users chirp's SQL rule lets through (the end-to-end test in
// cmd/understudy uses the real client against the real server). It hides
// the refs in hidden from everyone but themselves and records the calls.
type hidingList struct {
	hidden map[string]bool
	mu     sync.Mutex
	asked  []string // "viewer surface subject"
}

func (h *hidingList) Visible(viewer, surface, subject string) bool {
	h.mu.Lock()
	h.asked = append(h.asked, viewer+" "+surface+" "+subject)
	h.mu.Unlock()
	return viewer == subject || !h.hidden[subject]
}

func (h *hidingList) Filter(viewer, surface string, subjects []string) []string {
	return slices.DeleteFunc(slices.Clone(subjects), func(s string) bool { return !h.Visible(viewer, surface, s) })
}

func newFilteredEnv(t *testing.T, iso chirp.Isolation) *env {
	t.Helper()
	pool := dbtest.NewPool(t)
	if err := chirp.Migrate(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	app, err := chirp.New(chirp.Config{DB: pool, Isolation: iso, RefPrefix: "social:"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, app: app, pool: pool}
}

// With an isolation client, a page read from SQL with room to spare stays
// full once the hidden users are dropped, and ranks have no gap.
func TestTheIsolationClientFiltersAndPagesStayFull(t *testing.T) {
	t.Parallel()
	h := &hidingList{hidden: map[string]bool{}}
	e := newFilteredEnv(t, h)
	ctx := t.Context()
	var ids []int64
	for i := range 6 {
		u := e.user(fmt.Sprintf("r%d", i), false)
		ids = append(ids, u.ID)
		if err := e.app.AddPoints(ctx, u.ID, int64(100-i)); err != nil {
			t.Fatal(err)
		}
	}
	h.hidden[fmt.Sprintf("social:%d", ids[0])] = true
	h.hidden[fmt.Sprintf("social:%d", ids[2])] = true
	viewer := ids[5]
	board, err := e.app.Leaderboard(ctx, viewer, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := userIDs(board), []int64{ids[1], ids[3], ids[4]}; !slices.Equal(got, want) {
		t.Fatalf("leaderboard = %v, want %v", got, want)
	}
	for i, en := range board {
		if en.Rank != i+1 {
			t.Fatalf("entry %d has rank %d: %+v", i, en.Rank, board)
		}
	}
	if want := fmt.Sprintf("social:%d leaderboards social:%d", viewer, ids[0]); !slices.Contains(h.asked, want) {
		t.Fatalf("the client was not asked %q: %q", want, h.asked)
	}

	found, err := e.app.Search(ctx, 0, "r", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 4 || slices.ContainsFunc(found, func(m chirp.Match) bool { return m.UserID == ids[0] || m.UserID == ids[2] }) {
		t.Fatalf("search = %+v, want the 4 users not hidden", found)
	}

	for _, followee := range ids[1:4] {
		if err := e.app.Follow(ctx, viewer, followee); err != nil {
			t.Fatal(err)
		}
		e.post(followee, "hello")
	}
	feed, err := e.app.Feed(ctx, viewer, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(feed) != 2 || slices.ContainsFunc(feed, func(p chirp.FeedPost) bool { return p.AuthorID == ids[2] }) {
		t.Fatalf("feed = %+v, want the posts of %d and %d", feed, ids[1], ids[3])
	}
	if err := e.app.Follow(ctx, ids[0], ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := e.app.Follow(ctx, ids[4], ids[1]); err != nil {
		t.Fatal(err)
	}
	notes, err := e.app.Notifications(ctx, ids[1], 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 2 || notes[0].Body != "@r4 followed you" || notes[1].Body != "@r5 followed you" {
		t.Fatalf("notifications = %+v, want r4's and r5's follows, not r0's", notes)
	}
}

// Search finds users by the start of their username, among those chirp's
// SQL rule shows the viewer, with LIKE's wildcards taken literally.
func TestSearch(t *testing.T) {
	t.Parallel()
	w := newIsolationWorld(t)
	for _, c := range []struct {
		viewer int64
		q      string
		want   []string
	}{
		{w.real1, "r", []string{"raul", "rita"}},
		{0, "ra", []string{"raul"}},
		{w.real1, "t", nil}, // tess is a tester
		{w.synth1, "t", []string{"tess"}},
		{w.synth1, "r", nil},
		{w.real1, "%", nil},
		{w.real1, "_ita", nil},
	} {
		found, err := w.e.app.Search(t.Context(), c.viewer, c.q, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range found {
			got = append(got, m.Username)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("viewer %d searching %q: %q, want %q", c.viewer, c.q, got, c.want)
		}
	}
	status, body := w.e.call("GET", fmt.Sprintf("/search?q=ri&viewer=%d", w.real2), nil)
	wantStatus(t, "GET /search", status, body, http.StatusOK)
	if got := decode[map[string][]chirp.Match](t, body)["users"]; len(got) != 1 || got[0].UserID != w.real1 {
		t.Fatalf("GET /search = %s", body)
	}
	status, body = w.e.call("GET", "/search?q=", nil)
	wantStatus(t, "GET /search without q", status, body, http.StatusUnprocessableEntity)
}
