package webhook_test

import (
	"net/http"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/tracing"
)

// A call made in a trace is a client span of it, and every attempt sends
// that span's traceparent (and the trace's tracestate), so the app's own
// span of the request is its child.
func TestCallsCarryTheTraceContext(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		verified(w)
	})
	c, _ := newClient(t, a.URL+"/understudy/", nil)
	rec := tracetest.NewSpanRecorder()
	tr := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("test")
	ctx := tracing.Remote(t.Context(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=opaque")
	ctx, parent := tr.Start(ctx, "snapshot.restore")
	if err := c.Verify(ctx, providers.Target{Ref: "42", AccountID: "acct-1"}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	spans := rec.Ended()
	if len(spans) != 2 || spans[0].Name() != "webhook verify" || spans[0].SpanKind() != trace.SpanKindClient ||
		spans[0].Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("spans %v, want the client span webhook verify under the caller's", spans)
	}
	call := spans[0]
	attrs := map[string]string{}
	for _, kv := range call.Attributes() {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	if attrs["understudy.app"] != "shop" || attrs["understudy.webhook.attempts"] != "2" || attrs["http.response.status_code"] != "200" {
		t.Errorf("the call's attributes %v, want app shop, 2 attempts, status 200", attrs)
	}
	want, _ := tracing.Headers(trace.ContextWithSpanContext(t.Context(), call.SpanContext()))
	reqs := a.requests()
	for i, r := range reqs {
		if got := r.header.Get("traceparent"); got != want {
			t.Errorf("attempt %d: traceparent %q, want the call's span, %q", i+1, got, want)
		}
		if got := r.header.Get("tracestate"); got != "vendor=opaque" {
			t.Errorf("attempt %d: tracestate %q, want vendor=opaque", i+1, got)
		}
	}

	// Outside a trace, no traceparent is sent.
	if err := c.Verify(t.Context(), providers.Target{Ref: "42", AccountID: "acct-1"}); err != nil {
		t.Fatal(err)
	}
	if last := a.requests()[len(reqs)]; last.header.Get("traceparent") != "" || last.header.Get("tracestate") != "" {
		t.Errorf("a call outside a trace sent traceparent %q", last.header.Get("traceparent"))
	}
}

// A failed call's span says its status, never the app's words.
func TestAFailedCallsSpanSaysTheStatus(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
		problem(w, http.StatusConflict, "not_synthetic", "user 42 is rosa@example.com, a real user")
	})
	c, _ := newClient(t, a.URL+"/understudy/", nil)
	rec := tracetest.NewSpanRecorder()
	ctx, parent := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("test").Start(t.Context(), "parent")
	if err := c.Verify(ctx, providers.Target{Ref: "42", AccountID: "acct-1"}); err == nil {
		t.Fatal("Verify of a real user succeeded")
	}
	parent.End()
	if s := rec.Ended()[0]; s.Status().Description != "HTTP 409" {
		t.Errorf("the failed call's status %q, want HTTP 409", s.Status().Description)
	}
}
