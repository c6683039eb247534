package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/identity"
	"github.com/understudy-dev/understudy/openapi"
)

// An app that refuses to provision an account (chirp: the email is taken
// by a real user) is not retried: the account is marked failed with the
// app's reason, and is never leased.
func TestAProvisioningTheAppRefusesMarksTheAccountFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app, appURL := startChirp(t)
	id := identity.Generate(identity.Seed{Environment: "production", Role: "buyer", Slot: 1}, "qa.example.test", time.Now())
	if _, err := app.CreateUser(ctx, chirp.NewUser{Username: "someone_real", Email: id.Email, DisplayName: "Someone Real"}); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverOptions{})
	admin := s.client(t, s.Admin)
	if r, err := admin.CreateEnvironmentWithResponse(ctx, openapi.EnvironmentCreate{Name: "production", EmailDomains: []string{"qa.example.test"}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("environment: %v", err)
	}
	settings := map[string]any{"base_url": appURL + "/understudy"}
	if r, err := admin.AttachAppWithResponse(ctx, "production", openapi.AppAttach{Name: "chirp", Provider: "webhook",
		Settings: &settings, Secrets: &map[string]string{"signing_secret": chirpSecret}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("attach: %v %s", err, r.Body)
	}
	if r, err := admin.CreateRoleWithResponse(ctx, "production", openapi.RoleCreate{Name: "buyer"}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("role: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		list, _ := admin.ListAccountsWithResponse(ctx, &openapi.ListAccountsParams{})
		a := list.JSON200.Items[0]
		if a.Identity.Email != id.Email {
			t.Fatalf("the account's email %s is not the one predicted (%s)", a.Identity.Email, id.Email)
		}
		if a.Status == openapi.AccountStatusFailed {
			if !strings.Contains(a.StatusReason, "chirp") || !strings.Contains(a.StatusReason, "refused") {
				t.Fatalf("reason %q does not name the app and its refusal", a.StatusReason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the account is still %s (%s)", a.Status, a.StatusReason)
		}
		time.Sleep(50 * time.Millisecond)
	}
	g, _ := s.client(t, s.Runner).AcquireLeaseWithResponse(ctx, nil, openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci"})
	if g.StatusCode() != 409 {
		t.Fatalf("a failed account was leased: %d %s", g.StatusCode(), g.Body)
	}
}
