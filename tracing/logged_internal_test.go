package tracing

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// failing is an exporter whose every export fails.
type failing struct{ sdktrace.SpanExporter }

func (failing) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	return errors.New("connection refused")
}

// Failed exports are logged at most once per period, with what was lost
// since the last line, and never reach the batch processor.
func TestFailedExportsAreLoggedOnceAMinute(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := &loggedExporter{SpanExporter: failing{tracetest.NewInMemoryExporter()}, log: slog.New(slog.NewTextHandler(&out, nil)),
		every: time.Minute, now: func() time.Time { return now }}
	spans := make([]sdktrace.ReadOnlySpan, 3)
	for i, at := range []time.Duration{0, time.Second, 30 * time.Second, time.Minute + time.Second} {
		now = now.Add(at)
		if err := e.ExportSpans(t.Context(), spans); err != nil {
			t.Fatalf("export %d returned %v to the processor", i, err)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "batches=1 spans=3") || !strings.Contains(lines[1], "batches=3 spans=9") ||
		!strings.Contains(lines[1], "connection refused") {
		t.Errorf("logged:\n%s\nwant two lines: the first failure, then the three since", out.String())
	}
}
