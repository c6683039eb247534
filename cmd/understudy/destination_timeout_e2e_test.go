package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/openapi"
)

// TestADestinationTestPastTheRequestTimeoutIsAVendorTimeout: a vendor that
// does not answer before the request's time limit is a 504 of type
// vendor-timeout, not a 503 that blames the database.
func TestADestinationTestPastTheRequestTimeoutIsAVendorTimeout(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(vendor.Close)
	t.Cleanup(func() { close(done) })
	s := startServer(t, serverOptions{Mutate: func(c *Config) { c.RequestTimeout = time.Second }})
	mustOK(t, s.cli(t, s.Admin, "environments", "create", "production", "--email-domain", "qa.example.test"))
	admin := s.client(t, s.Admin)
	ctx := context.Background()
	settings := map[string]any{"ingest_host": vendor.URL, "app_host": vendor.URL, "project_id": 1, "person_wait": "0s"}
	secrets := map[string]string{"project_api_key": "phc_silent", "personal_api_key": "phx_silent"}
	r, err := admin.AttachDestinationWithResponse(ctx, "production", openapi.DestinationAttach{Name: "ph", Kind: "posthog",
		Settings: &settings, Secrets: &secrets})
	if err != nil || r.StatusCode() != http.StatusCreated {
		t.Fatalf("attach: %v %d %s", err, r.StatusCode(), r.Body)
	}
	tr, err := admin.TestDestinationWithResponse(ctx, "production", "ph")
	if err != nil {
		t.Fatal(err)
	}
	p := problemOf(t, tr.StatusCode(), tr.Body, http.StatusGatewayTimeout, "gateway_timeout")
	if p.Type != "urn:understudy:problem:vendor-timeout" || strings.Contains(p.Detail, "database") {
		t.Fatalf("problem: %+v", p)
	}
	got, err := admin.GetDestinationWithResponse(ctx, "production", "ph")
	if err != nil || got.JSON200 == nil || got.JSON200.Health.Status != "unhealthy" ||
		!strings.Contains(valueOf(got.JSON200.Health.Detail), "did not answer within the request's time limit") {
		t.Fatalf("health: %v %s", err, got.Body)
	}
}
