package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
)

func TestDestinationsThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := withRole(t, "2")
	ph := posthogtest.New(t, posthogtest.Options{})
	ctx := context.Background()
	admin, reader := s.client(t, s.Admin), s.client(t, s.Reader)
	settings := map[string]any{"ingest_host": ph.URL, "app_host": ph.URL, "project_id": ph.ProjectID(), "person_wait": "0s"}
	secrets := map[string]string{"project_api_key": ph.ProjectToken(), "personal_api_key": ph.PersonalKey()}

	// A reader reads and never writes.
	r, err := reader.AttachDestinationWithResponse(ctx, "production", openapi.DestinationAttach{Name: "ph", Kind: "posthog"})
	if err != nil || r.StatusCode() != http.StatusForbidden {
		t.Fatalf("reader attach: %v %d", err, r.StatusCode())
	}
	// A bad setting is a 422 naming the field.
	r, err = admin.AttachDestinationWithResponse(ctx, "production", openapi.DestinationAttach{Name: "ph", Kind: "posthog",
		Settings: &map[string]any{"project_id": 0}, Secrets: &secrets})
	if err != nil || r.StatusCode() != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "settings.project_id") {
		t.Fatalf("bad attach: %v %d %s", err, r.StatusCode(), r.Body)
	}
	r, err = admin.AttachDestinationWithResponse(ctx, "production", openapi.DestinationAttach{Name: "ph", Kind: "posthog",
		Settings: &settings, Secrets: &secrets, SyncInterval: new("5m")})
	if err != nil || r.JSON201 == nil || r.JSON201.SyncInterval != "5m0s" {
		t.Fatalf("attach: %v %d %s", err, r.StatusCode(), r.Body)
	}
	if strings.Contains(string(r.Body), ph.PersonalKey()) || strings.Contains(string(r.Body), ph.ProjectToken()) {
		t.Fatalf("a secret was returned: %s", r.Body)
	}
	got, err := reader.GetDestinationWithResponse(ctx, "production", "ph")
	if err != nil || got.JSON200 == nil || !slices.Equal(got.JSON200.SecretNames, []string{"personal_api_key", "project_api_key"}) {
		t.Fatalf("get: %v %s", err, got.Body)
	}

	// A dry run, a run, a second run with nothing to send.
	dry, err := admin.SyncDestinationWithResponse(ctx, "production", "ph", &openapi.SyncDestinationParams{DryRun: new(true)})
	var plan openapi.SyncPlan
	if err != nil || dry.StatusCode() != 200 || json.Unmarshal(dry.Body, &plan) != nil || len(plan.Add) != 2 || ph.Requests() != 0 {
		t.Fatalf("dry run: %v %s (%d requests)", err, dry.Body, ph.Requests())
	}
	if len(plan.Requests) != 2 || plan.Requests[0].Action != openapi.SyncRequestActionMark || plan.Requests[0].Url != ph.URL+"/batch/" ||
		plan.Requests[0].Identities != 2 || plan.Requests[1].Action != openapi.SyncRequestActionListAdd ||
		strings.Contains(string(dry.Body), ph.PersonalKey()) || strings.Contains(string(dry.Body), ph.ProjectToken()) {
		t.Fatalf("dry run requests: %s", dry.Body)
	}
	for i, want := range []int{2, 0} {
		run, err := admin.SyncDestinationWithResponse(ctx, "production", "ph", &openapi.SyncDestinationParams{})
		var x openapi.SyncRun
		if err != nil || run.StatusCode() != 200 || json.Unmarshal(run.Body, &x) != nil || x.Outcome != openapi.SyncRunOutcomeOk || x.Added != want {
			t.Fatalf("run %d: %v %s", i, err, run.Body)
		}
	}
	if len(ph.Marked()) != 2 || len(ph.Listed()) != 2 {
		t.Fatalf("marked %v listed %v", ph.Marked(), ph.Listed())
	}
	runs, err := reader.ListSyncRunsWithResponse(ctx, &openapi.ListSyncRunsParams{Environment: new("production"), Destination: new("ph")})
	if err != nil || runs.JSON200 == nil || len(runs.JSON200.Items) != 2 || *runs.JSON200.Items[0].Requests != 0 {
		t.Fatalf("runs: %v %s", err, runs.Body)
	}
	_, metrics := s.raw(t, "", "GET", "/metrics", "", nil)
	for _, want := range []string{
		`understudy_sync_runs_total{destination="production/ph",outcome="ok"} 2`,
		`understudy_sync_items_total{action="add",destination="production/ph"} 2`,
		`understudy_sync_items_total{action="remove",destination="production/ph"} 0`,
		`understudy_sync_last_success_timestamp_seconds{destination="production/ph"} `,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Fatalf("metrics lack %s:\n%s", want, metrics)
		}
	}
	if x, err := admin.SyncDestinationWithResponse(ctx, "production", "nope", &openapi.SyncDestinationParams{}); err != nil || x.StatusCode() != http.StatusNotFound {
		t.Fatalf("sync of a missing destination: %v %d", err, x.StatusCode())
	}
}

func TestCLIDestinationsAndSync(t *testing.T) {
	t.Parallel()
	s := withRole(t, "2")
	ph := posthogtest.New(t, posthogtest.Options{})
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "personal")
	if err := os.WriteFile(keyFile, []byte(ph.PersonalKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	settings := fmt.Sprintf(`{"ingest_host":%q,"app_host":%q,"project_id":%d,"person_wait":"0s"}`, ph.URL, ph.URL, ph.ProjectID())

	mustFail(t, s.cli(t, s.Admin, "destinations", "attach", "production", "ph"), exitUsage, "--kind is required")
	mustFail(t, s.cli(t, s.Admin, "destinations", "attach", "production", "ph", "--kind", "posthog", "--settings", settings,
		"--secret", "project_api_key="+ph.ProjectToken(), "--distinct-id", "phone"), exitInvalid, "distinct_id")
	out := mustOK(t, s.cli(t, s.Admin, "destinations", "attach", "production", "ph", "--kind", "posthog", "--settings", settings,
		"--secret", "project_api_key="+ph.ProjectToken(), "--secret-file", "personal_api_key="+keyFile, "--distinct-id", "account_id"))
	if !strings.Contains(out.Stdout, "account_id") || strings.Contains(out.Stdout, ph.PersonalKey()) {
		t.Fatalf("attach printed %s", out.Stdout)
	}
	list := decode[openapi.DestinationList](t, s, "destinations", "list", "production")
	if len(list.Items) != 1 || list.Items[0].Health.Status != openapi.Unknown {
		t.Fatalf("list: %+v", list)
	}
	test := mustOK(t, s.cli(t, s.Admin, "destinations", "test", "production", "ph"))
	if !strings.HasPrefix(test.Stdout, "OK ph") || !strings.Contains(test.Stdout, "manual step 1:") {
		t.Fatalf("test printed %s", test.Stdout)
	}
	got := mustOK(t, s.cli(t, s.Reader, "destinations", "get", "production", "ph"))
	if !strings.Contains(got.Stdout, "healthy") || !strings.Contains(got.Stdout, "Manual step 1:") {
		t.Fatalf("get printed %s", got.Stdout)
	}

	dry := mustOK(t, s.cli(t, s.Admin, "sync", "--environment", "production", "--dry-run"))
	if !strings.Contains(dry.Stdout, "Sync: 2 to add, 0 to remove, 0 unchanged.") || ph.Requests() != 1 { // the test's one request
		t.Fatalf("dry run printed %s (%d requests)", dry.Stdout, ph.Requests())
	}
	if !strings.Contains(dry.Stdout, "  POST "+ph.URL+"/batch/  (mark, 2 identities)\n      {\"api_key\":\"[redacted]\"") ||
		!strings.Contains(dry.Stdout, "/add_persons_to_static_cohort/  (list-add, 2 identities)\n      note: ") ||
		strings.Contains(dry.Stdout, ph.ProjectToken()) || strings.Contains(dry.Stdout, ph.PersonalKey()) {
		t.Fatalf("dry run printed %s", dry.Stdout)
	}
	dryJSON := mustOK(t, s.cli(t, s.Admin, "sync", "-e", "production", "--dry-run", "-o", "json"))
	var plans struct{ Items []openapi.SyncPlan }
	if err := json.Unmarshal([]byte(dryJSON.Stdout), &plans); err != nil || len(plans.Items) != 1 || len(plans.Items[0].Requests) != 2 ||
		(*plans.Items[0].Requests[0].Header)["Content-Type"] != "application/json" || ph.Requests() != 1 ||
		strings.Contains(dryJSON.Stdout, ph.ProjectToken()) || strings.Contains(dryJSON.Stdout, ph.PersonalKey()) {
		t.Fatalf("dry run -o json: %v %s (%d requests)", err, dryJSON.Stdout, ph.Requests())
	}
	mustOK(t, s.cli(t, s.Admin, "sync", "-e", "production", "-d", "ph"))
	again := mustOK(t, s.cli(t, s.Admin, "sync", "-e", "production", "-o", "json"))
	var runs openapi.SyncRunList
	if err := json.Unmarshal([]byte(again.Stdout), &runs); err != nil || len(runs.Items) != 1 || runs.Items[0].Added != 0 || *runs.Items[0].Requests != 0 {
		t.Fatalf("second sync: %v %s", err, again.Stdout)
	}
	// The list has not moved: the second run compared nothing; --full does.
	full := mustOK(t, s.cli(t, s.Admin, "sync", "-e", "production", "--full", "-o", "json"))
	var fullRuns openapi.SyncRunList
	if err := json.Unmarshal([]byte(full.Stdout), &fullRuns); err != nil || len(fullRuns.Items) != 1 || *fullRuns.Items[0].Requests != 0 ||
		valueOf(fullRuns.Items[0].Verification) != "nothing to send" || !strings.Contains(valueOf(runs.Items[0].Verification), "has not changed") {
		t.Fatalf("a full sync: %v %s (the second: %s)", err, full.Stdout, again.Stdout)
	}
	mustFail(t, s.cli(t, s.Admin, "sync", "-e", "production", "--full", "--dry-run"), exitUsage, "--full")
	history := mustOK(t, s.cli(t, s.Reader, "sync", "runs", "--destination", "ph"))
	if lines := strings.Split(strings.TrimSpace(history.Stdout), "\n"); len(lines) != 4 || !strings.Contains(lines[3], "verified: 0 visible of 2") {
		t.Fatalf("runs printed %s", history.Stdout)
	}
	if len(ph.Marked()) != 2 {
		t.Fatalf("marked %v", ph.Marked())
	}

	mustOK(t, s.cli(t, s.Admin, "destinations", "update", "production", "ph", "--sync-interval", "1h"))
	mustOK(t, s.cli(t, s.Admin, "destinations", "detach", "production", "ph"))
	mustFail(t, s.cli(t, s.Admin, "destinations", "get", "production", "ph"), exitNotFound)
	mustFail(t, s.cli(t, s.Admin, "sync", "--destination", "ph"), exitUsage, "--environment")
}
