// Package sentrytest is a fake of Sentry's envelope endpoint, for tests:
// an httptest server that checks each request as Sentry's ingestion
// (Relay) does, answers what Sentry answers, and records the envelopes and
// events it accepted, so a test that passes against it means the real
// request would have been taken. It is built from Sentry's documented
// protocol:
//
//   - the endpoint, POST /api/{project_id}/envelope/, and the envelope
//     format: https://develop.sentry.dev/sdk/foundations/transport/envelopes/
//     (also https://develop.sentry.dev/sdk/data-model/envelopes/);
//   - authentication, the X-Sentry-Auth header or the sentry_key query
//     parameter: https://develop.sentry.dev/sdk/foundations/transport/authentication/;
//   - the statuses, from Relay, Sentry's ingestion service
//     (github.com/getsentry/relay: relay-server/src/extractors/request_meta.rs
//     for authentication, relay-server/src/endpoints/common.rs for the rest,
//     relay-server/src/envelope/mod.rs for the parser).
//
// What it refuses, and how:
//
//   - no authentication, more than one (header and query), or an
//     X-Sentry-Auth that is not "Sentry key=value, …" or lacks sentry_key
//     or sentry_version: 401;
//   - a project id that is not a number, a sentry_key that is not 32 hex
//     digits, or a sentry_version other than 7: 400;
//   - a well-formed key or project that is not the fake's: 403, as Sentry
//     rejects an event of an unknown project;
//   - a body over 200 MiB, an event item over 1 MiB or a client report
//     over 4 KiB (the documented size limits): 413;
//   - an empty body or a malformed envelope (a header that is not one line
//     of a JSON object, padded, or with sent_at twice; an event_id that is
//     not a UUID; a sent_at that is not RFC 3339; a dsn header that names
//     another key or project; an item header without a type or with a bad
//     length; a payload shorter than its length or not followed by a
//     newline or the end; an event that is not a JSON object): 400;
//   - a Content-Type other than the four the documentation accepts, or a
//     Content-Encoding other than gzip: 415 (Sentry takes deflate, br and
//     zstd too; the fake is stricter, never looser).
//
// An accepted envelope answers 200 {"id":"<event id>"}. Hang and Answer
// make the fake slow or refusing, to test that a client survives Sentry
// being down.
package sentrytest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// ProjectID is the fake's project.
const ProjectID = "42"

// Fake is a running fake of Sentry's envelope endpoint.
type Fake struct {
	// URL is the fake's base URL (http://127.0.0.1:port).
	URL string
	// DSN points a Sentry client at the fake.
	DSN string
	// Key is the DSN's public key: 32 hex digits, as Sentry's are.
	Key string

	srv *httptest.Server

	mu        sync.Mutex
	envelopes []Envelope
	bodies    [][]byte
	// changed is closed, and replaced, whenever an envelope is accepted.
	changed chan struct{}
	// answer, when not 0, is the status every request gets.
	answer int
	// hold, when not nil, holds every request until it is closed;
	// holding is closed when the first held request arrives.
	hold, holding chan struct{}
}

// New starts a fake, closed when the test ends.
func New(tb testing.TB) *Fake {
	tb.Helper()
	f := &Fake{Key: newKey(), changed: make(chan struct{})}
	f.srv = httptest.NewServer(f.Handler())
	f.URL = f.srv.URL
	u, _ := url.Parse(f.URL)
	f.DSN = (&url.URL{Scheme: "http", User: url.User(f.Key), Host: u.Host, Path: "/" + ProjectID}).String()
	tb.Cleanup(f.close)
	return f
}

// newKey returns a random public key in Sentry's form.
func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// close releases held requests, then stops the server.
func (f *Fake) close() {
	f.mu.Lock()
	if f.hold != nil {
		close(f.hold)
		f.hold = nil
	}
	f.mu.Unlock()
	f.srv.Close()
}

// Handler is the fake's endpoint, for tests that call it directly.
func (f *Fake) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{project}/envelope/", f.envelope)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.wait(r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// wait holds r while the fake hangs, and answers it while the fake
// refuses; it reports whether r is left to be served.
func (f *Fake) wait(r *http.Request) bool {
	f.mu.Lock()
	hold, holding := f.hold, f.holding
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-holding:
		default:
			close(holding)
		}
		select {
		case <-hold:
		case <-r.Context().Done():
			return false
		}
	}
	return true
}

// Hang makes the fake hold every request it receives, unanswered, until
// release is called (or the client gives up, or the test ends). arrived is
// closed once the first held request has arrived.
func (f *Fake) Hang() (arrived <-chan struct{}, release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hold, holding := make(chan struct{}), make(chan struct{})
	f.hold, f.holding = hold, holding
	var once sync.Once
	return holding, func() {
		once.Do(func() {
			f.mu.Lock()
			if f.hold == hold {
				f.hold = nil
			}
			f.mu.Unlock()
			close(hold)
		})
	}
}

// Answer makes the fake answer every request with status and record
// nothing (as Sentry does when it is down: 503, or over a quota: 429);
// 0 makes it serve again.
func (f *Fake) Answer(status int) {
	f.mu.Lock()
	f.answer = status
	f.mu.Unlock()
}

// Envelopes returns the envelopes accepted so far, in order.
func (f *Fake) Envelopes() []Envelope {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.envelopes)
}

// Events returns the events of the envelopes accepted so far, in order.
func (f *Fake) Events() []Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Event
	for _, e := range f.envelopes {
		out = append(out, e.Events...)
	}
	return out
}

// Bodies returns every request body the fake received, accepted or not,
// decompressed: what a client sent, to search for what it must not send.
func (f *Fake) Bodies() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bodies)
}

// WaitEvents waits until the fake has accepted at least n events and
// returns them; it fails the test when they have not come within a minute
// (a bound against a hung test, not a measure of speed).
func (f *Fake) WaitEvents(tb testing.TB, n int) []Event {
	tb.Helper()
	return f.waitFor(tb, func(events []Event) bool { return len(events) >= n }, fmt.Sprintf("%d events", n))
}

// WaitEvent waits until the fake has accepted an event that match
// accepts and returns the first; it fails the test as WaitEvents does.
func (f *Fake) WaitEvent(tb testing.TB, match func(Event) bool) Event {
	tb.Helper()
	events := f.waitFor(tb, func(events []Event) bool { return slices.ContainsFunc(events, match) }, "the event")
	return events[slices.IndexFunc(events, match)]
}

// waitFor waits until done holds of the events accepted so far.
func (f *Fake) waitFor(tb testing.TB, done func([]Event) bool, want string) []Event {
	tb.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		changed := f.changed
		f.mu.Unlock()
		if events := f.Events(); done(events) {
			return events
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("sentrytest: %d events received, not %s", len(f.Events()), want)
		}
	}
}

// record keeps an accepted envelope.
func (f *Fake) record(e Envelope) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.envelopes = append(f.envelopes, e)
	close(f.changed)
	f.changed = make(chan struct{})
}

// received keeps a body and reports the status the fake is told to
// answer every request with, 0 when none.
func (f *Fake) received(body []byte) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies = append(f.bodies, body)
	return f.answer
}
