package errtrack

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/understudy-dev/understudy/tagging"
)

// Config configures a Reporter.
type Config struct {
	// DSN is the Sentry project's DSN (SENTRY_DSN). Required.
	DSN string
	// Environment names the deployment the events come from
	// (SENTRY_ENVIRONMENT). Defaults to "production", as Sentry assumes.
	Environment string
	// Release names the version that runs (SENTRY_RELEASE). Defaults to
	// Release(), the binary's own version.
	Release string
	// Secrets are values no event may carry in any form: the server's
	// keys, the database's password. The DSN's keys are always among
	// them. Defaults to none besides those.
	Secrets []string
	// Timeout bounds one request to Sentry. Defaults to 5s.
	Timeout time.Duration
	// BufferSize bounds the events waiting to be sent: while Sentry is
	// slow and that many wait, new events are dropped. Defaults to 100.
	BufferSize int
	// FlushTimeout bounds how long Flush waits for the waiting events.
	// Defaults to 2s.
	FlushTimeout time.Duration
}

// WithDefaults returns c with its optional fields filled.
func (c Config) WithDefaults() Config {
	c.Environment = cmp.Or(c.Environment, "production")
	c.Release = cmp.Or(c.Release, Release())
	c.Timeout = cmp.Or(c.Timeout, 5*time.Second)
	c.BufferSize = cmp.Or(c.BufferSize, 100)
	c.FlushTimeout = cmp.Or(c.FlushTimeout, 2*time.Second)
	return c
}

// Validate names the first bad field. It never repeats the DSN, which
// holds a key.
func (c Config) Validate() error {
	switch {
	case c.DSN == "":
		return errors.New("errtrack: Config.DSN is required")
	case c.Timeout <= 0, c.BufferSize <= 0, c.FlushTimeout <= 0:
		return errors.New("errtrack: Config.Timeout, BufferSize and FlushTimeout must be positive")
	}
	if _, err := sentry.NewDsn(c.DSN); err != nil {
		return errors.New("errtrack: Config.DSN is not a Sentry DSN such as https://PUBLIC_KEY@o0.ingest.sentry.io/PROJECT_ID")
	}
	return nil
}

// Release is the binary's version as a Sentry release:
// understudy@<version> of the main module (a tagged version, or the
// pseudo-version go build stamps from the checkout), else
// understudy@<vcs revision>, else understudy@devel.
func Release() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "understudy@devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return "understudy@" + v
	}
	var rev string
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "understudy@devel"
	}
	if dirty {
		rev += "-dirty"
	}
	return "understudy@" + rev
}

// Reporter sends unexpected errors to Sentry. A nil *Reporter reports
// nothing. Its methods are safe for concurrent use.
type Reporter struct {
	client       *sentry.Client
	scrub        *tagging.Scrubber
	flushTimeout time.Duration
}

// New returns a Reporter, or an error naming the bad field of cfg.
func New(cfg Config) (*Reporter, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dsn, _ := sentry.NewDsn(cfg.DSN)
	secrets := append(slices.Clone(cfg.Secrets), cfg.DSN, dsn.GetPublicKey(), dsn.GetSecretKey())
	r := &Reporter{scrub: tagging.NewScrubber(secrets...).WithShapes(shapes...), flushTimeout: cfg.FlushTimeout}
	transport := sentry.NewHTTPTransport()
	transport.BufferSize, transport.Timeout = cfg.BufferSize, cfg.Timeout
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:              cfg.DSN,
		Environment:      cfg.Environment,
		Release:          cfg.Release,
		Transport:        transport,
		SendDefaultPII:   false,
		AttachStacktrace: false,
		MaxBreadcrumbs:   -1,
		BeforeBreadcrumb: func(*sentry.Breadcrumb, *sentry.BreadcrumbHint) *sentry.Breadcrumb { return nil },
		BeforeSend:       func(ev *sentry.Event, _ *sentry.EventHint) *sentry.Event { return r.scrubEvent(ev) },
		DisableMetrics:   true,
		// ContextifyFrames reads source files on the request's goroutine;
		// GlobalTags reads SENTRY_TAGS_* behind the configuration's back.
		Integrations: func(in []sentry.Integration) []sentry.Integration {
			return slices.DeleteFunc(in, func(i sentry.Integration) bool {
				return i.Name() == "ContextifyFrames" || i.Name() == "GlobalTags"
			})
		},
	})
	if err != nil {
		return nil, errors.New("errtrack: preparing the Sentry client failed")
	}
	r.client = client
	return r, nil
}

// Scope says what an error is about: where it happened and the ids that
// correlate it with the request's logs and audit events.
type Scope struct {
	// Source is where the error happened: "api", "console" or "job".
	Source string
	// Route is the route's pattern ("GET /v1/leases/:lease_id"), or the
	// job's kind: events are grouped by it.
	Route string
	// RequestID is the request's X-Request-ID, or "job-<id>" for a job.
	RequestID string
	// LeaseID is the lease the request or the job concerns, if any.
	LeaseID string
	// Request is the request that failed, nil for a job. Its method, URL
	// and the headers and query values that carry nothing secret are
	// reported; never its body, cookies or credentials.
	Request *http.Request
	// JobID and Attempt name a job's attempt that failed.
	JobID   int64
	Attempt int
}

// Report sends err, an unexpected error, to Sentry with what s says, and
// returns at once: the event waits in the transport's queue. A
// *PanicError anywhere in err's chain is reported as the panic it was.
func (r *Reporter) Report(ctx context.Context, err error, s Scope) {
	if r == nil || err == nil {
		return
	}
	var ev *sentry.Event
	if p, ok := errors.AsType[*PanicError](err); ok {
		ev = p.event()
	} else {
		ev = r.client.EventFromException(err, sentry.LevelError)
		// sentry-go gives an error without a stack of its own the stack
		// of this call, which says where the error was reported, not
		// where it happened: leave it out, so events group by the error.
		if n := len(ev.Exception); n > 0 && sentry.ExtractStacktrace(err) == nil {
			ev.Exception[n-1].Stacktrace = nil
		}
	}
	s.apply(ev)
	r.client.CaptureEvent(ev, &sentry.EventHint{Context: ctx, OriginalException: err}, nil)
}

// apply sets the tags, transaction, grouping and request of ev.
func (s Scope) apply(ev *sentry.Event) {
	for k, v := range map[string]string{"source": s.Source, "route": s.Route, "request_id": s.RequestID} {
		if v != "" {
			ev.Tags[k] = v
		}
	}
	if isLeaseID(s.LeaseID) {
		ev.Tags["lease_id"] = s.LeaseID
	}
	if s.JobID != 0 {
		ev.Tags["job_id"] = strconv.FormatInt(s.JobID, 10)
		ev.Tags["attempt"] = strconv.Itoa(s.Attempt)
	}
	ev.Transaction = s.Route
	ev.Fingerprint = []string{"{{ default }}", s.Source, s.Route}
	if s.Request != nil {
		ev.Request = requestOf(s.Request)
	}
}

// requestOf is what Sentry's request interface holds of r, whole: the
// BeforeSend (scrubEvent) keeps of it what may be sent.
func requestOf(r *http.Request) *sentry.Request {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	headers := make(map[string]string, len(r.Header)+1)
	for k, v := range r.Header {
		headers[k] = strings.Join(v, ",")
	}
	headers["Host"] = r.Host
	return &sentry.Request{URL: scheme + "://" + r.Host + r.URL.Path, Method: r.Method, QueryString: r.URL.RawQuery,
		Cookies: r.Header.Get("Cookie"), Headers: headers}
}

// Flush waits until the events queued so far are sent, for no longer
// than ctx allows nor FlushTimeout from now; it reports whether they
// were all sent. Call it at shutdown with a context made after the
// signal.
func (r *Reporter) Flush(ctx context.Context) bool {
	if r == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, r.flushTimeout)
	defer cancel()
	return r.client.FlushWithContext(ctx)
}

// Close stops the transport's goroutine; events still queued are
// dropped (Flush first). It is safe twice.
func (r *Reporter) Close() {
	if r != nil {
		r.client.Close()
	}
}
