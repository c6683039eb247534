package tagging_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/posthog"
)

// silentVendor accepts requests and answers none before the test ends.
func silentVendor(t *testing.T) *httptest.Server {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server sees the client go
		select {
		case <-r.Context().Done():
		case <-done:
			t.Logf("%s %s was still waiting when the test ended", r.Method, r.URL.Path)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })
	return srv
}

// TestATestPastTheDeadlineNamesTheVendor: a vendor that does not answer
// before the request's deadline is a vendor-timeout (504), not the
// database, and the destination is stored as unhealthy for that reason.
func TestATestPastTheDeadlineNamesTheVendor(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	vendor := silentVendor(t)
	ds := destinations(t, f, nil)
	settings, _ := json.Marshal(map[string]any{"ingest_host": vendor.URL, "app_host": vendor.URL, "project_id": 1, "person_wait": "0s"})
	if _, err := ds.Attach(f.Ctx, "production", "ph", tagging.DestinationChange{Kind: new(posthog.Kind), Settings: settings,
		Secrets: map[string]string{posthog.SecretProjectAPIKey: "phc_silent", posthog.SecretPersonalAPIKey: "phx_silent"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.Ctx, 300*time.Millisecond)
	defer cancel()
	_, err := ds.Test(ctx, "production", "ph")
	e := domaintest.WantCode(t, err, understudy.ETIMEOUT)
	if e.Type != tagging.ProblemVendorTimeout || !strings.Contains(e.Message, "posthog vendor of destination ph did not answer") ||
		strings.Contains(e.Message, "database") {
		t.Fatalf("error: type %q, %q", e.Type, e.Message)
	}
	d, err := ds.Get(f.Ctx, "production", "ph")
	if err != nil {
		t.Fatal(err)
	}
	if d.Health.Status != tagging.HealthUnhealthy || !strings.Contains(d.Health.Detail, "posthog did not answer within the request's time limit") {
		t.Fatalf("health after the timeout: %+v", d.Health)
	}
}

// TestASyncPastTheDeadlineNamesTheVendor: a run cut by the deadline is
// recorded as failed, saying the vendor did not answer in time.
func TestASyncPastTheDeadlineNamesTheVendor(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	vendor := silentVendor(t)
	ds := destinations(t, f, nil)
	settings, _ := json.Marshal(map[string]any{"ingest_host": vendor.URL, "app_host": vendor.URL, "project_id": 1, "person_wait": "0s"})
	if _, err := ds.Attach(f.Ctx, "production", "ph", tagging.DestinationChange{Kind: new(posthog.Kind), Settings: settings,
		Secrets: map[string]string{posthog.SecretProjectAPIKey: "phc_silent"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.Ctx, 300*time.Millisecond)
	defer cancel()
	run, err := ds.Sync(ctx, "production", "ph", tagging.SyncOptions{})
	if err != nil || run.Outcome != tagging.RunFailed || !strings.Contains(run.Error, "PostHog did not answer in time") {
		t.Fatalf("run %+v, %v", run, err)
	}
}
