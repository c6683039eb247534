package client

import (
	"context"
	"slices"
	"testing"
)

// started returns a client of f, started, closed at the end of the test.
func started(t *testing.T, f *fakeServer, edit func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: f.URL, Token: testToken, Environment: testEnv}
	cfg.RefreshInterval = 1 << 62 // refreshes are driven by the tests
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDecideRule(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	c := started(t, f, nil)

	tests := []struct {
		name, viewer, surface, subject string
		want                           bool
		reason                         Reason
	}{
		{"real viewer, hidden", "real-1", "leaderboards", "acc-a", false, ReasonHidden},
		{"synthetic viewer, hidden", "acc-b", "leaderboards", "acc-a", false, ReasonHidden},
		{"real viewer, testers_only", "real-1", "social_feed", "acc-a", false, ReasonTestersOnlyRealViewer},
		{"synthetic viewer, testers_only", "b@qa.example.test", "social_feed", "a_handle", true, ReasonTestersOnlySyntheticViewer},
		{"real viewer, allowed", "real-1", "public_profile", "acc-a", true, ReasonAllowed},
		{"synthetic viewer, allowed", "acc-b", "public_profile", "chirp:1", true, ReasonAllowed},
		{"self by the same id", "acc-a", "leaderboards", "acc-a", true, ReasonSelf},
		{"self by another id of the account", "a_handle", "search", "a@qa.example.test", true, ReasonSelf},
		{"real subject, real viewer", "real-1", "leaderboards", "real-2", true, ReasonNotSynthetic},
		{"real subject, synthetic viewer", "acc-a", "leaderboards", "real-2", true, ReasonNotSynthetic},
		{"unknown surface, synthetic subject", "real-1", "billing", "acc-a", false, ReasonUnknownSurface},
		{"unknown surface, real subject", "real-1", "billing", "real-2", true, ReasonNotSynthetic},
		{"email in another case", "real-1", "leaderboards", "A@QA.Example.test", false, ReasonHidden},
		{"synthetic viewer's email in another case", "B@qa.example.test", "social_feed", "acc-a", true, ReasonTestersOnlySyntheticViewer},
		{"no viewer, testers_only", "", "social_feed", "acc-a", false, ReasonTestersOnlyRealViewer},
		{"controlled domain not on the list", "real-1", "leaderboards", "new@qa.example.test", true, ReasonNotSynthetic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := c.Decide(tt.viewer, tt.surface, tt.subject)
			if got != tt.want || reason != tt.reason {
				t.Errorf("Decide(%q, %q, %q) = %v, %s; want %v, %s", tt.viewer, tt.surface, tt.subject, got, reason, tt.want, tt.reason)
			}
			if v := c.Visible(tt.viewer, tt.surface, tt.subject); v != tt.want {
				t.Errorf("Visible = %v, want %v", v, tt.want)
			}
		})
	}
}

func TestFilterKeepsOrder(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	c := started(t, f, nil)

	in := []string{"real-3", "acc-a", "real-1", "b@qa.example.test", "real-2", "acc-b"}
	orig := slices.Clone(in)
	if got, want := c.Filter("real-9", "search", in), []string{"real-3", "real-1", "real-2"}; !slices.Equal(got, want) {
		t.Errorf("Filter for a real viewer = %v, want %v", got, want)
	}
	if got, want := c.Filter("acc-a", "social_feed", in), in; !slices.Equal(got, want) {
		t.Errorf("Filter testers_only for a synthetic viewer = %v, want %v", got, want)
	}
	if got, want := c.Filter("acc-a", "search", in), []string{"real-3", "acc-a", "real-1", "real-2"}; !slices.Equal(got, want) {
		t.Errorf("Filter hidden for synthetic viewer A = %v, want %v (A sees itself)", got, want)
	}
	if !slices.Equal(in, orig) {
		t.Errorf("Filter modified its input: %v", in)
	}
}

func TestCompileSharesPolicyRows(t *testing.T) {
	t.Parallel()
	s, err := compile(new(bigList("1-1", 4000)))
	if err != nil {
		t.Fatal(err)
	}
	if s.identities != 1000 || s.identifiers != 4000 {
		t.Fatalf("identities %d, identifiers %d; want 1000, 4000", s.identities, s.identifiers)
	}
	// 4 surfaces × 3 policies: at most 81 distinct rows for 1000 identities.
	if rows := len(s.policies) / len(testSurfaces); rows > 81 {
		t.Errorf("%d policy rows, want at most 81", rows)
	}
}

func TestSynthetic(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	f.with(func(f *fakeServer) { f.down = true })
	c := started(t, f, func(cfg *Config) { cfg.ControlledDomains = []string{"qa.example.test"} })
	if !c.Synthetic("new@qa.example.test") || c.Synthetic("acc-a") {
		t.Error("before the first list, only an id at a controlled domain is synthetic")
	}
	f.with(func(f *fakeServer) { f.down = false })
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"acc-a": true, "A@QA.example.test": true, "chirp:1": true, "real-1": false, "new@qa.example.test": false} {
		if got := c.Synthetic(id); got != want {
			t.Errorf("Synthetic(%q) = %v, want %v", id, got, want)
		}
	}
}
