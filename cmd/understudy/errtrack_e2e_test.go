package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/understudy-dev/understudy/internal/sentrytest"
)

// startTracked starts the server with error tracking sent to f.
func startTracked(t *testing.T, f *sentrytest.Fake, logs io.Writer) *testServer {
	t.Helper()
	return startServer(t, serverOptions{Logs: logs, Mutate: func(c *Config) {
		c.SentryDSN, c.SentryEnvironment, c.SentryRelease = f.DSN, "e2e", "understudy@e2e"
	}})
}

// get sends GET path with token and returns the status and the request id.
func (s *testServer) get(t *testing.T, token, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Request-ID")
}

// breakLeases renames the leases table in the server's own database, so
// every read of a lease fails with an error no one named: a real 500 of
// the real handler, and a real failure of the lease expiry job.
func breakLeases(t *testing.T, s *testServer) {
	t.Helper()
	if _, err := s.main.pool.Exec(context.Background(), "ALTER TABLE leases RENAME TO leases_gone"); err != nil {
		t.Fatal(err)
	}
}

// With SENTRY_DSN set, the server reports a request it answers 500 with
// the request id the client saw, the lease of its path, the configured
// environment and release, and without the caller's token in any form;
// the expiry job that fails on the same broken table is reported as a
// job. Requests answered 4xx are not reported.
func TestServerReportsUnexpectedErrorsToSentry(t *testing.T) {
	t.Parallel()
	f := sentrytest.New(t)
	var logs bytes.Buffer
	s := startTracked(t, f, &logs)
	lease := uuid.NewString()
	notFound, notFoundID := s.get(t, s.Admin, "/v1/leases/"+lease)
	unauthorized, unauthorizedID := s.get(t, "ust_not_a_token", "/v1/leases/"+lease)
	if notFound != http.StatusNotFound || unauthorized != http.StatusUnauthorized {
		t.Fatalf("4xx: %d and %d", notFound, unauthorized)
	}
	breakLeases(t, s)
	failed, failedID := s.get(t, s.Admin, "/v1/leases/"+lease)
	if failed != http.StatusInternalServerError {
		t.Fatalf("a read of a lease without its table: %d, want 500", failed)
	}
	ev := f.WaitEvent(t, func(e sentrytest.Event) bool { return e.Tags["request_id"] == failedID })
	want := map[string]string{"source": "api", "route": "GET /v1/leases/:lease_id", "lease_id": lease}
	for k, v := range want {
		if ev.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, ev.Tags[k], v)
		}
	}
	if ev.Environment != "e2e" || ev.Release != "understudy@e2e" || ev.Level != "error" || ev.Request == nil ||
		ev.Request.Headers["Authorization"] != "" || !strings.Contains(ev.Exceptions[len(ev.Exceptions)-1].Value, "leases") {
		t.Errorf("event: environment %q, release %q, level %q, request %+v, exceptions %+v", ev.Environment, ev.Release, ev.Level,
			ev.Request, ev.Exceptions)
	}
	job := f.WaitEvent(t, func(e sentrytest.Event) bool { return e.Tags["source"] == "job" && e.Tags["route"] == "expire_leases" })
	if !strings.HasPrefix(job.Tags["request_id"], "job-") || job.Tags["job_id"] == "" || job.Environment != "e2e" {
		t.Errorf("job event: tags %v", job.Tags)
	}
	// The events are sent in order: the 4xx came before the 500, so had
	// they been reported they would be here by now.
	for _, e := range f.Events() {
		if id := e.Tags["request_id"]; id == notFoundID || id == unauthorizedID {
			t.Errorf("a 4xx was reported: %v", e.Tags)
		}
	}
	for _, body := range f.Bodies() {
		for _, form := range []string{s.Admin, url.QueryEscape(s.Admin), base64.StdEncoding.EncodeToString([]byte(s.Admin)),
			base64.RawURLEncoding.EncodeToString([]byte(s.Admin)), testKey} {
			if strings.Contains(string(body), form) {
				t.Fatalf("a secret reached Sentry as %q", form)
			}
		}
	}
	if !strings.Contains(logs.String(), `"msg":"reporting unexpected errors to Sentry"`) || strings.Contains(logs.String(), f.Key) {
		t.Error("the start-up log does not say errors are reported, or it shows the DSN's key")
	}
}

// Sentry that hangs slows no request: while the fake holds the first
// report unanswered, the requests after it are answered all the same, and
// the server's shutdown gives up on the held report within its bound.
func TestAHangingSentryDoesNotHoldTheServer(t *testing.T) {
	t.Parallel()
	f := sentrytest.New(t)
	s := startTracked(t, f, nil)
	arrived, release := f.Hang()
	defer release()
	breakLeases(t, s)
	if status, _ := s.get(t, s.Admin, "/v1/leases/"+uuid.NewString()); status != http.StatusInternalServerError {
		t.Fatalf("first: %d", status)
	}
	<-arrived // a report is held by Sentry now
	for i := range 5 {
		if status, _ := s.get(t, s.Admin, "/v1/leases/"+uuid.NewString()); status != http.StatusInternalServerError {
			t.Fatalf("request %d while Sentry hangs: %d", i, status)
		}
	}
	if status, _ := s.get(t, s.Admin, "/v1/environments"); status != http.StatusOK {
		t.Fatalf("a sound request while Sentry hangs: %d", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.main.Close(ctx); err != nil {
		t.Fatalf("closing while Sentry hangs: %v", err)
	}
	if len(f.Events()) != 0 {
		t.Errorf("%d events accepted by a Sentry that hangs", len(f.Events()))
	}
}

// The server's shutdown sends what is queued before it returns: a report
// made just before Close has reached Sentry once Close is done, with no
// waiting for it.
func TestShutdownFlushesReports(t *testing.T) {
	t.Parallel()
	f := sentrytest.New(t)
	s := startTracked(t, f, nil)
	breakLeases(t, s)
	status, id := s.get(t, s.Admin, "/v1/leases/"+uuid.NewString())
	if status != http.StatusInternalServerError {
		t.Fatalf("%d, want 500", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.main.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(f.Events(), func(e sentrytest.Event) bool { return e.Tags["request_id"] == id }) {
		t.Errorf("the report of request %s was not sent by the shutdown", id)
	}
}

// Without SENTRY_DSN there is no error tracking at all.
func TestNoDSNNoErrorTracking(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := startServer(t, serverOptions{Logs: &logs})
	if s.main.errors != nil || strings.Contains(logs.String(), "Sentry") {
		t.Fatal("error tracking is on without SENTRY_DSN")
	}
	breakLeases(t, s)
	if status, _ := s.get(t, s.Admin, "/v1/leases/"+uuid.NewString()); status != http.StatusInternalServerError {
		t.Fatalf("a 500 without error tracking: %d", status)
	}
}

// The Sentry settings read from the environment and from the file are
// the same; a DSN that is not one is named without being shown.
func TestSentryConfigFromEnvAndFile(t *testing.T) {
	t.Parallel()
	dsn := "https://" + strings.Repeat("ef", 16) + "@o1.ingest.sentry.io/7"
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("sentry_dsn: "+dsn+"\nsentry_environment: staging\nsentry_release: understudy@v2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := loadConfig(Config{}, path, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	fromEnv, err := loadConfig(Config{}, "", envOf(map[string]string{"SENTRY_DSN": dsn, "SENTRY_ENVIRONMENT": "staging", "SENTRY_RELEASE": "understudy@v2"}))
	if err != nil {
		t.Fatal(err)
	}
	if fromFile.SentryDSN != dsn || fromFile.SentryEnvironment != "staging" || fromFile.SentryRelease != "understudy@v2" ||
		fromEnv.SentryDSN != fromFile.SentryDSN || fromEnv.SentryEnvironment != fromFile.SentryEnvironment || fromEnv.SentryRelease != fromFile.SentryRelease {
		t.Fatalf("file %q %q %q, env %q %q %q", fromFile.SentryDSN, fromFile.SentryEnvironment, fromFile.SentryRelease,
			fromEnv.SentryDSN, fromEnv.SentryEnvironment, fromEnv.SentryRelease)
	}
	bad := Config{SentryDSN: "ftp://" + strings.Repeat("ef", 16) + "@host/1"}.WithDefaults().Validate()
	if bad == nil || !strings.Contains(bad.Error(), "SENTRY_DSN") || strings.Contains(bad.Error(), strings.Repeat("ef", 16)) {
		t.Errorf("a bad DSN: %v", bad)
	}
}
