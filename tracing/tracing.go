package tracing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of Understudy's spans.
const Scope = "github.com/understudy-dev/understudy"

// Config configures New.
type Config struct {
	// Endpoint is the OTLP/HTTP URL spans are sent to, path included, such
	// as http://collector:4318/v1/traces. Defaults to "": spans are made
	// (trace ids for the leases) and not exported.
	Endpoint string
	// ServiceName is the resource's service.name, unless OTEL_SERVICE_NAME
	// or OTEL_RESOURCE_ATTRIBUTES set one. Defaults to "understudy".
	ServiceName string
	// BatchTimeout is the longest a span waits in the queue before it is
	// exported. Defaults to OTEL_BSP_SCHEDULE_DELAY, or 5s.
	BatchTimeout time.Duration
	// MaxQueueSize bounds the spans waiting for export; past it spans are
	// dropped, never waited for. Defaults to OTEL_BSP_MAX_QUEUE_SIZE, or 2048.
	MaxQueueSize int
	// HTTPClient sends the exports. Defaults to the exporter's own, whose
	// timeout is OTEL_EXPORTER_OTLP_TIMEOUT (or 10s).
	HTTPClient *http.Client
	// Logger receives failed exports, at most one line a minute. Defaults
	// to discarding.
	Logger *slog.Logger
}

// ConfigFromEnv reads the OpenTelemetry environment variables that decide
// whether and where spans are exported: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// (the URL as is), else OTEL_EXPORTER_OTLP_ENDPOINT (its base, to which
// /v1/traces is added); OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none
// turn the export off. Only OTLP over HTTP with protobuf is spoken: an
// OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL of grpc, or an exporter other than
// otlp or none, is an error naming the variable. The exporter reads the
// other OTEL_EXPORTER_OTLP_* variables (headers, timeout, compression,
// certificates) itself, and the batch processor its OTEL_BSP_* ones.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	switch v := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); v {
	case "", "otlp":
	case "none":
		return c, nil
	default:
		return c, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: Understudy exports spans with otlp (or none), nothing else", v)
	}
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return c, nil
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			if v != "http/protobuf" {
				return c, fmt.Errorf("%s=%q: Understudy exports spans over OTLP/HTTP with protobuf (http/protobuf), not %s", name, v, v)
			}
			break
		}
	}
	// An error names the variable that was read and its value as given.
	name, given := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
	if given != "" {
		c.Endpoint = given
	} else if given = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")); given != "" {
		name, c.Endpoint = "OTEL_EXPORTER_OTLP_ENDPOINT", strings.TrimRight(given, "/")+"/v1/traces"
	}
	if c.Endpoint != "" {
		if err := checkEndpoint(given); err != nil {
			return Config{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	return c, nil
}

// checkEndpoint accepts an http or https URL with a host and no user
// information (OTLP's credentials go in OTEL_EXPORTER_OTLP_HEADERS, which
// no message repeats).
func checkEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.User != nil:
		return errors.New("must not carry user information: put credentials in OTEL_EXPORTER_OTLP_HEADERS")
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return fmt.Errorf("must be an http or https URL such as http://collector:4318, not %q", endpoint)
	}
	return nil
}

// Provider makes Understudy's spans and, when it has an endpoint, exports
// them. It is safe for concurrent use.
type Provider struct {
	tp       *sdktrace.TracerProvider
	tracer   trace.Tracer
	endpoint string
}

// New returns a Provider configured by cfg. It connects to nothing: an
// endpoint that is down shows only in the export's log lines.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(cmp.Or(cfg.ServiceName, "understudy"))),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil && res == nil {
		return nil, fmt.Errorf("tracing: the resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.Endpoint != "" {
		if err := checkEndpoint(cfg.Endpoint); err != nil {
			return nil, fmt.Errorf("tracing: the endpoint %w", err)
		}
		exp, err := newExporter(ctx, cfg)
		if err != nil {
			return nil, err
		}
		var bsp []sdktrace.BatchSpanProcessorOption
		if cfg.BatchTimeout > 0 {
			bsp = append(bsp, sdktrace.WithBatchTimeout(cfg.BatchTimeout))
		}
		if cfg.MaxQueueSize > 0 {
			bsp = append(bsp, sdktrace.WithMaxQueueSize(cfg.MaxQueueSize))
		}
		// The processor's enqueue never blocks (no WithBlocking): a full
		// queue drops the span.
		opts = append(opts, sdktrace.WithBatcher(exp, bsp...))
	}
	p := Of(sdktrace.NewTracerProvider(opts...))
	p.endpoint = cfg.Endpoint
	return p, nil
}

// newExporter is the OTLP/HTTP exporter to cfg.Endpoint, behind a
// logger of its failures.
func newExporter(ctx context.Context, cfg Config) (sdktrace.SpanExporter, error) {
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(cfg.Endpoint)}
	if cfg.HTTPClient != nil {
		opts = append(opts, otlptracehttp.WithHTTPClient(cfg.HTTPClient))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: the OTLP exporter: %w", err)
	}
	return &loggedExporter{SpanExporter: exp, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)), every: time.Minute, now: time.Now}, nil
}

// Of returns a Provider of tp, an SDK provider built elsewhere (a test's,
// with a span recorder); it exports what tp's processors export, and its
// Shutdown shuts tp down.
func Of(tp *sdktrace.TracerProvider) *Provider {
	return &Provider{tp: tp, tracer: tp.Tracer(Scope)}
}

// Tracer returns the tracer of Understudy's spans.
func (p *Provider) Tracer() trace.Tracer { return p.tracer }

// TracerProvider returns the provider itself, for the tracers of other
// instrumentation scopes (an example app's).
func (p *Provider) TracerProvider() trace.TracerProvider { return p.tp }

// Endpoint returns where spans are exported, or "" when they are not.
func (p *Provider) Endpoint() string { return p.endpoint }

// Shutdown exports the spans still queued, within ctx's deadline, and
// stops the export. Spans ended afterwards are dropped. It is safe twice.
func (p *Provider) Shutdown(ctx context.Context) error {
	if err := p.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("flushing spans to %s: %w", p.endpoint, err)
	}
	return nil
}

// Local returns the process's provider that exports nothing: trace
// contexts without a backend, for services that were given no Provider.
func Local() *Provider { return local() }

var local = sync.OnceValue(func() *Provider { return Of(sdktrace.NewTracerProvider()) })

// loggedExporter logs the failures of the exporter it wraps, at most once
// per every, and tells the batch processor nothing of them: it has no more
// to do with a failed batch than drop it, which it does.
type loggedExporter struct {
	sdktrace.SpanExporter
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	last    time.Time // of the last line logged
	failed  int       // batches failed since then
	dropped int       // spans in them
}

// ExportSpans exports spans, logging a failure.
func (e *loggedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err == nil {
		return nil
	}
	e.mu.Lock()
	e.failed++
	e.dropped += len(spans)
	now := e.now()
	if !e.last.IsZero() && now.Sub(e.last) < e.every {
		e.mu.Unlock()
		return nil
	}
	failed, dropped := e.failed, e.dropped
	e.last, e.failed, e.dropped = now, 0, 0
	e.mu.Unlock()
	e.log.Warn("exporting spans failed; they are dropped, and the work they record is not affected",
		slog.Int("batches", failed), slog.Int("spans", dropped), slog.String("error", clip(err.Error(), 300)))
	return nil
}

// clip cuts s to at most n bytes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
