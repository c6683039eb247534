package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The job queue's logger keeps to warnings (River's producers report job
// counts at INFO every few seconds), while the server logs at its own level.
func TestTheJobQueueLogsOnlyWarningsUnlessAsked(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	a := &cli{stderr: &buf}
	server := a.logger("info")
	jobs := slog.New(minLevel{Handler: server.Handler(), min: Config{JobLogLevel: "warn"}.jobLogLevel()})
	jobs.With("queue", "default").Info("producer: job counts", "available", 0)
	jobs.WithGroup("river").Debug("fetched")
	jobs.Warn("job failed", "attempt", 2)
	server.Info("serving")
	out := buf.String()
	if strings.Contains(out, "job counts") || strings.Contains(out, "fetched") {
		t.Fatalf("the job queue's INFO/DEBUG got through:\n%s", out)
	}
	if !strings.Contains(out, "job failed") || !strings.Contains(out, "serving") {
		t.Fatalf("a warning or the server's own INFO was lost:\n%s", out)
	}
	asked := slog.New(minLevel{Handler: a.logger("debug").Handler(), min: Config{JobLogLevel: "debug"}.jobLogLevel()})
	if !asked.Enabled(context.Background(), slog.LevelDebug) {
		t.Fatal("job_log_level debug does not let DEBUG through")
	}
}

// --dev on a terminal writes text; anywhere else, JSON lines.
func TestServerLogsAreJSONUnlessDevOnATerminal(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	a := &cli{stderr: &buf, now: time.Now}
	a.serverLogger("info", true).Info("hello")
	if !strings.HasPrefix(buf.String(), "{") {
		t.Fatalf("not a terminal, yet not JSON: %q", buf.String())
	}
}
