package chirp

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy/tracing"
)

// HeaderLease names the Understudy lease a request was made under: the
// Playwright fixture sends it, beside traceparent, on every request of a
// test.
const HeaderLease = "X-Understudy-Lease"

// leaseRE is what a lease id may look like in a log line: Understudy's are
// UUIDs; anything else is left out.
var leaseRE = regexp.MustCompile(`^[0-9a-fA-F-]{1,64}$`)

// webhookOpRE is a path of the webhook contract, named as is in a span.
var webhookOpRE = regexp.MustCompile(`^/understudy/[a-z]{1,20}$`)

// traced is chirp's correlation with the test runs that call it. A request
// that carries a W3C traceparent (https://www.w3.org/TR/trace-context/)
// continues that trace: with a tracer (Config.Tracer) it is a server span
// of it, and in any case it is logged once, with its trace id, as is every
// line logged while it runs (logHandler). Requests without a traceparent
// and without a tracer pass untouched.
func (a *App) traced(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := tracing.Remote(r.Context(), r.Header.Get("traceparent"), r.Header.Get("tracestate"))
		remote := trace.SpanContextFromContext(ctx).IsValid()
		if !remote && a.tracer == nil {
			next.ServeHTTP(w, r)
			return
		}
		var span trace.Span = trace.SpanFromContext(ctx) // a tracer's span, or the remote context's
		if a.tracer != nil {
			ctx, span = a.tracer.Start(ctx, "chirp "+r.Method, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		r = r.WithContext(ctx)
		start := time.Now()
		next.ServeHTTP(sw, r)
		route := routeOf(r)
		if a.tracer != nil {
			span.SetName("chirp " + route)
			span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", sw.status))
			if sw.status >= 500 {
				span.SetStatus(codes.Error, "HTTP "+strconv.Itoa(sw.status))
			}
			span.End()
		}
		if remote {
			attrs := []any{slog.String("method", r.Method), slog.String("route", route), slog.Int("status", sw.status),
				slog.Duration("duration", time.Since(start))}
			if lease := leaseOf(r); lease != "" {
				attrs = append(attrs, slog.String("lease", lease))
			}
			a.log.InfoContext(ctx, "chirp request", attrs...)
		}
	})
}

// routeOf is the pattern that served r, or for the webhook contract the
// operation's path, after the method: "POST /users/{id}/cart".
func routeOf(r *http.Request) string {
	route := r.Pattern
	switch {
	case route == "/understudy/" && webhookOpRE.MatchString(r.URL.Path):
		route = r.URL.Path
	case route == "":
		route = "unmatched"
	}
	if !strings.Contains(route, " ") {
		route = r.Method + " " + route
	}
	return route
}

// leaseOf is the request's X-Understudy-Lease when it looks like a lease id.
func leaseOf(r *http.Request) string {
	if v := r.Header.Get(HeaderLease); leaseRE.MatchString(v) {
		return v
	}
	return ""
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// reportError logs an internal error of request r: chirp's error report.
// It carries the trace id of r (logHandler) and, when the user r acts as
// is synthetic (syntheticRequest), synthetic=true, so that the errors a
// test run met are told from real users' at a glance.
func (a *App) reportError(r *http.Request, msg string, attrs ...any) {
	if a.syntheticRequest(r) {
		attrs = append(attrs, slog.Bool("synthetic", true))
	}
	if lease := leaseOf(r); lease != "" {
		attrs = append(attrs, slog.String("lease", lease))
	}
	a.log.ErrorContext(r.Context(), msg, attrs...)
}

const isSyntheticSQL = `SELECT is_synthetic FROM users WHERE id = $1`

// syntheticRequest reports whether the user request r acts as is one of
// Understudy's synthetic users, as chirp marks them (users.is_synthetic,
// set when Understudy provisions them through the webhook contract): the
// webhook contract's requests are Understudy's own, about its synthetic
// users; an API request acts as the user of its path ({id}) or as its
// viewer (?viewer=); a page as its signed-in user. It reads the database
// only when it is asked, for an error report, within a second of its own.
func (a *App) syntheticRequest(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/understudy/") {
		return true
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Second)
	defer cancel()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		id, err = strconv.ParseInt(r.URL.Query().Get("viewer"), 10, 64)
	}
	if err == nil {
		var synthetic bool
		return a.db.QueryRow(ctx, isSyntheticSQL, id).Scan(&synthetic) == nil && synthetic
	}
	u, ok, err := a.viewer(r.WithContext(ctx))
	return err == nil && ok && u.IsSynthetic
}

// logHandler adds to every record logged with a context the trace id (and
// span id) that context carries: the request's, when it came with a
// traceparent.
type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{h.Handler.WithGroup(name)}
}
