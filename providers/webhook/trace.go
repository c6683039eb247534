package webhook

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy/tracing"
)

// The attributes of a call's span: the app's name, the operation, the
// attempts and the last status; never a header, a body or the URL.
const (
	attrApp      = attribute.Key("understudy.app")
	attrOp       = attribute.Key("understudy.webhook.op")
	attrAttempts = attribute.Key("understudy.webhook.attempts")
	attrMethod   = attribute.Key("http.request.method")
	attrStatus   = attribute.Key("http.response.status_code")
)

// startSpan starts the client span of one call (its attempts and their
// waits), a child of the span ctx carries.
func (c *Client) startSpan(ctx context.Context, o op) (context.Context, trace.Span) {
	return tracing.Start(ctx, "webhook "+string(o), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrApp.String(c.cfg.App), attrOp.String(string(o)), attrMethod.String("POST")))
}

// endSpan ends a call's span with its attempts and its last answer's
// status; a failed call's status says the HTTP status, or that none came.
func endSpan(span trace.Span, attempts int, last reply, err error) {
	span.SetAttributes(attrAttempts.Int(attempts))
	if last.status != 0 {
		span.SetAttributes(attrStatus.Int(last.status))
	}
	if err != nil {
		what := "no answer"
		if last.status != 0 {
			what = "HTTP " + strconv.Itoa(last.status)
		}
		span.SetStatus(codes.Error, what)
	}
	span.End()
}
