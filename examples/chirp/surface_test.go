package chirp_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/providers"
)

// surfaceRefs asks chirp's webhook who a real viewer sees on surface.
func (e *env) surfaceRefs(surface string) []string {
	e.t.Helper()
	status, body := e.signed("surface", map[string]string{"surface": surface})
	wantStatus(e.t, "surface "+surface, status, body, http.StatusOK)
	return decode[struct{ Refs []string }](e.t, body).Refs
}

func refs(ids ...int64) []string {
	out := []string{}
	for _, id := range ids {
		out = append(out, strconv.FormatInt(id, 10))
	}
	return out
}

func TestSurfaceRefsShowRealUsersOnly(t *testing.T) {
	t.Parallel()
	w := newIsolationWorld(t)
	for surface, want := range map[string][]string{
		chirp.SurfaceLeaderboards:  refs(w.real2, w.real1),
		chirp.SurfaceSocialFeed:    refs(w.real2),
		chirp.SurfaceSearch:        refs(w.real2, w.real1), // raul, rita
		chirp.SurfaceNotifications: refs(w.real1),          // rita followed raul; the testers' actions were never told
		chirp.SurfaceTrending:      refs(w.real2),
	} {
		if got := w.e.surfaceRefs(surface); !slices.Equal(got, want) {
			t.Errorf("surface %s = %v, want %v", surface, got, want)
		}
	}
	status, body := w.e.signed("surface", map[string]string{"surface": "reviews"})
	wantProblem(t, "a surface chirp does not show", status, body, http.StatusNotFound, "no_surface")
	status, body = w.e.signed("surface", map[string]string{})
	wantProblem(t, "no surface", status, body, http.StatusUnprocessableEntity, "invalid")
	if _, err := w.e.app.SurfaceRefs(t.Context(), "reviews"); !errors.Is(err, providers.ErrNoSurface) {
		t.Errorf("SurfaceRefs(reviews) = %v, want ErrNoSurface", err)
	}
}

func TestTrendingIsolationAndPlantedLeak(t *testing.T) {
	t.Parallel()
	w := newIsolationWorld(t)
	w.e.post(w.synth1, "a second post: the tester trends")
	trenders := func(viewer int64) []int64 {
		t.Helper()
		list, err := w.e.app.Trending(t.Context(), viewer, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, u := range list {
			ids = append(ids, u.UserID)
		}
		return ids
	}
	if got := trenders(w.real1); !slices.Equal(got, []int64{w.real2}) {
		t.Errorf("a real viewer's trending = %v, want %v", got, []int64{w.real2})
	}
	if got := trenders(w.synth2); !slices.Equal(got, []int64{w.synth1, w.synth2}) {
		t.Errorf("a tester's trending = %v, want %v", got, []int64{w.synth1, w.synth2})
	}
	status, body := w.e.call("GET", fmt.Sprintf("/trending?viewer=%d", w.real1), nil)
	wantStatus(t, "GET /trending", status, body, http.StatusOK)
	if got := decode[struct{ Users []chirp.Trender }](t, body).Users; len(got) != 1 || got[0].UserID != w.real2 || got[0].Posts != 1 {
		t.Errorf("GET /trending = %+v, want raul with 1 post", got)
	}

	w.e.app.SetLeakTrending(true)
	if got := trenders(w.real1); !slices.Contains(got, w.synth1) || got[0] != w.synth1 {
		t.Errorf("with the planted leak, a real viewer's trending = %v, want tester %d first", got, w.synth1)
	}
	if got := w.e.surfaceRefs(chirp.SurfaceTrending); !slices.Contains(got, refs(w.synth1)[0]) {
		t.Errorf("with the planted leak, the trending surface = %v, want it to show tester %d", got, w.synth1)
	}
	if got := w.e.surfaceRefs(chirp.SurfaceLeaderboards); !slices.Equal(got, refs(w.real2, w.real1)) {
		t.Errorf("the leak is trending's only: leaderboards = %v", got)
	}
	w.e.app.SetLeakTrending(false)
	if got := w.e.surfaceRefs(chirp.SurfaceTrending); !slices.Equal(got, refs(w.real2)) {
		t.Errorf("without the leak, the trending surface = %v, want %v", got, refs(w.real2))
	}
}

// The surface answer is what a real viewer sees after the isolation client
// too: a user it hides is on no surface (unless the planted leak is on,
// which forgets the client on trending).
func TestSurfaceRefsGoThroughTheIsolationClient(t *testing.T) {
	t.Parallel()
	h := &hidingList{hidden: map[string]bool{}}
	e := newFilteredEnv(t, h)
	ctx := t.Context()
	shown, hidden := e.user("shown", false).ID, e.user("hidden", false).ID
	h.hidden["social:"+strconv.FormatInt(hidden, 10)] = true
	for _, u := range []int64{shown, hidden} {
		e.post(u, "hello")
		if err := e.app.Follow(ctx, u, map[int64]int64{shown: hidden, hidden: shown}[u]); err != nil {
			t.Fatal(err)
		}
	}
	for _, surface := range []string{chirp.SurfaceLeaderboards, chirp.SurfaceSocialFeed, chirp.SurfaceSearch,
		chirp.SurfaceNotifications, chirp.SurfaceTrending} {
		ids, err := e.app.SurfaceRefs(ctx, surface)
		if err != nil || slices.Contains(ids, hidden) || !slices.Contains(ids, shown) {
			t.Errorf("surface %s = %v, %v: want %d shown and %d hidden", surface, ids, err, shown, hidden)
		}
	}
	e.app.SetLeakTrending(true)
	if ids, err := e.app.SurfaceRefs(ctx, chirp.SurfaceTrending); err != nil || !slices.Contains(ids, hidden) {
		t.Errorf("with the planted leak, trending = %v, %v: want the hidden user %d", ids, err, hidden)
	}
}

// The exec adapter answers the same surfaces as the webhook does.
func TestSurfaceRefsThroughExec(t *testing.T) {
	t.Parallel()
	w := newIsolationWorld(t)
	resp := w.e.execute(map[string]any{"op": "surface", "surface": chirp.SurfaceTrending})
	if resp.Error != nil || resp.Refs == nil || !slices.Equal(*resp.Refs, refs(w.real2)) {
		t.Fatalf("exec surface trending = %+v", resp)
	}
	wantExecError(t, "a surface chirp does not show", w.e.execute(map[string]any{"op": "surface", "surface": "reviews"}), "no_surface")
	wantExecError(t, "no surface", w.e.execute(map[string]any{"op": "surface"}), "invalid")
}
