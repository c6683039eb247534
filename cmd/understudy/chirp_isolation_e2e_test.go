package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/isolation/client"
	"github.com/understudy-dev/understudy/openapi"
)

// chirpWorld is chirp attached to a real server as "chirp", reading through
// the real isolation client: three provisioned testers (the third one's
// is_synthetic flag lost in chirp, so chirp's SQL rule takes it for a real
// user) and two real users, all following, posting and liking.
type chirpWorld struct {
	s            *testServer
	app          *chirp.App
	iso          *client.Client
	s1, s2, lost int64
	real1, real2 int64
	synthetic    map[int64]bool
}

func newChirpWorld(t *testing.T, policy openapi.IsolationPolicy) chirpWorld {
	t.Helper()
	ctx := context.Background()
	s := startServer(t, serverOptions{})
	admin := s.client(t, s.Admin)
	if r, err := admin.CreateEnvironmentWithResponse(ctx, openapi.EnvironmentCreate{Name: "production", EmailDomains: []string{"qa.example.test"}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("environment: %v", err)
	}
	iso, err := client.New(client.Config{BaseURL: s.URL, Token: s.tokenOf(t, "chirp-prod", access.ScopeApp),
		Environment: "production", RefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = iso.Close() })
	pool := dbtest.NewPool(t)
	if err := chirp.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	app, err := chirp.New(chirp.Config{DB: pool, WebhookSecret: []byte(chirpSecret), Isolation: iso, PasswordCost: chirpPasswordCost})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	if r, err := admin.AttachAppWithResponse(ctx, "production", openapi.AppAttach{Name: "chirp", Provider: "webhook",
		Settings: &map[string]any{"base_url": srv.URL + "/understudy"}, Secrets: &map[string]string{"signing_secret": chirpSecret}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("attach: %v %s", err, r.Body)
	}
	if r, err := admin.CreateRoleWithResponse(ctx, "production", openapi.RoleCreate{Name: "buyer", PoolSize: new(3), IsolationPolicy: &policy}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("role: %v %s", err, r.Body)
	}
	testers := provisionedChirpUsers(t, pool, 3)
	w := chirpWorld{s: s, app: app, iso: iso, s1: testers[0], s2: testers[1], lost: testers[2], synthetic: map[int64]bool{}}
	for _, id := range testers {
		w.synthetic[id] = true
	}
	if _, err := pool.Exec(ctx, "UPDATE users SET is_synthetic = false WHERE id = $1", w.lost); err != nil {
		t.Fatal(err)
	}
	w.real1, w.real2 = chirpUser(t, app, "rosa"), chirpUser(t, app, "ravi")
	w.act(t)
	if err := iso.Start(ctx); err != nil || iso.Degraded() || iso.Stats().Identities != 3 {
		t.Fatalf("isolation client: %v, degraded %v, %+v", err, iso.Degraded(), iso.Stats())
	}
	return w
}

// provisionedChirpUsers waits for n provisioned users in chirp's database.
func provisionedChirpUsers(t *testing.T, pool *pgxpool.Pool, n int) []int64 {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		rows, _ := pool.Query(context.Background(), "SELECT id FROM users WHERE understudy_account_id IS NOT NULL ORDER BY id")
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == n {
			return ids
		}
	}
	t.Fatalf("chirp did not get %d provisioned users", n)
	return nil
}

func chirpUser(t *testing.T, app *chirp.App, name string) int64 {
	t.Helper()
	u, err := app.CreateUser(context.Background(), chirp.NewUser{Username: name, Email: name + "@example.com", DisplayName: name})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// act gives everyone points and posts, and makes every user follow and
// like every other, so that each surface has every user to show.
func (w chirpWorld) act(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	all := []int64{w.s1, w.s2, w.lost, w.real1, w.real2}
	var posts []int64
	for i, u := range all {
		id, err := w.app.Post(ctx, u, "hello from "+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		posts = append(posts, id)
		if err := w.app.AddPoints(ctx, u, int64(1000-100*i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, u := range all {
		for j, v := range all {
			if i == j {
				continue
			}
			if err := w.app.Follow(ctx, u, v); err != nil {
				t.Fatal(err)
			}
			if err := w.app.Like(ctx, u, posts[j]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// seen returns the users viewer sees on each of chirp's four surfaces.
func (w chirpWorld) seen(t *testing.T, viewer int64) map[string][]int64 {
	t.Helper()
	ctx := context.Background()
	out := map[string][]int64{}
	board, err := w.app.Leaderboard(ctx, viewer, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range board {
		out[chirp.SurfaceLeaderboards] = append(out[chirp.SurfaceLeaderboards], e.UserID)
	}
	feed, err := w.app.Feed(ctx, viewer, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range feed {
		out[chirp.SurfaceSocialFeed] = append(out[chirp.SurfaceSocialFeed], p.AuthorID)
	}
	names := w.usernames(t)
	for q := range names {
		found, err := w.app.Search(ctx, viewer, q, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range found {
			out[chirp.SurfaceSearch] = append(out[chirp.SurfaceSearch], m.UserID)
		}
	}
	notes, err := w.app.Notifications(ctx, viewer, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range notes {
		var who string
		if _, err := fmt.Sscanf(n.Body, "@%s", &who); err != nil {
			t.Fatal(err)
		}
		out[chirp.SurfaceNotifications] = append(out[chirp.SurfaceNotifications], names[who])
	}
	for k := range out {
		slices.Sort(out[k])
		out[k] = slices.Compact(out[k])
	}
	return out
}

func (w chirpWorld) usernames(t *testing.T) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for _, id := range []int64{w.s1, w.s2, w.lost, w.real1, w.real2} {
		u, err := w.app.GetUser(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		m[u.Username] = id
	}
	return m
}

// Through the real isolation client and the real server's signed list, a
// real chirp user never sees a tester on any surface, even one whose flag
// chirp lost; a tester sees other testers only where the role's policy
// says testers_only.
func TestChirpFiltersEverySurfaceThroughTheIsolationClient(t *testing.T) {
	t.Parallel()
	w := newChirpWorld(t, openapi.IsolationPolicy{"leaderboards": openapi.TestersOnly, "search": openapi.TestersOnly,
		"social_feed": openapi.Hidden, "notifications": openapi.Hidden})
	surfaces := []string{chirp.SurfaceLeaderboards, chirp.SurfaceSocialFeed, chirp.SurfaceSearch, chirp.SurfaceNotifications}
	real := []int64{w.real1, w.real2}
	for _, viewer := range real {
		got := w.seen(t, viewer)
		for _, surface := range surfaces {
			if i := slices.IndexFunc(got[surface], func(id int64) bool { return w.synthetic[id] }); i >= 0 {
				t.Errorf("real user %d sees tester %d on %s: %v", viewer, got[surface][i], surface, got[surface])
			}
			if len(got[surface]) == 0 {
				t.Errorf("real user %d sees nobody on %s", viewer, surface)
			}
		}
	}
	got := w.seen(t, w.s1)
	want := map[string][]int64{
		chirp.SurfaceLeaderboards:  {w.s1, w.s2}, // testers_only: the testers chirp's SQL rule shows it
		chirp.SurfaceSearch:        {w.s1, w.s2},
		chirp.SurfaceSocialFeed:    {w.s1}, // hidden: its own posts only
		chirp.SurfaceNotifications: nil,    // hidden: s2's follow and like are not shown
	}
	for _, surface := range surfaces {
		if !slices.Equal(got[surface], want[surface]) {
			t.Errorf("tester %d on %s sees %v, want %v", w.s1, surface, got[surface], want[surface])
		}
	}
	// chirp's own SQL rule alone would have let the tester whose flag was
	// lost through to real users: the client is what stops it.
	if !w.iso.Visible("chirp:"+strconv.FormatInt(w.real1, 10), chirp.SurfaceSearch, "chirp:"+strconv.FormatInt(w.real2, 10)) ||
		w.iso.Visible("chirp:"+strconv.FormatInt(w.real1, 10), chirp.SurfaceSearch, "chirp:"+strconv.FormatInt(w.lost, 10)) {
		t.Fatal("the list does not name chirp's users as chirp:<id>")
	}
}

// roles update --isolation replaces a role's policy, and chirp follows it
// at the client's next refresh (a 304 until then keeps the old list).
func TestChirpFollowsRolesUpdateIsolation(t *testing.T) {
	t.Parallel()
	w := newChirpWorld(t, openapi.IsolationPolicy{"leaderboards": openapi.Hidden})
	before := w.seen(t, w.s1)
	if !slices.Equal(before[chirp.SurfaceLeaderboards], []int64{w.s1}) || !slices.Equal(before[chirp.SurfaceSocialFeed], []int64{w.s1}) {
		t.Fatalf("before: %v", before)
	}
	res := mustOK(t, w.s.cli(t, w.s.Admin, "roles", "update", "production", "buyer",
		"--isolation", "leaderboards=testers_only,social_feed=testers_only", "--isolation", "search=allowed"))
	if !strings.Contains(res.Stdout, "buyer") {
		t.Fatalf("roles update printed %q", res.Stdout)
	}
	if out := mustOK(t, w.s.cli(t, w.s.Reader, "roles", "get", "production", "buyer")).Stdout; !strings.Contains(out,
		"leaderboards=testers_only, search=allowed, social_feed=testers_only") {
		t.Fatalf("roles get: %s", out)
	}
	if err := w.iso.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := w.seen(t, w.s1)
	for _, surface := range []string{chirp.SurfaceLeaderboards, chirp.SurfaceSocialFeed, chirp.SurfaceSearch} {
		if !slices.Equal(after[surface], []int64{w.s1, w.s2}) {
			t.Errorf("after the update, tester %d on %s sees %v, want %v", w.s1, surface, after[surface], []int64{w.s1, w.s2})
		}
	}
	if got := w.seen(t, w.real1)[chirp.SurfaceSearch]; !slices.Equal(got, []int64{w.lost, w.real1, w.real2}) {
		t.Errorf("search=allowed: a real user finds %v, want the flagless tester %d too", got, w.lost)
	}
	mustFail(t, w.s.cli(t, w.s.Admin, "roles", "update", "production", "buyer", "--isolation", "leaderboards"), exitUsage, `"leaderboards"`)
}
