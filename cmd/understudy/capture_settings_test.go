package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/openapi"
)

// environments create/update take the capture retention (in days or as a
// duration) and get/list show it; a retention out of range is refused by
// the server naming its field (422, exit code 6), one that is no duration
// as a usage error before any call.
func TestCLICaptureRetention(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	if e := decode[openapi.Environment](t, s, "environments", "get", "production"); e.CaptureRetentionSeconds != 2592000 {
		t.Fatalf("default %+v", e)
	}
	e := decode[openapi.Environment](t, s, "environments", "create", "staging", "--email-domain", "qa.example.test", "--capture-retention", "90d")
	if e.CaptureRetentionSeconds != 7776000 || e.InboxRetentionSeconds != 604800 {
		t.Fatalf("created %+v", e)
	}
	e = decode[openapi.Environment](t, s, "environments", "update", "staging", "--capture-retention", "36h")
	if e.CaptureRetentionSeconds != 129600 || len(e.EmailDomains) != 1 {
		t.Fatalf("updated %+v", e)
	}
	e = decode[openapi.Environment](t, s, "environments", "update", "staging", "--inbox-max-messages", "20")
	if e.CaptureRetentionSeconds != 129600 || e.InboxMaxMessages != 20 {
		t.Fatalf("another setting updated %+v", e)
	}
	res := mustOK(t, s.cli(t, s.Reader, "environments", "get", "staging"))
	if r := rows(t, res.Stdout); len(r) != 1 || r[0][len(r[0])-1] != "36h0m0s" || r[0][len(r[0])-2] != "20" {
		t.Errorf("table %q", res.Stdout)
	}
	res = mustOK(t, s.cli(t, s.Reader, "environments", "list"))
	if r := rows(t, res.Stdout); len(r) != 2 || r[0][0] != "production" || r[0][len(r[0])-1] != "30d" || r[1][len(r[1])-1] != "36h0m0s" {
		t.Errorf("list %q", res.Stdout)
	}
	for _, bad := range []string{"59m", "366d"} {
		mustFail(t, s.cli(t, s.Admin, "environments", "update", "staging", "--capture-retention", bad), exitInvalid, "capture_retention_seconds")
	}
	mustFail(t, s.cli(t, s.Admin, "environments", "create", "qa", "--email-domain", "qa.example.test", "--capture-retention", "30m"),
		exitInvalid, "capture_retention_seconds")
	mustFail(t, s.cli(t, s.Admin, "environments", "update", "staging", "--capture-retention", "a month"), exitUsage, "--capture-retention")
	for _, body := range []string{`{"capture_retention_seconds": 60}`, `{"capture_retention_seconds": 31536001}`} {
		resp, b := s.raw(t, s.Admin, http.MethodPatch, "/v1/environments/staging", "application/json", strings.NewReader(body))
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"field":"capture_retention_seconds"`) {
			t.Errorf("PATCH %s: %d %s; want 422 naming capture_retention_seconds", body, resp.StatusCode, b)
		}
	}
	if e := decode[openapi.Environment](t, s, "environments", "get", "staging"); e.CaptureRetentionSeconds != 129600 {
		t.Errorf("after the refusals %+v", e)
	}
}
