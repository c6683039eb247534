package errtrack_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/errtrack"
	"github.com/understudy-dev/understudy/internal/sentrytest"
)

// newReporter returns a Reporter sending to f, closed when the test ends.
func newReporter(t *testing.T, f *sentrytest.Fake, mutate func(*errtrack.Config)) *errtrack.Reporter {
	t.Helper()
	cfg := errtrack.Config{DSN: f.DSN, Environment: "staging", Release: "understudy@v1.2.3"}
	if mutate != nil {
		mutate(&cfg)
	}
	r, err := errtrack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// secrets made for this run: nothing that looks like a credential is
// written in the source.
type secrets struct {
	token, password, userinfo, known, cookie, header, query string
}

func newSecrets() secrets {
	word := func() string { return strings.ToLower(rand.Text()[:16]) }
	return secrets{token: access.TokenPrefix + rand.Text() + rand.Text(), password: "pw-" + word(), userinfo: "alice:" + word(),
		known: "known-" + word(), cookie: "ck-" + word(), header: "hd-" + word(), query: "qy-" + word()}
}

func (s secrets) all() map[string]string {
	return map[string]string{"token": s.token, "password": s.password, "userinfo": s.userinfo, "known secret": s.known,
		"cookie": s.cookie, "api key header": s.header, "query token": s.query}
}

// forms are the ways a secret can be written: plain, base64 and
// URL-encoded.
func forms(secret string) []string {
	out := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		out = append(out, enc.EncodeToString([]byte(secret)))
	}
	return out
}

// assertNoSecret fails when any body the fake received holds any form
// of any secret.
func assertNoSecret(t *testing.T, f *sentrytest.Fake, s secrets) {
	t.Helper()
	bodies := f.Bodies()
	if len(bodies) == 0 {
		t.Fatal("the fake received nothing")
	}
	for _, body := range bodies {
		for name, secret := range s.all() {
			for _, form := range forms(secret) {
				if strings.Contains(string(body), form) {
					t.Errorf("the %s reached Sentry as %q", name, form)
				}
			}
		}
	}
}

// A reported error reaches Sentry with its tags, environment and release,
// and with nothing secret: the error's text is scrubbed, and of its
// request no body, cookie or credential header is kept.
func TestReportSendsATaggedScrubbedEvent(t *testing.T) {
	t.Parallel()
	f := sentrytest.New(t)
	s := newSecrets()
	r := newReporter(t, f, func(c *errtrack.Config) { c.Secrets = []string{s.known} })
	req := httptest.NewRequest(http.MethodPost, "/v1/leases/lease-1/release?token="+s.query+"&wait=5s", strings.NewReader(`{"password":"`+s.password+`"}`))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Cookie", "understudy_session="+s.cookie)
	req.Header.Set("X-Api-Key", s.header)
	req.Header.Set("User-Agent", "understudy-cli/1")
	req.Header.Set("X-Request-ID", "req-42")
	err := fmt.Errorf("releasing lease-1 with %s: %w", s.token,
		fmt.Errorf("connecting to postgres://%s@db.internal/app (password=%s): %s", s.userinfo, s.password, s.known))
	r.Report(context.Background(), err, errtrack.Scope{Source: "api", Route: "POST /v1/leases/:lease_id/release", RequestID: "req-42",
		LeaseID: "lease-1", Request: req})
	ev := f.WaitEvents(t, 1)[0]
	want := map[string]string{"source": "api", "route": "POST /v1/leases/:lease_id/release", "request_id": "req-42", "lease_id": "lease-1"}
	for k, v := range want {
		if ev.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, ev.Tags[k], v)
		}
	}
	if ev.Environment != "staging" || ev.Release != "understudy@v1.2.3" || ev.Level != "error" || ev.Transaction != want["route"] {
		t.Errorf("environment %q, release %q, level %q, transaction %q", ev.Environment, ev.Release, ev.Level, ev.Transaction)
	}
	last := ev.Exceptions[len(ev.Exceptions)-1]
	if !strings.HasPrefix(last.Value, "releasing lease-1 with [redacted]: connecting to postgres://[redacted]@db.internal/app (password=[redacted]") ||
		last.Stacktrace != nil {
		t.Errorf("exception = %+v", last)
	}
	rq := ev.Request
	if rq == nil || rq.Method != "POST" || rq.URL != "http://example.com/v1/leases/lease-1/release" || rq.Cookies != "" || len(rq.Data) != 0 {
		t.Fatalf("request = %+v", rq)
	}
	if rq.Headers["User-Agent"] != "understudy-cli/1" || rq.Headers["X-Request-Id"] != "req-42" || rq.Headers["Host"] != "example.com" ||
		len(rq.Headers) != 3 {
		t.Errorf("headers = %v, want User-Agent, X-Request-Id and Host alone", rq.Headers)
	}
	if q, _ := url.ParseQuery(rq.QueryString); q.Get("token") != "[redacted]" || q.Get("wait") != "5s" {
		t.Errorf("query = %q", rq.QueryString)
	}
	if len(ev.User) != 0 || len(ev.Breadcrumbs) != 0 {
		t.Errorf("user %v, breadcrumbs %v", ev.User, ev.Breadcrumbs)
	}
	assertNoSecret(t, f, s)
}

// A secret written in an encoded form inside an error is found too.
func TestReportScrubsEncodedSecrets(t *testing.T) {
	t.Parallel()
	f := sentrytest.New(t)
	s := newSecrets()
	r := newReporter(t, f, nil)
	basic := base64.StdEncoding.EncodeToString([]byte("runner:" + s.token))
	err := fmt.Errorf("the app echoed %s and %s and %s", base64.StdEncoding.EncodeToString([]byte("password="+s.password)),
		url.QueryEscape("https://"+s.userinfo+"@app.example/x"), hex.EncodeToString([]byte("Authorization: Basic "+basic)))
	r.Report(context.Background(), err, errtrack.Scope{Source: "job", Route: "test"})
	f.WaitEvents(t, 1)
	assertNoSecret(t, f, s)
}

// A recovered panic is reported as a fatal, unhandled panic with the
// frames that panicked, not those that recovered.
func TestPanicIsReportedWithItsFrames(t *testing.T) {
	t.Parallel()
	f := sentrytest.New(t)
	r := newReporter(t, f, nil)
	err := recovering(func() { panicking("boom") })
	r.Report(context.Background(), err, errtrack.Scope{Source: "api", Route: "GET /x", RequestID: "req-1"})
	ev := f.WaitEvents(t, 1)[0]
	if ev.Level != "fatal" || len(ev.Exceptions) != 1 {
		t.Fatalf("event = %+v", ev)
	}
	ex := ev.Exceptions[0]
	if ex.Type != "panic" || ex.Value != "boom" || ex.Mechanism["handled"] != false || ex.Stacktrace == nil {
		t.Fatalf("exception = %+v", ex)
	}
	frames := ex.Stacktrace.Frames
	if top := frames[len(frames)-1]; top.Function != "panicking" || !strings.HasSuffix(top.Module, "errtrack_test") {
		t.Errorf("innermost frame = %+v, want panicking", top)
	}
	for _, fr := range frames {
		if strings.HasPrefix(fr.Module, "runtime") || fr.Function == "recovering.func1" {
			t.Errorf("frame of the runtime or the recovery: %+v", fr)
		}
	}
	if !strings.HasPrefix(err.Error(), "panic: boom\n") {
		t.Errorf("Error() = %.40q", err.Error())
	}
}

func recovering(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = errtrack.Recovered(v)
		}
	}()
	f()
	return nil
}

func panicking(v string) { panic(v) }

// Sentry that hangs holds neither a report nor the reports after it:
// Report queues and returns, events beyond BufferSize are dropped, and
// Flush gives up when its context ends. Once Sentry answers, what was
// queued arrives.
func TestAHangingSentryHoldsNothing(t *testing.T) {
	t.Parallel()
	f := sentrytest.New(t)
	const buffer = 3
	r := newReporter(t, f, func(c *errtrack.Config) { c.BufferSize, c.Timeout = buffer, time.Hour })
	arrived, release := f.Hang()
	r.Report(context.Background(), errors.New("first"), errtrack.Scope{Source: "api", Route: "GET /a"})
	<-arrived // the transport now waits for Sentry
	for i := range 3 * buffer {
		r.Report(context.Background(), fmt.Errorf("queued %d", i), errtrack.Scope{Source: "api", Route: "GET /a"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r.Flush(ctx) {
		t.Error("Flush with an ended context reported everything sent while Sentry hangs")
	}
	release()
	if !r.Flush(context.Background()) {
		t.Fatal("Flush after Sentry answered")
	}
	if events := f.Events(); len(events) != 1+buffer || events[0].Exceptions[0].Value != "first" {
		t.Errorf("%d events arrived, want the first and %d queued", len(events), buffer)
	}
}

// Sentry that refuses (nothing listening, or 503) fails no report and no
// flush.
func TestARefusingSentryFailsNothing(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + strings.Repeat("ab", 16) + "@" + l.Addr().String() + "/42"
	l.Close()
	r, err := errtrack.New(errtrack.Config{DSN: closed})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Report(context.Background(), errors.New("nobody hears this"), errtrack.Scope{Source: "job", Route: "k"})
	if !r.Flush(context.Background()) {
		t.Error("Flush to a closed port did not finish")
	}

	f := sentrytest.New(t)
	f.Answer(http.StatusServiceUnavailable)
	r2 := newReporter(t, f, nil)
	r2.Report(context.Background(), errors.New("refused"), errtrack.Scope{Source: "job", Route: "k"})
	if !r2.Flush(context.Background()) || len(f.Bodies()) != 1 || len(f.Events()) != 0 {
		t.Errorf("503: %d bodies, %d events", len(f.Bodies()), len(f.Events()))
	}
}

// Without a DSN there is no Reporter, and a nil one reports nothing at no
// cost. (Not parallel: AllocsPerRun counts the whole process's.)
func TestANilReporterCostsNothing(t *testing.T) {
	var r *errtrack.Reporter
	err, ctx, scope := errors.New("x"), context.Background(), errtrack.Scope{Source: "api", Route: "GET /x"}
	if n := testing.AllocsPerRun(100, func() { r.Report(ctx, err, scope) }); n != 0 {
		t.Errorf("a nil Reporter's Report allocates %v times", n)
	}
	if !r.Flush(ctx) || r.JobErrors() != nil {
		t.Error("a nil Reporter flushed false or has a job error handler")
	}
	r.Close()
}

// A bad configuration is named without repeating the DSN's key.
func TestConfigIsValidated(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("cd", 16)
	for _, dsn := range []string{"", "ftp://" + key + "@host/1", "https://" + key + "@host/", "not a url " + key} {
		_, err := errtrack.New(errtrack.Config{DSN: dsn})
		if err == nil || strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "DSN") {
			t.Errorf("DSN %q: %v", dsn, err)
		}
	}
	c := errtrack.Config{DSN: "https://" + key + "@o1.ingest.sentry.io/5"}.WithDefaults()
	if c.Environment != "production" || c.Release != errtrack.Release() || c.Timeout != 5*time.Second || c.BufferSize != 100 || c.FlushTimeout != 2*time.Second {
		t.Errorf("defaults = %+v", c)
	}
	if rel := errtrack.Release(); !strings.HasPrefix(rel, "understudy@") || len(rel) <= len("understudy@") {
		t.Errorf("Release() = %q", rel)
	}
}
