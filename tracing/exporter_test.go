package tracing_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/understudy-dev/understudy/tracing"
)

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		env      map[string]string
		endpoint string
		err      string
	}{
		{"nothing set", nil, "", ""},
		{"the base endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "http://collector:4318/v1/traces", ""},
		{"a base with a slash and a path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example/prefix/"}, "https://otlp.example/prefix/v1/traces", ""},
		{"the traces endpoint wins, as is", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom"}, "http://b:4318/custom", ""},
		{"http/protobuf", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "http://c:4318/v1/traces", ""},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, "", ""},
		{"sdk disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, "", ""},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "", "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"traces grpc", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, "", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
		{"another exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "", "OTEL_TRACES_EXPORTER"},
		{"credentials in the URL", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://user:hunter2@c:4318"}, "", "OTEL_EXPORTER_OTLP_HEADERS"},
		{"no scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "",
			`OTEL_EXPORTER_OTLP_ENDPOINT: must be an http or https URL such as http://collector:4318, not "collector:4318"`},
		{"a traces endpoint with no scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "b:4318/v1/traces"}, "",
			`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: must be an http or https URL such as http://collector:4318, not "b:4318/v1/traces"`},
		{"credentials in the traces URL", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://user:hunter2@c:4318/v1/traces"}, "",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: must not carry user information: put credentials in OTEL_EXPORTER_OTLP_HEADERS"},
	} {
		cfg, err := tracing.ConfigFromEnv(func(k string) string { return c.env[k] })
		switch {
		case c.err == "" && (err != nil || cfg.Endpoint != c.endpoint):
			t.Errorf("%s: endpoint %q, %v; want %q", c.name, cfg.Endpoint, err, c.endpoint)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: err %v, want one naming %s", c.name, err, c.err)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("%s: the error repeats the password: %v", c.name, err)
		}
	}
}

// collector is an OTLP/HTTP receiver that keeps what it is sent.
type collector struct {
	mu       sync.Mutex
	requests []*coltrace.ExportTraceServiceRequest
	bad      []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req coltrace.ExportTraceServiceRequest
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil, r.Method != http.MethodPost, r.URL.Path != "/v1/traces", r.Header.Get("Content-Type") != "application/x-protobuf":
		c.bad = append(c.bad, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusBadRequest)
		return
	case proto.Unmarshal(body, &req) != nil:
		c.bad = append(c.bad, "a body that is not an ExportTraceServiceRequest")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.requests = append(c.requests, &req)
	w.Header().Set("Content-Type", "application/x-protobuf")
}

// spans are the names of the spans received, by service name.
func (c *collector) spans() map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]string{}
	for _, req := range c.requests {
		for _, rs := range req.ResourceSpans {
			service := ""
			for _, kv := range rs.Resource.Attributes {
				if kv.Key == "service.name" {
					service = kv.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					out[service] = append(out[service], s.Name)
				}
			}
		}
	}
	return out
}

// Spans are exported over OTLP/HTTP as protobuf, under the service name,
// by the shutdown's flush at the latest.
func TestSpansAreExportedOverOTLPHTTP(t *testing.T) {
	t.Parallel()
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	p, err := tracing.New(t.Context(), tracing.Config{Endpoint: srv.URL + "/v1/traces", ServiceName: "understudy-test"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Endpoint() != srv.URL+"/v1/traces" {
		t.Errorf("Endpoint = %q", p.Endpoint())
	}
	ctx, parent := p.Tracer().Start(context.Background(), "lease.acquire")
	_, child := tracing.Start(ctx, "snapshot.reset")
	child.End()
	parent.End()
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := p.Shutdown(t.Context()); err != nil {
		t.Errorf("a second Shutdown: %v", err)
	}
	got := col.spans()
	if len(col.bad) > 0 || len(got) != 1 || strings.Join(got["understudy-test"], ",") != "snapshot.reset,lease.acquire" {
		t.Errorf("the collector got %v (refused %v), want snapshot.reset and lease.acquire of understudy-test", got, col.bad)
	}
}

// resources are the resource attributes of the spans received.
func (c *collector) resources() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]string{}
	for _, req := range c.requests {
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.Resource.Attributes {
				out[kv.Key] = kv.Value.GetStringValue()
			}
		}
	}
	return out
}

// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the service and
// describe it, over the default service name. (Not parallel: it sets the
// process's environment.)
func TestTheResourceFollowsTheEnvironment(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "understudy-eu")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=prod,service.name=ignored")
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	p, err := tracing.New(t.Context(), tracing.Config{Endpoint: srv.URL + "/v1/traces"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Tracer().Start(context.Background(), "lease.acquire")
	span.End()
	if err := p.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	res := col.resources()
	if res["service.name"] != "understudy-eu" || res["deployment.environment.name"] != "prod" {
		t.Errorf("the resource is %v, want service.name understudy-eu and deployment.environment.name prod", res)
	}
}

// hangingCollector accepts requests and answers none until released.
type hangingCollector struct {
	arrived chan struct{} // closed by the first request
	once    sync.Once
	count   atomic.Int64
	release chan struct{}
}

func newHangingCollector(t *testing.T) (*hangingCollector, string) {
	h := &hangingCollector{arrived: make(chan struct{}), release: make(chan struct{})}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(h.release) }) // before srv.Close, which waits for the handlers
	return h, srv.URL + "/v1/traces"
}

func (h *hangingCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.count.Add(1)
	h.once.Do(func() { close(h.arrived) })
	select {
	case <-h.release:
	case <-r.Context().Done():
	}
}

// await waits for ch, failing the test after a minute: a bound on the
// test's own run, never a measure of speed.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("%s did not happen within a minute", what)
	}
}

// endSpans ends n spans on another goroutine, and closes the returned
// channel once every End has returned.
func endSpans(p *tracing.Provider, n int) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			_, span := p.Tracer().Start(context.Background(), "lease.acquire")
			span.End()
		}
	}()
	return done
}

// While the exporter is stuck in a request that never ends, ending spans
// does not wait: they go to a bounded queue, and past it are dropped, and
// no second export starts. The shutdown's flush gives up at its deadline.
func TestAHangingExporterNeverHoldsTheSpansEnd(t *testing.T) {
	t.Parallel()
	h, endpoint := newHangingCollector(t)
	p, err := tracing.New(t.Context(), tracing.Config{Endpoint: endpoint, BatchTimeout: time.Millisecond, MaxQueueSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	await(t, endSpans(p, 1), "ending the first span")
	await(t, h.arrived, "the first export")
	// The exporter holds its request now: a thousand spans more, 125
	// times the queue, end all the same.
	await(t, endSpans(p, 1000), "ending spans while the exporter hangs")
	if n := h.count.Load(); n != 1 {
		t.Errorf("the collector got %d requests while the first hung, want 1: the spans were not left to the one exporting goroutine", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown while the export hangs = %v, want the deadline's error", err)
	}
}

// countingTransport counts the requests the exporter tries, and closes
// tried at the first.
type countingTransport struct {
	count atomic.Int64
	once  sync.Once
	tried chan struct{}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.count.Add(1)
	c.once.Do(func() { close(c.tried) })
	return http.DefaultTransport.RoundTrip(r)
}

// lockedBuffer is a log's output, written by the exporting goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// An endpoint that refuses connections makes the exports fail on the
// exporting goroutine, which logs it; ending spans meanwhile does not wait.
func TestARefusingExporterNeverHoldsTheSpansEnd(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String() + "/v1/traces"
	ln.Close() // nothing listens there now: connections are refused
	tr := &countingTransport{tried: make(chan struct{})}
	logs := &lockedBuffer{}
	p, err := tracing.New(t.Context(), tracing.Config{Endpoint: endpoint, BatchTimeout: time.Millisecond, MaxQueueSize: 8,
		HTTPClient: &http.Client{Transport: tr}, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	await(t, endSpans(p, 1), "ending the first span")
	await(t, tr.tried, "the first export")
	await(t, endSpans(p, 1000), "ending spans while the exporter is refused")
	if err := p.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown = %v: a refused export is logged, not returned", err)
	}
	if out := logs.String(); !strings.Contains(out, "exporting spans failed") || !strings.Contains(out, "refused") {
		t.Errorf("the refused exports were not logged:\n%s", out)
	}
}
