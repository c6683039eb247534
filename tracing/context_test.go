package tracing_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/tracing"
)

// The example of the W3C specification.
const (
	exampleTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	exampleSpan   = "00f067aa0ba902b7"
	exampleParent = "00-" + exampleTrace + "-" + exampleSpan + "-01"
)

func TestRemoteAndHeadersRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := tracing.Remote(context.Background(), exampleParent, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
	tp, ts := tracing.Headers(ctx)
	if tp != exampleParent || ts != "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7" {
		t.Errorf("Headers = %q, %q; want the traceparent and tracestate given", tp, ts)
	}
	if got := tracing.TraceID(exampleParent); got != exampleTrace {
		t.Errorf("TraceID = %q, want %s", got, exampleTrace)
	}
	h := http.Header{}
	tracing.Inject(ctx, h)
	if h.Get("traceparent") != exampleParent || h.Get("tracestate") != ts {
		t.Errorf("Inject set %v", h)
	}
}

// A traceparent that the specification calls invalid is ignored: the
// context is left as it was, and a span started from it starts a trace.
func TestRemoteIgnoresInvalidTraceparents(t *testing.T) {
	t.Parallel()
	for _, tp := range []string{
		"",
		"00-" + exampleTrace + "-" + exampleSpan, // no flags
		"00-" + strings.ToUpper(exampleTrace) + "-" + exampleSpan + "-01", // upper case
		"00-00000000000000000000000000000000-" + exampleSpan + "-01",      // zero trace id
		"00-" + exampleTrace + "-0000000000000000-01",                     // zero span id
		"ff-" + exampleTrace + "-" + exampleSpan + "-01",                  // version ff
		"00-" + exampleTrace + "-" + exampleSpan + "-01-extra",            // version 00 with more
		"00-" + exampleTrace + "z-" + exampleSpan + "-01",                 // not hex
		strings.Repeat("x", 10000),                                        // long
		"00-" + exampleTrace + "-" + exampleSpan + "-01\r\nX-Injected: 1", // a header smuggled in
	} {
		ctx := tracing.Remote(context.Background(), tp, "a=b")
		if got, _ := tracing.Headers(ctx); got != "" {
			t.Errorf("Remote(%q) kept a trace context: %q", tp, got)
		}
		if tracing.TraceID(tp) != "" {
			t.Errorf("TraceID(%q) = %q, want none", tp, tracing.TraceID(tp))
		}
	}
}

// A tracestate over 512 bytes, or one that does not parse, is dropped; the
// traceparent is kept.
func TestRemoteDropsBadTracestates(t *testing.T) {
	t.Parallel()
	long := "a=" + strings.Repeat("b", tracing.MaxTracestate)
	for _, ts := range []string{long, "not a tracestate", "=x"} {
		tp, got := tracing.Headers(tracing.Remote(context.Background(), exampleParent, ts))
		if tp != exampleParent || got != "" {
			t.Errorf("Remote with tracestate %.20q…: %q, %q; want the traceparent alone", ts, tp, got)
		}
	}
}

// Start makes a child of the span in the context with that span's own
// provider; without a span it records nothing and keeps the remote context.
func TestStartUsesTheProviderOfTheSpanInTheContext(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	_, child := tracing.Start(ctx, "child")
	child.End()
	parent.End()
	ended := rec.Ended()
	if len(ended) != 2 || ended[0].Name() != "child" || ended[0].Parent().SpanID() != parent.SpanContext().SpanID() ||
		ended[0].SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Fatalf("ended spans %v, want child then parent, in one trace", ended)
	}

	remote := tracing.Remote(context.Background(), exampleParent, "")
	rctx, span := tracing.Start(remote, "unrecorded")
	if span.IsRecording() {
		t.Error("a span started under a bare remote context records")
	}
	if got, _ := tracing.Headers(rctx); got != exampleParent {
		t.Errorf("under a bare remote context, the trace context became %q, want %s", got, exampleParent)
	}
	if _, span := tracing.Start(context.Background(), "nothing"); span.SpanContext().IsValid() {
		t.Error("a span started with no trace context has one")
	}
}

// Local makes trace contexts without exporting: a lease has a trace id
// even without a backend.
func TestLocalMakesTraceContexts(t *testing.T) {
	t.Parallel()
	ctx, span := tracing.Local().Tracer().Start(context.Background(), "lease.acquire")
	defer span.End()
	tp, _ := tracing.Headers(ctx)
	if len(tp) != 55 || tracing.TraceID(tp) != span.SpanContext().TraceID().String() || !span.SpanContext().IsSampled() {
		t.Errorf("Local's span has traceparent %q, want a sampled one of its trace %s", tp, span.SpanContext().TraceID())
	}
	if tracing.Local() != tracing.Local() {
		t.Error("Local is not one provider")
	}
}

func TestFailSaysTheCodeAndTheSafeMessage(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tr := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("test")
	for _, err := range []error{understudy.Errorf(understudy.ECONFLICT, "every account is leased"), context.DeadlineExceeded, nil} {
		_, span := tr.Start(context.Background(), "x")
		tracing.Fail(span, err)
		span.End()
	}
	ended := rec.Ended()
	want := []string{"conflict: every account is leased", "internal: internal error", ""}
	for i, s := range ended {
		if s.Status().Description != want[i] {
			t.Errorf("span %d status %q, want %q", i, s.Status().Description, want[i])
		}
	}
	if ended[2].Status().Code == ended[0].Status().Code {
		t.Error("a span without an error is marked failed")
	}
}
