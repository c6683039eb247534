package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/tracing"
)

// jaegerTools is the tools module that pins Jaeger (cmd/jaeger, the
// all-in-one of Jaeger v2), from this directory; jaegerCache is where its
// binary is kept, under the repository's .understudy/.
const (
	jaegerTools = "../../tools/jaeger"
	jaegerCache = "../../.understudy/jaeger"
	jaegerMain  = "github.com/jaegertracing/jaeger/cmd/jaeger"
)

// jaegerBinary returns the Jaeger binary that tools/jaeger pins, built
// once into .understudy/jaeger/<key>/jaeger, where key hashes the tools
// module's go.mod and go.sum: a change of the pin builds it again, nothing
// else does (make test builds it there before the tests: see the
// Makefile's jaeger target). When it cannot be built the test is skipped,
// saying why, except in CI, where it fails.
func jaegerBinary(t *testing.T) string {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := "Jaeger cannot run: " + fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(jaegerTools, f))
		if err != nil {
			unavailable("the tools module: %v", err)
		}
		h.Write(b)
	}
	dir, err := filepath.Abs(filepath.Join(jaegerCache, hex.EncodeToString(h.Sum(nil))[:16]))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "jaeger")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		unavailable("%v", err)
	}
	// Built under another name, then renamed: a build that stops half-way
	// leaves no binary behind that a later run would take for whole.
	tmp := filepath.Join(dir, fmt.Sprintf("jaeger.%d.tmp", os.Getpid()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, jaegerMain)
	cmd.Dir = jaegerTools
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		unavailable("building %s in tools/jaeger failed (%v):\n%s", jaegerMain, err, lastLines(string(out), 20))
	}
	if err := os.Rename(tmp, bin); err != nil {
		unavailable("%v", err)
	}
	t.Logf("built Jaeger in %s", time.Since(start).Round(time.Second))
	return bin
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// jaegerConfig runs Jaeger with what the test needs: an OTLP/HTTP
// receiver, in-memory storage and the query API, each on its own port
// (%[1]s, %[2]s, %[3]s: the receiver, the query API over HTTP and over
// gRPC), on loopback, with its own telemetry off.
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:%[2]s
    grpc:
      endpoint: 127.0.0.1:%[3]s
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%[1]s
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// jaeger is a running Jaeger.
type jaeger struct {
	// OTLP is where spans are sent: the OTLP/HTTP traces URL.
	OTLP string
	// Query is the base URL of the query API.
	Query string
}

// startJaeger runs bin on free loopback ports until the test ends, and
// returns once its query API answers. A port taken between its choice and
// Jaeger's start makes it try again, on others.
func startJaeger(t *testing.T, bin string) jaeger {
	t.Helper()
	for try := 1; ; try++ {
		j, logs, err := runJaeger(t, bin)
		if err == nil {
			return j
		}
		if try == 3 || !strings.Contains(logs, "address already in use") {
			t.Fatalf("starting Jaeger: %v\n%s", err, lastLines(logs, 30))
		}
	}
}

// runJaeger starts one Jaeger and waits for it.
func runJaeger(t *testing.T, bin string) (jaeger, string, error) {
	t.Helper()
	ports := make([]any, 3)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, ports[i], _ = net.SplitHostPort(ln.Addr().String())
		ln.Close()
	}
	config := filepath.Join(t.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(config, fmt.Appendf(nil, jaegerConfig, ports...), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "--config", config)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	j := jaeger{OTLP: fmt.Sprintf("http://127.0.0.1:%s/v1/traces", ports[0]), Query: fmt.Sprintf("http://127.0.0.1:%s", ports[1])}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			return jaeger{}, logs.String(), fmt.Errorf("Jaeger exited: %v", err)
		default:
		}
		resp, err := http.Get(j.Query + "/api/services")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(j.OTLP, "/v1/traces"), "http://")); err == nil && resp.StatusCode == http.StatusOK {
			conn.Close()
			t.Cleanup(stop)
			return j, logs.String(), nil
		}
	}
	stop()
	return jaeger{}, logs.String(), errors.New("Jaeger's query API and receiver did not answer within a minute")
}

// jaegerSpan is a span as Jaeger's query API (v1, /api/traces/{id})
// answers it, with its service's name.
type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	ProcessID string `json:"processID"`
	Service   string `json:"-"`
}

// parent is the span id span is a child of, or "".
func (s jaegerSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// trace reads trace id from Jaeger's query API: its spans, or none
// while Jaeger has not received any.
func (j jaeger) trace(t *testing.T, id string) []jaegerSpan {
	t.Helper()
	resp, err := http.Get(j.Query + "/api/traces/" + id)
	if err != nil {
		t.Fatalf("querying Jaeger: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var body struct {
		Data []struct {
			Spans     []jaegerSpan `json:"spans"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Jaeger answered %d for trace %s (%v)", resp.StatusCode, id, err)
	}
	var spans []jaegerSpan
	for _, d := range body.Data {
		for _, s := range d.Spans {
			s.Service = d.Processes[s.ProcessID].ServiceName
			spans = append(spans, s)
		}
	}
	return spans
}

// TestALeaseIsOneTraceInJaeger runs Understudy and chirp, both exporting
// their spans over OTLP to a real Jaeger, attaches chirp through the
// webhook provider, then acquires a lease (which resets the account),
// renews it and releases it with a reset; Jaeger's query API then holds
// one trace, the lease's, with the acquisition, each reset, the webhook's
// calls to chirp, chirp's own spans of them, the renewal and the release.
func TestALeaseIsOneTraceInJaeger(t *testing.T) {
	t.Parallel()
	j := startJaeger(t, jaegerBinary(t))
	ctx := context.Background()
	start := time.Now()

	s := startServer(t, serverOptions{Tracing: tracing.Config{Endpoint: j.OTLP, BatchTimeout: 100 * time.Millisecond}})
	admin, runner := s.client(t, s.Admin), s.client(t, s.Runner)
	spans, err := tracing.New(ctx, tracing.Config{Endpoint: j.OTLP, ServiceName: "chirp", BatchTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = spans.Shutdown(context.Background()) })
	pool := dbtest.NewPool(t)
	if err := chirp.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	app, err := chirp.New(chirp.Config{DB: pool, WebhookSecret: []byte(chirpSecret), PasswordCost: chirpPasswordCost,
		Tracer: spans.TracerProvider().Tracer("chirp")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(srv.Close)
	if r, err := admin.CreateEnvironmentWithResponse(ctx, openapi.EnvironmentCreate{Name: "production", EmailDomains: []string{"qa.example.test"}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("environment: %v", err)
	}
	if r, err := admin.AttachAppWithResponse(ctx, "production", openapi.AppAttach{Name: "chirp", Provider: "webhook",
		Settings: &map[string]any{"base_url": srv.URL + "/understudy"}, Secrets: &map[string]string{"signing_secret": chirpSecret}}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("attach: %v %s", err, r.Body)
	}
	if r, err := admin.CreateRoleWithResponse(ctx, "production", openapi.RoleCreate{Name: "buyer"}); err != nil || r.StatusCode() != 201 {
		t.Fatalf("role: %v", err)
	}
	waitAccountsReady(t, admin, 1)

	g, err := runner.AcquireLeaseWithResponse(ctx, nil, openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "jaeger-e2e"})
	if err != nil || g.JSON201 == nil || g.JSON201.Lease.Traceparent == nil {
		t.Fatalf("acquire: %v %s", err, g.Body)
	}
	lease := g.JSON201.Lease
	if h := g.HTTPResponse.Header.Get("traceparent"); h != *lease.Traceparent {
		t.Errorf("the traceparent header %q is not the lease's %q", h, *lease.Traceparent)
	}
	if r, err := runner.RenewLeaseWithResponse(ctx, lease.Id, openapi.LeaseRenew{TtlSeconds: new(600)}); err != nil || r.StatusCode() != 200 {
		t.Fatalf("renew: %v", err)
	}
	if r, err := runner.ReleaseLeaseWithResponse(ctx, lease.Id, openapi.LeaseRelease{Reset: new(true)}); err != nil || r.StatusCode() != 200 {
		t.Fatalf("release: %v %s", err, r.Body)
	}

	traceID := tracing.TraceID(*lease.Traceparent)
	want := []string{"understudy lease.acquire", "understudy lease.renew", "understudy lease.release",
		"understudy snapshot.reset", "understudy snapshot.reset", "understudy snapshot.restore", "understudy snapshot.restore",
		"understudy webhook restore", "understudy webhook restore",
		"chirp chirp POST /understudy/restore", "chirp chirp POST /understudy/restore"}
	var got []jaegerSpan
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		got = j.trace(t, traceID)
		if missing := missingSpans(got, want); len(missing) == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("after a minute, Jaeger's trace %s of lease %s lacks %v; it has %v", traceID, lease.Id, missing, names(got))
		}
	}
	checkTraceTree(t, got)
	t.Logf("the lease's trace: %d spans in Jaeger %s after Understudy started", len(got), time.Since(start).Round(time.Millisecond))
}

// names are the spans' services and operations.
func names(spans []jaegerSpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Service+" "+s.OperationName)
	}
	slices.Sort(out)
	return out
}

// missingSpans are the spans of want ("service operation", repeated as
// often as wanted) that spans lacks.
func missingSpans(spans []jaegerSpan, want []string) []string {
	have := names(spans)
	var missing []string
	for _, w := range want {
		if i := slices.Index(have, w); i >= 0 {
			have = slices.Delete(have, i, i+1)
		} else {
			missing = append(missing, w)
		}
	}
	return missing
}

// checkTraceTree checks who is whose child in the lease's trace: the
// acquisition is the root; the renewal, the release and the acquisition's
// reset are its children; each reset restores chirp through the webhook,
// and chirp's span of each call is the child of Understudy's span of it.
func checkTraceTree(t *testing.T, spans []jaegerSpan) {
	t.Helper()
	byID := map[string]jaegerSpan{}
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	parentOf := func(s jaegerSpan) string {
		p, ok := byID[s.parent()]
		if !ok {
			return "(none)"
		}
		return p.Service + " " + p.OperationName
	}
	want := map[string][]string{
		"understudy lease.acquire":             {"(none)"},
		"understudy lease.renew":               {"understudy lease.acquire"},
		"understudy lease.release":             {"understudy lease.acquire"},
		"understudy snapshot.reset":            {"understudy lease.acquire", "understudy lease.release"},
		"understudy snapshot.restore":          {"understudy snapshot.reset"},
		"understudy webhook restore":           {"understudy snapshot.restore"},
		"chirp chirp POST /understudy/restore": {"understudy webhook restore"},
	}
	for _, s := range spans {
		name := s.Service + " " + s.OperationName
		allowed, ok := want[name]
		if !ok {
			continue // the webhook's snapshots, and whatever else the reset asked
		}
		if p := parentOf(s); !slices.Contains(allowed, p) {
			t.Errorf("span %s is a child of %s, want one of %v", name, p, allowed)
		}
	}
	var resetParents []string
	for _, s := range spans {
		if s.Service == "understudy" && s.OperationName == "snapshot.reset" {
			resetParents = append(resetParents, parentOf(s))
		}
	}
	slices.Sort(resetParents)
	if !slices.Equal(resetParents, []string{"understudy lease.acquire", "understudy lease.release"}) {
		t.Errorf("the resets are children of %v, want one of the acquisition and one of the release", resetParents)
	}
	var buf bytes.Buffer
	for _, s := range spans {
		fmt.Fprintf(&buf, "%s %s ← %s\n", s.Service, s.OperationName, parentOf(s))
	}
	t.Logf("the trace, each span with its parent:\n%s", buf.String())
}
