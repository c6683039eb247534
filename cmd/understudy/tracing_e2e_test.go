package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/tracing"
)

// stuckCollector is an OTLP endpoint that takes requests and answers
// none until the test ends.
type stuckCollector struct {
	arrived chan struct{} // closed at the first request
	once    sync.Once
	release chan struct{}
}

func (c *stuckCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.once.Do(func() { close(c.arrived) })
	select {
	case <-c.release:
	case <-r.Context().Done():
	}
}

// triedTransport closes tried at the first export tried; each goes on to
// an address that refuses it.
type triedTransport struct {
	once  sync.Once
	tried chan struct{}
}

func (c *triedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.once.Do(func() { close(c.tried) })
	return http.DefaultTransport.RoundTrip(r)
}

// within waits for ch, failing the test after two minutes: a bound on the
// test's run (a lease path that waited on the exporter would wait for
// ever), never a measure of speed.
func within(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s did not end within two minutes: the lease path waits on the span exporter", what)
	}
}

// leaseCycles acquires and releases (with a reset) n leases of buyer on
// another goroutine, checking each grant's trace context, and closes the
// returned channel when they are done.
func leaseCycles(t *testing.T, c *openapi.ClientWithResponses, n int) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			g, err := c.AcquireLeaseWithResponse(context.Background(), nil, openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci"})
			if err != nil || g.JSON201 == nil || g.JSON201.Lease.Traceparent == nil || tracing.TraceID(*g.JSON201.Lease.Traceparent) == "" ||
				g.HTTPResponse.Header.Get("traceparent") != *g.JSON201.Lease.Traceparent {
				t.Errorf("lease %d: %v %s, want a grant with its traceparent in the body and the header", i, err, g.Body)
				return
			}
			if r, err := c.ReleaseLeaseWithResponse(context.Background(), g.JSON201.Lease.Id, openapi.LeaseRelease{Reset: new(true)}); err != nil || r.StatusCode() != http.StatusOK {
				t.Errorf("release %d: %v %s", i, err, r.Body)
				return
			}
		}
	}()
	return done
}

// An OTLP endpoint that takes the export and never answers holds the one
// goroutine that exports, never a lease: while the first export hangs,
// leases are acquired and released, their spans (many times the queue's
// size) queued or dropped.
func TestLeasesNeverWaitOnAHangingCollector(t *testing.T) {
	t.Parallel()
	col := &stuckCollector{arrived: make(chan struct{}), release: make(chan struct{})}
	srv := httptest.NewServer(col)
	t.Cleanup(srv.Close)
	s := startServer(t, serverOptions{Tracing: tracing.Config{Endpoint: srv.URL + "/v1/traces", BatchTimeout: time.Millisecond, MaxQueueSize: 4}})
	defer close(col.release) // before the server's Close, which flushes what is queued
	seed(t, s)
	runner := s.client(t, s.Runner)
	within(t, leaseCycles(t, runner, 1), "the first lease")
	within(t, col.arrived, "the first export")
	within(t, leaseCycles(t, runner, 4), "leases while the export hangs")
}

// An OTLP endpoint that refuses connections fails each export on the
// exporting goroutine; leases meanwhile are acquired and released.
func TestLeasesNeverWaitOnARefusingCollector(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String() + "/v1/traces"
	ln.Close() // nothing listens there now: connections are refused
	tr := &triedTransport{tried: make(chan struct{})}
	s := startServer(t, serverOptions{Tracing: tracing.Config{Endpoint: endpoint, BatchTimeout: time.Millisecond, MaxQueueSize: 4,
		HTTPClient: &http.Client{Transport: tr}}})
	seed(t, s)
	runner := s.client(t, s.Runner)
	within(t, leaseCycles(t, runner, 1), "the first lease")
	within(t, tr.tried, "the first export")
	within(t, leaseCycles(t, runner, 4), "leases while the exports are refused")
}
