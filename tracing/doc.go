// Package tracing makes Understudy's spans and carries W3C trace contexts
// (https://www.w3.org/TR/trace-context/) from a lease to every call made
// for it.
//
// # Spans and their export
//
// New builds a Provider: an OpenTelemetry SDK tracer provider whose
// resource is service.name "understudy" (OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES override it). With Config.Endpoint set (from
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, see
// ConfigFromEnv) its spans are exported over OTLP/HTTP by a batch span
// processor; without it they are made all the same, so that every lease has
// a trace id, and nothing is exported.
//
// The export never slows or fails the work it records: ending a span puts
// it on a bounded queue (Config.MaxQueueSize) without waiting, and one
// goroutine of the batch processor exports what the queue holds. An
// exporter that is down, slow or refusing holds that goroutine, never a
// request; once the queue is full, further spans are dropped. A failed
// export is logged (Config.Logger), at most once a minute. Shutdown
// flushes what is queued within the deadline of its context.
//
// # Carrying a trace context
//
// A trace context travels in a context.Context, as OpenTelemetry's span
// context. Remote puts a traceparent and tracestate received from a caller
// (or kept with a lease) in a context; Headers reads them back, for a
// header, an environment variable or a database setting; Inject sets the
// traceparent and tracestate headers of an outgoing request. Start starts
// a child span of the span a context carries, through that span's own
// provider, so a package deep in a call (snapshot, a provider) makes spans
// without being handed a tracer, and makes none when nothing upstream is
// tracing.
//
// # What spans say
//
// Span attributes name what was done and to what: ids (lease, account,
// request), names (environment, role, state, app, operation), counts and
// statuses. They never carry credentials, tokens, secrets, request or
// response bodies, or an app's answer; a failed span's status is the error
// code and the message Understudy's own API would answer (Fail).
package tracing
