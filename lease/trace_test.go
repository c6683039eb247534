package lease_test

import (
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/tracing"
)

// tracedLeases is a lease service on f whose spans rec records.
func tracedLeases(t *testing.T, f domaintest.Stack) (*lease.Service, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	svc, err := lease.New(lease.Config{DB: f.DB, Accounts: f.Accounts, Snapshots: f.Snapshots, Apps: f.Apps, AppTimeout: 2 * time.Second,
		Tracing: tracing.Of(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))})
	if err != nil {
		t.Fatal(err)
	}
	return svc, rec
}

// spansNamed are the ended spans named name, in the order they ended.
func spansNamed(rec *tracetest.SpanRecorder, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// childOf fails the test unless span is a child of parent, in its trace.
func childOf(t *testing.T, span sdktrace.ReadOnlySpan, parent trace.SpanContext) {
	t.Helper()
	if span.SpanContext().TraceID() != parent.TraceID() || span.Parent().SpanID() != parent.SpanID() {
		t.Errorf("span %s is in trace %s under %s, want trace %s under %s", span.Name(), span.SpanContext().TraceID(),
			span.Parent().SpanID(), parent.TraceID(), parent.SpanID())
	}
}

// attr is the value of span's attribute key, as a string.
func attr(span sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range span.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"

// A lease continues its caller's trace and keeps its acquisition's trace
// context: the reset, each app's restore, the renewal and the release are
// spans of that one trace, and none of them names a secret.
func TestALeaseIsOneTrace(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	leases, rec := tracedLeases(t, f)
	ctx := tracing.Remote(f.Ctx, "00-"+callerTrace+"-00f067aa0ba902b7-01", "vendor=opaque")
	g, err := leases.Acquire(ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	acquires := spansNamed(rec, "lease.acquire")
	if len(acquires) != 1 {
		t.Fatalf("%d lease.acquire spans, want 1", len(acquires))
	}
	acquire := acquires[0]
	if acquire.Parent().SpanID().String() != "00f067aa0ba902b7" || !acquire.Parent().IsRemote() ||
		acquire.SpanContext().TraceID().String() != callerTrace {
		t.Errorf("lease.acquire continues %v, want the caller's span 00f067aa0ba902b7 of trace %s", acquire.Parent(), callerTrace)
	}
	want := "00-" + callerTrace + "-" + acquire.SpanContext().SpanID().String() + "-"
	if !strings.HasPrefix(g.Lease.Traceparent, want) || len(g.Lease.Traceparent) != 55 {
		t.Errorf("the lease's traceparent %q, want the acquisition's span, %s…", g.Lease.Traceparent, want)
	}
	if attr(acquire, "understudy.lease.id") != g.Lease.ID || attr(acquire, "understudy.account.id") != g.Account.ID ||
		attr(acquire, "understudy.request_id") != domaintest.RequestID || attr(acquire, "understudy.role") != "buyer" {
		t.Errorf("lease.acquire's attributes %v do not name the lease, its account, the request and the role", acquire.Attributes())
	}
	reset := spansNamed(rec, "snapshot.reset")
	restores := spansNamed(rec, "snapshot.restore")
	if len(reset) != 1 || len(restores) != 1 {
		t.Fatalf("%d resets and %d restores, want one each", len(reset), len(restores))
	}
	childOf(t, reset[0], acquire.SpanContext())
	childOf(t, restores[0], reset[0].SpanContext())
	if attr(restores[0], "understudy.app") != "chirp" {
		t.Errorf("snapshot.restore names app %q, want chirp", attr(restores[0], "understudy.app"))
	}

	// The column keeps it: a later read, and the spans of later work.
	got, err := leases.Get(f.Ctx, g.Lease.ID)
	if err != nil || got.Traceparent != g.Lease.Traceparent {
		t.Fatalf("Get: traceparent %q, %v; want %q", got.Traceparent, err, g.Lease.Traceparent)
	}
	sctx, span := leases.Span(f.Ctx, got, "lease.inbox_read")
	span.End()
	if _, ts := tracing.Headers(sctx); ts != "vendor=opaque" {
		t.Errorf("the lease's span carries tracestate %q, want the caller's vendor=opaque", ts)
	}
	if _, err := leases.Renew(f.Ctx, g.Lease.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Release(f.Ctx, g.Lease.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lease.inbox_read", "lease.renew", "lease.release"} {
		spans := spansNamed(rec, name)
		if len(spans) != 1 {
			t.Fatalf("%d %s spans, want 1", len(spans), name)
		}
		childOf(t, spans[0], acquire.SpanContext())
	}
	release := spansNamed(rec, "lease.release")[0]
	resets := spansNamed(rec, "snapshot.reset")
	if len(resets) != 2 || attr(release, "understudy.lease.reset") != "true" {
		t.Fatalf("the release with reset made %d resets in all, reset attribute %q", len(resets), attr(release, "understudy.lease.reset"))
	}
	childOf(t, resets[1], release.SpanContext())

	password := g.Credentials.Password
	for _, s := range rec.Ended() {
		for _, kv := range s.Attributes() {
			if v := kv.Value.Emit(); strings.Contains(v, password) || strings.Contains(v, "hunter2") {
				t.Errorf("span %s attribute %s carries a secret", s.Name(), kv.Key)
			}
		}
	}
}

// A release without reset tells its lease, and so its trace, only as its
// one statement ends it: its span joins the lease's trace all the same,
// from the release's start.
func TestAPlainReleaseJoinsTheLeasesTrace(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	leases, rec := tracedLeases(t, f)
	g, err := leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	acquire := spansNamed(rec, "lease.acquire")[0]
	if acquire.Parent().IsValid() || tracing.TraceID(g.Lease.Traceparent) != acquire.SpanContext().TraceID().String() {
		t.Errorf("without a caller's trace the lease starts one: parent %v, traceparent %q", acquire.Parent(), g.Lease.Traceparent)
	}
	before := time.Now()
	if _, err := leases.Release(f.Ctx, g.Lease.ID, false); err != nil {
		t.Fatal(err)
	}
	releases := spansNamed(rec, "lease.release")
	if len(releases) != 1 {
		t.Fatalf("%d lease.release spans, want 1", len(releases))
	}
	childOf(t, releases[0], acquire.SpanContext())
	if r := releases[0]; r.StartTime().Before(before) || r.EndTime().Before(r.StartTime()) || attr(r, "understudy.lease.reset") != "false" {
		t.Errorf("lease.release from %v to %v (reset %q), want from the release's start on", r.StartTime(), r.EndTime(), attr(r, "understudy.lease.reset"))
	}
}

// A failed acquisition's span says why, in the words the API answers.
func TestAFailedAcquisitionsSpanSaysWhy(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	leases, rec := tracedLeases(t, f)
	f.App.SetDown(true)
	_, err := leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute})
	domaintest.WantCode(t, err, understudy.EUNAVAILABLE)
	acquire := spansNamed(rec, "lease.acquire")
	restores := spansNamed(rec, "snapshot.restore")
	if len(acquire) != 1 || !strings.HasPrefix(acquire[0].Status().Description, "unavailable: ") || attr(acquire[0], "understudy.lease.id") == "" {
		t.Fatalf("lease.acquire %v, want one failed unavailable, naming the lease it failed", acquire)
	}
	if len(restores) != 1 || restores[0].Status().Description != "the app is unavailable" {
		t.Errorf("snapshot.restore status %v, want the contract's word for it", restores)
	}
}

// Leases made without a tracer of their own still get trace contexts.
func TestLeasesHaveTraceContextsWithoutATracer(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	g := f.Lease(t, "ci")
	if tracing.TraceID(g.Lease.Traceparent) == "" {
		t.Errorf("a lease without a configured tracer has traceparent %q, want a valid one", g.Lease.Traceparent)
	}
}

// An expiry is a span of the expired lease's trace, saying the run was
// abandoned.
func TestAnExpiryIsASpanOfTheLeasesTrace(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	f := domaintest.NewAt(t, dbtest.Tx(t), 1, clock)
	rec := tracetest.NewSpanRecorder()
	leases, err := lease.New(lease.Config{DB: f.DB, Accounts: f.Accounts, Snapshots: f.Snapshots, Apps: f.Apps, AppTimeout: 2 * time.Second,
		Now: func() time.Time { return now }, Tracing: tracing.Of(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))})
	if err != nil {
		t.Fatal(err)
	}
	g, err := leases.Acquire(f.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "crashed", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if n, err := leases.Expire(f.Ctx); n != 1 || err != nil {
		t.Fatalf("expired %d leases (%v)", n, err)
	}
	expiries := spansNamed(rec, "lease.expire")
	if len(expiries) != 1 {
		t.Fatalf("%d lease.expire spans, want 1", len(expiries))
	}
	childOf(t, expiries[0], spansNamed(rec, "lease.acquire")[0].SpanContext())
	if e := expiries[0]; attr(e, "understudy.lease.id") != g.Lease.ID || attr(e, "understudy.run.outcome") != "abandoned" {
		t.Errorf("lease.expire names lease %q, outcome %q", attr(e, "understudy.lease.id"), attr(e, "understudy.run.outcome"))
	}
}
