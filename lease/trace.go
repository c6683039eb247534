package lease

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/tracing"
)

// The attributes of a lease's spans: ids and names, never credentials.
const (
	attrLease       = attribute.Key("understudy.lease.id")
	attrAccount     = attribute.Key("understudy.account.id")
	attrEnvironment = attribute.Key("understudy.environment")
	attrRole        = attribute.Key("understudy.role")
	attrState       = attribute.Key("understudy.state")
	attrHolder      = attribute.Key("understudy.lease.holder")
	attrRequest     = attribute.Key("understudy.request_id")
	attrReplayed    = attribute.Key("understudy.lease.replayed")
	attrReset       = attribute.Key("understudy.lease.reset")
	attrOutcome     = attribute.Key("understudy.run.outcome")
)

// leaseAttributes name l in a span.
func leaseAttributes(l Lease) []attribute.KeyValue {
	return []attribute.KeyValue{attrLease.String(l.ID), attrAccount.String(l.AccountID), attrEnvironment.String(l.Environment),
		attrRole.String(l.Role), attrState.String(l.State)}
}

// startAcquire starts the span of an acquisition: a child of the trace
// context ctx carries (the caller's traceparent), or the root of a new
// trace. The lease keeps its context.
func (s *Service) startAcquire(ctx context.Context, req Request) (context.Context, trace.Span) {
	return s.tracer.Start(ctx, "lease.acquire", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attrEnvironment.String(req.Environment), attrRole.String(req.Role), attrState.String(req.State),
		attrHolder.String(req.Holder), attrRequest.String(access.RequestID(ctx))))
}

// Span starts a span named name for work on lease l (a read of its inbox,
// of its authenticator code), in the lease's trace: its parent is the
// trace context the lease kept at its acquisition. A lease without one
// (acquired before leases kept it) starts a trace of its own. The caller
// ends the span.
func (s *Service) Span(ctx context.Context, l Lease, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	ctx = tracing.Remote(ctx, l.Traceparent, l.tracestate)
	opts = append(opts, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(append(leaseAttributes(l), attrRequest.String(access.RequestID(ctx)))...))
	return s.tracer.Start(ctx, name, opts...)
}

// record adds a finished span named name, from start to now, to lease
// l's trace: for work whose statement told the lease (and so its trace
// context) only as it ended it.
func (s *Service) record(ctx context.Context, l Lease, name string, start time.Time, attrs ...attribute.KeyValue) {
	_, span := s.Span(ctx, l, name, trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	span.End()
}

// endSpan ends span, naming the lease it found (a replay's), if any, and
// the error it failed with.
func endSpan(span trace.Span, l Lease, err error) {
	if l.ID != "" {
		span.SetAttributes(attrLease.String(l.ID), attrAccount.String(l.AccountID))
	}
	tracing.Fail(span, err)
	span.End()
}
