package main

import (
	"context"
	"testing"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/isolation/client"
	"github.com/understudy-dev/understudy/openapi"
)

// The app-side client reads the real server's signed list with an app
// token, verifies it against the server's keys, and answers as the server's
// own check does.
func TestTheIsolationClientReadsTheServersSignedList(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	accts := seed(t, s)
	ctx := context.Background()
	admin := s.client(t, s.Admin)
	if r, _ := admin.UpdateRoleWithResponse(ctx, "production", "buyer", openapi.RoleUpdate{
		IsolationPolicy: &openapi.IsolationPolicy{"leaderboards": "testers_only", "public_profile": "allowed"}}); r.JSON200 == nil {
		t.Fatalf("policy: %d %s", r.StatusCode(), r.Body)
	}
	c, err := client.New(client.Config{BaseURL: s.URL, Token: s.tokenOf(t, "chirp-prod", access.ScopeApp), Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Degraded() || c.Stats().Identities != 2 {
		t.Fatalf("after start: degraded %v, %+v", c.Degraded(), c.Stats())
	}
	buyer, other := accts[0].Identity.Email, accts[1].Identity.Email
	for _, tc := range []struct {
		viewer, surface, subject string
		want                     bool
	}{
		{"real.person@example.com", "leaderboards", buyer, false},  // testers_only, a real viewer
		{other, "leaderboards", buyer, true},                       // testers_only, a synthetic viewer
		{"real.person@example.com", "search", buyer, false},        // hidden by default
		{"real.person@example.com", "public_profile", buyer, true}, // allowed
		{"real.person@example.com", "leaderboards", "real.friend@example.com", true},
	} {
		got := c.Visible(tc.viewer, tc.surface, tc.subject)
		r, err := s.client(t, s.Reader).CheckIsolationWithResponse(ctx, openapi.IsolationCheck{Environment: "production",
			Surface: tc.surface, Viewer: tc.viewer, Subjects: []string{tc.subject}})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("server check: %v %s", err, r.Body)
		}
		if got != tc.want || r.JSON200.Results[0].Visible != tc.want {
			t.Errorf("%s sees %s on %s: client %v, server %v, want %v", tc.viewer, tc.subject, tc.surface, got, r.JSON200.Results[0].Visible, tc.want)
		}
	}
}
