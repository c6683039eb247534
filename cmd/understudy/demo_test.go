package main

import (
	"context"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/internal/dbtest"
)

// The demo runs end to end on the test server: both providers, four
// accounts, a change in chirp, and a verified reset of each.
func TestDemoResetsChirp(t *testing.T) {
	t.Parallel()
	server := dbtest.ServerURL(t)
	t.Cleanup(func() {
		for _, name := range []string{"understudy_demo", "chirp_demo"} {
			_, _ = recreateDatabase(context.Background(), server, name) // leaves them empty
		}
	})
	var out, errb strings.Builder
	env := map[string]string{"DATABASE_URL": server, "UNDERSTUDY_SECRET_KEY": testKey}
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	if code := a.run(context.Background(), []string{"demo", "--exit"}); code != 0 {
		t.Fatalf("demo exited %d: %s\n%s", code, errb.String(), out.String())
	}
	text := out.String()
	for _, want := range []string{"through the webhook provider", "through the postgres provider", "Provisioned 4 accounts",
		`"sku":"sku-42"`, "changed  $.score.points 20"} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo output lacks %q:\n%s", want, text)
		}
	}
	// chirp's leaderboard through the isolation client: no synthetic
	// account for a real user, testers only for a synthetic one.
	for _, want := range []string{"leaderboards=testers_only; chirp holds the signed list (2 synthetic accounts, degraded false)",
		"leaderboard as a real user (rosa): #1 rosa 50, #2 ravi 40 (0 synthetic of 2)", "(4 synthetic of 4: testers only)",
		// The audit asks chirp about the built-in surfaces and its own trending: it shows five.
		"isolation audit of production: 5 surfaces of 1 app checked (4 not shown), 0 violations, 0 failed"} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo output lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "verified: chirp's state is the baseline again"); n != 4 {
		t.Fatalf("%d verified resets, want 4:\n%s", n, text)
	}
	// The sync to the local fake PostHog sends the two production accounts
	// once: the second run has nothing to send.
	for _, want := range []string{"sync --dry-run: 2 to add", "first sync: ok, 2 added", "second sync: ok, 0 added, 0 removed, 2 unchanged, 0 requests",
		"PostHog now marks is_synthetic=true on: ", "its cohort of synthetic accounts holds 2"} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo output lacks %q:\n%s", want, text)
		}
	}
}
