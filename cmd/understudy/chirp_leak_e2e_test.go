package main

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/openapi"
)

// TestPlantedLeakAudit attaches chirp through its webhook with the planted
// trending leak on: the audit finds the synthetic buyer on trending, opens
// a violation that quarantines the account, and once the leak is fixed the
// next audit closes it and the account is leased again.
func TestPlantedLeakAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := startServer(t, serverOptions{})
	admin := s.client(t, s.Admin)
	if r, err := admin.CreateEnvironmentWithResponse(ctx, openapi.EnvironmentCreate{Name: "production",
		EmailDomains: []string{"qa.example.test"}, CustomSurfaces: &[]string{chirp.SurfaceTrending}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("environment: %v", err)
	}
	pool := dbtest.NewPool(t)
	if err := chirp.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	app, err := chirp.New(chirp.Config{DB: pool, WebhookSecret: []byte(chirpSecret), LeakTrending: true, PasswordCost: chirpPasswordCost})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	if r, err := admin.AttachAppWithResponse(ctx, "production", openapi.AppAttach{Name: "chirp", Provider: "webhook",
		Settings: &map[string]any{"base_url": srv.URL + "/understudy"}, Secrets: &map[string]string{"signing_secret": chirpSecret}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("attach: %v %s", err, r.Body)
	}
	// The buyer is hidden everywhere from real viewers (a surface not set
	// is hidden), and quarantined on a violation (the default).
	if r, err := admin.CreateRoleWithResponse(ctx, "production", openapi.RoleCreate{Name: "buyer", PoolSize: new(1)}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("role: %v %s", err, r.Body)
	}
	accts := waitReady(t, s, "production")
	buyer := provisionedChirpUsers(t, pool, 1)[0]
	rosa := chirpUser(t, app, "rosa")
	for _, u := range []int64{buyer, buyer, rosa} {
		if _, err := app.Post(ctx, u, "hello"); err != nil {
			t.Fatal(err)
		}
	}
	ref := strconv.FormatInt(buyer, 10)

	res := mustOK(t, s.cli(t, s.Admin, "isolation", "audit", "--environment", "production"))
	if !strings.Contains(res.Stdout, "Audit of production: 1 opened, 0 closed, 1 open, 0 surfaces failed.") {
		t.Fatalf("audit with the leak:\n%s", res.Stdout)
	}
	checked := 0
	for _, line := range strings.Split(res.Stdout, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "chirp" {
			continue
		}
		checked++
		want := map[string]string{"leaderboards": "clean", "social_feed": "clean", "search": "clean", "notifications": "clean",
			"trending": "violations", "recommendations": "not_shown", "public_profile": "not_shown", "messaging": "not_shown", "reviews": "not_shown"}[f[1]]
		if f[2] != want {
			t.Errorf("surface %s is %s, want %s:\n%s", f[1], f[2], want, res.Stdout)
		}
	}
	if checked != 9 {
		t.Fatalf("%d surfaces of chirp audited, want 9 (8 built-in and trending):\n%s", checked, res.Stdout)
	}
	vs := decode[openapi.IsolationViolations](t, s, "isolation", "violations", "--environment", "production")
	if len(vs.Items) != 1 {
		t.Fatalf("violations: %+v", vs.Items)
	}
	v := vs.Items[0]
	if v.App != "chirp" || v.Surface != chirp.SurfaceTrending || v.AccountId.String() != accts[0].Id || v.Ref != ref ||
		v.Role != "buyer" || v.ClosedAt != nil || v.Evidence.Position != 0 || v.Evidence.Seen != 2 {
		t.Fatalf("violation = %+v, want chirp/trending for account %s (ref %s, first of 2 seen)", v, accts[0].Id, ref)
	}
	res = mustOK(t, s.cli(t, s.Reader, "isolation", "violations"))
	if !strings.Contains(res.Stdout, "trending") || !strings.Contains(res.Stdout, accts[0].Id) || !strings.Contains(res.Stdout, "open") {
		t.Fatalf("violations table:\n%s", res.Stdout)
	}

	runner := s.client(t, s.Runner)
	req := openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci", TtlSeconds: new(60)}
	busy, err := runner.AcquireLeaseWithResponse(ctx, &openapi.AcquireLeaseParams{}, req)
	if err != nil || busy.StatusCode() != 409 || !strings.Contains(string(busy.Body), "quarantined by isolation violations") ||
		!strings.Contains(string(busy.Body), "hidden surface trending of app chirp") {
		t.Fatalf("lease of the quarantined buyer: %v %d %s", err, busy.StatusCode(), busy.Body)
	}

	app.SetLeakTrending(false)
	res = mustOK(t, s.cli(t, s.Admin, "isolation", "audit", "--environment", "production"))
	if !strings.Contains(res.Stdout, "Audit of production: 0 opened, 1 closed, 0 open, 0 surfaces failed.") {
		t.Fatalf("audit after the fix:\n%s", res.Stdout)
	}
	if open := decode[openapi.IsolationViolations](t, s, "isolation", "violations"); len(open.Items) != 0 {
		t.Fatalf("open violations after the fix: %+v", open.Items)
	}
	g, err := runner.AcquireLeaseWithResponse(ctx, &openapi.AcquireLeaseParams{}, req)
	if err != nil || g.JSON201 == nil || g.JSON201.Lease.AccountId != accts[0].Id {
		t.Fatalf("lease after the fix: %v %s", err, g.Body)
	}
}
