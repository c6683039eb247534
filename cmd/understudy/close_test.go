package main

import (
	"context"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/openapi"
)

// A server closed while a job waits on a slow app stops within its
// deadline: the job is cancelled (River runs it again after a restart)
// instead of failing the shutdown.
func TestCloseCancelsJobsStillRunningAtTheDeadline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app, appURL := startChirp(t)
	s := startServer(t, serverOptions{})
	admin := s.client(t, s.Admin)
	if r, err := admin.CreateEnvironmentWithResponse(ctx, openapi.EnvironmentCreate{Name: "production", EmailDomains: []string{"qa.example.test"}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("environment: %v", err)
	}
	app.SetDelay(8 * time.Second) // each provisioning call hangs
	t.Cleanup(func() { app.SetDelay(0) })
	settings := map[string]any{"base_url": appURL + "/understudy", "timeout": "20s", "max_attempts": 1}
	if r, err := admin.AttachAppWithResponse(ctx, "production", openapi.AppAttach{Name: "chirp", Provider: "webhook",
		Settings: &settings, Secrets: &map[string]string{"signing_secret": chirpSecret}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("attach: %v", err)
	}
	if r, err := admin.CreateRoleWithResponse(ctx, "production", openapi.RoleCreate{Name: "buyer"}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("role: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // the provisioning job is now waiting on the app
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	if err := s.main.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %s", d)
	}
}
