package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy"
)

// The W3C header names, as HTTP headers (canonical) and as they are
// written in the specification.
const (
	HeaderTraceparent = "Traceparent"
	HeaderTracestate  = "Tracestate"
)

// MaxTracestate is the longest tracestate kept, in bytes: the 512 that
// the specification asks every vendor to propagate. A longer one is
// dropped whole (the traceparent is kept).
const MaxTracestate = 512

// w3c reads and writes traceparent and tracestate.
var w3c propagation.TraceContext

// pair is a carrier of one traceparent and one tracestate.
type pair struct{ traceparent, tracestate string }

func (p *pair) Get(key string) string {
	switch key {
	case "traceparent":
		return p.traceparent
	case "tracestate":
		return p.tracestate
	}
	return ""
}

func (p *pair) Set(key, value string) {
	switch key {
	case "traceparent":
		p.traceparent = value
	case "tracestate":
		p.tracestate = value
	}
}

func (p *pair) Keys() []string { return []string{"traceparent", "tracestate"} }

// Remote returns ctx carrying the trace context of traceparent and
// tracestate as its remote parent, so that the next span started from it
// continues that trace. An invalid traceparent (as the specification
// defines it) leaves ctx as it is: a span started from it then begins a
// trace of its own. A tracestate that does not parse, or is longer than
// MaxTracestate, is dropped.
func Remote(ctx context.Context, traceparent, tracestate string) context.Context {
	if traceparent == "" {
		return ctx
	}
	if len(tracestate) > MaxTracestate {
		tracestate = ""
	}
	return w3c.Extract(ctx, &pair{traceparent: traceparent, tracestate: tracestate})
}

// Headers returns the traceparent and tracestate of the span context ctx
// carries, or "" for each when it carries none (or no tracestate). A
// traceparent is 55 bytes: 00-<trace id>-<span id>-<flags>.
func Headers(ctx context.Context) (traceparent, tracestate string) {
	var p pair
	w3c.Inject(ctx, &p)
	return p.traceparent, p.tracestate
}

// Inject sets the traceparent and tracestate headers of h from ctx, when
// it carries a span context.
func Inject(ctx context.Context, h http.Header) {
	w3c.Inject(ctx, propagation.HeaderCarrier(h))
}

// TraceID returns the trace id of a valid traceparent, in hex, or "".
func TraceID(traceparent string) string {
	sc := trace.SpanContextFromContext(Remote(context.Background(), traceparent, ""))
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// Start starts a span named name as a child of the span ctx carries,
// through the provider of that span: with no span in ctx, or one of a
// provider that records nothing, the span records nothing either, and
// carries the trace context ctx has, if any.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(Scope).Start(ctx, name, opts...)
}

// Fail marks span failed with err's code and safe message (those
// Understudy's API would answer), when err is not nil. Nothing else of
// err is recorded: an internal error's details stay in the logs.
func Fail(span trace.Span, err error) {
	if err == nil {
		return
	}
	span.SetStatus(codes.Error, clip(understudy.ErrorCode(err)+": "+understudy.ErrorMessage(err), 500))
}
