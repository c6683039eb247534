package chirp_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy/examples/chirp"
)

// logLines is a logger's output, read as JSON lines.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// find waits (up to 10s: a line is written as its request ends) for the
// line with msg whose attribute key is value.
func (l *logLines) find(t *testing.T, msg, key, value string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if line := l.lookup(msg, key, value); line != nil {
			return line
		}
		if time.Now().After(deadline) {
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("no %q line with %s=%s in:\n%s", msg, key, value, l.buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *logLines) lookup(msg, key, value string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for line := range strings.Lines(l.buf.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg && m[key] == value {
			return m
		}
	}
	return nil
}

const (
	traceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan  = "00f067aa0ba902b7"
	traceparent = "00-" + traceID + "-" + parentSpan + "-01"
	leaseID     = "2b8a7c1e-0d4f-4b8e-9c61-3f2a1b0c9d8e"
)

// newTracedEnv is chirp logging to lines, with a tracer whose spans rec
// records when withTracer.
func newTracedEnv(t *testing.T, withTracer bool) (*env, *logLines, *tracetest.SpanRecorder) {
	t.Helper()
	lines := &logLines{}
	rec := tracetest.NewSpanRecorder()
	e := newEnvWith(t, func(c *chirp.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(lines, nil))
		if withTracer {
			c.Tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("chirp-test")
		}
	})
	return e, lines, rec
}

// tracedCall sends method path with the test's traceparent and lease.
func (e *env) tracedCall(method, path, body string) int {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("traceparent", traceparent)
	req.Header.Set(chirp.HeaderLease, leaseID)
	status, _ := e.send(req)
	return status
}

// An error a synthetic user's request meets is reported with
// synthetic=true, the request's trace id and its lease; a real user's is
// not marked synthetic; each request with a traceparent is logged once
// with its trace id.
func TestErrorReportsNameTheTraceAndMarkSyntheticUsers(t *testing.T) {
	t.Parallel()
	e, lines, _ := newTracedEnv(t, false)
	tester := e.user("tester", true)
	real := e.user("rosa", false)
	// Without its table, adding to a cart is an internal error.
	if _, err := e.pool.Exec(t.Context(), `DROP TABLE cart_items`); err != nil {
		t.Fatal(err)
	}
	for _, u := range []chirp.User{tester, real} {
		path := "/users/" + strconv.FormatInt(u.ID, 10) + "/cart"
		if status := e.tracedCall(http.MethodPost, path, `{"sku":"mug","quantity":1}`); status != http.StatusInternalServerError {
			t.Fatalf("POST %s = %d, want 500", path, status)
		}
		report := lines.find(t, "chirp request failed", "path", path)
		if report["trace_id"] != traceID || report["lease"] != leaseID || report["level"] != "ERROR" {
			t.Errorf("the error report of user %s = %v, want trace_id %s and lease %s", u.Username, report, traceID, leaseID)
		}
		if got, want := report["synthetic"] == true, u.IsSynthetic; got != want {
			t.Errorf("the error report of user %s says synthetic=%v, want %v: %v", u.Username, report["synthetic"], want, report)
		}
		req := lines.find(t, "chirp request", "route", "POST /users/{id}/cart")
		if req["trace_id"] != traceID || req["status"] != float64(500) || req["lease"] != leaseID {
			t.Errorf("the request line = %v, want trace_id %s, status 500 and lease %s", req, traceID, leaseID)
		}
	}
}

// The webhook contract's requests are about synthetic users: their error
// reports are marked synthetic.
func TestWebhookErrorReportsAreSynthetic(t *testing.T) {
	t.Parallel()
	e, lines, _ := newTracedEnv(t, false)
	ref := e.provision("acct-trace")
	if _, err := e.pool.Exec(t.Context(), `DROP TABLE cart_items`); err != nil {
		t.Fatal(err)
	}
	status, body := e.signed("snapshot", map[string]any{"ref": ref, "account_id": "acct-trace"})
	if status != http.StatusInternalServerError {
		t.Fatalf("snapshot without a table = %d %s, want 500", status, body)
	}
	report := lines.find(t, "chirp webhook failed", "op", "snapshot")
	if report["synthetic"] != true {
		t.Errorf("the webhook's error report = %v, want synthetic=true", report)
	}
}

// A request without a traceparent is not logged, and its lines carry no
// trace id.
func TestRequestsWithoutATraceparentAreNotLogged(t *testing.T) {
	t.Parallel()
	e, lines, _ := newTracedEnv(t, false)
	u := e.user("plain", true)
	if status, body := e.call(http.MethodGet, "/users/"+strconv.FormatInt(u.ID, 10), nil); status != http.StatusOK {
		t.Fatalf("GET user = %d %s", status, body)
	}
	// A traced request after it, logged in turn, shows the log is written.
	if status := e.tracedCall(http.MethodGet, "/healthz", ""); status != http.StatusOK {
		t.Fatalf("GET /healthz = %d", status)
	}
	lines.find(t, "chirp request", "route", "GET /healthz")
	if line := lines.lookup("chirp request", "route", "GET /users/{id}"); line != nil {
		t.Errorf("a request without a traceparent was logged: %v", line)
	}
}

// With a tracer, each request is a server span, a child of the
// traceparent's span in its trace, named by its route.
func TestRequestsAreServerSpansOfTheirTrace(t *testing.T) {
	t.Parallel()
	e, _, rec := newTracedEnv(t, true)
	u := e.user("spanned", true)
	path := "/users/" + strconv.FormatInt(u.ID, 10)
	if status := e.tracedCall(http.MethodGet, path, ""); status != http.StatusOK {
		t.Fatalf("GET %s = %d", path, status)
	}
	if status, _ := e.call(http.MethodGet, "/healthz", nil); status != http.StatusOK {
		t.Fatalf("GET /healthz = %d", status)
	}
	var spans []sdktrace.ReadOnlySpan
	for deadline := time.Now().Add(10 * time.Second); len(spans) < 2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		spans = rec.Ended()
	}
	if len(spans) != 2 {
		t.Fatalf("%d spans ended, want 2", len(spans))
	}
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = s
	}
	s, ok := byName["chirp GET /users/{id}"]
	if !ok {
		t.Fatalf("no span chirp GET /users/{id} among %v", byName)
	}
	if s.SpanContext().TraceID().String() != traceID || s.Parent().SpanID().String() != parentSpan || !s.Parent().IsRemote() ||
		s.SpanKind() != trace.SpanKindServer {
		t.Errorf("span %s: trace %s, parent %s (remote %v), kind %v; want trace %s, parent %s, server",
			s.Name(), s.SpanContext().TraceID(), s.Parent().SpanID(), s.Parent().IsRemote(), s.SpanKind(), traceID, parentSpan)
	}
	h, ok := byName["chirp GET /healthz"]
	if !ok || h.Parent().IsValid() || h.SpanContext().TraceID().String() == traceID {
		t.Errorf("the request without a traceparent: %v, want a root span of a trace of its own", byName)
	}
}
