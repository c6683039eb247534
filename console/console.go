package console

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/errtrack"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/snapshot"
	"github.com/understudy-dev/understudy/tagging"
)

// Prefix is where the console is mounted.
const Prefix = "/ui/"

// Config configures a Console.
type Config struct {
	// Accounts holds environments, roles and accounts. Required.
	Accounts *accounts.Service
	// Apps holds the apps of each environment. Required.
	Apps *apps.Service
	// Snapshots resets accounts and compares their state. Required.
	Snapshots *snapshot.Service
	// Leases lists and releases leases. Required.
	Leases *lease.Service
	// Runs lists the runs and charts their outcomes. Required.
	Runs *run.Service
	// Artifacts lists a run's artifacts and hands out their bytes. Required.
	Artifacts *run.Artifacts
	// Captures reads the account's state at a failed run's end. Required.
	Captures *run.Captures
	// Deployments lists the deployments the runs pages mark. Required.
	Deployments *run.Deployments
	// TraceURL links a run to its trace in the tracing backend: an http or
	// https URL in which {trace_id} stands for the trace's id, such as
	// https://jaeger.example.com/trace/{trace_id} (CheckTraceURL).
	// Defaults to empty: a run's page shows its trace id as text.
	TraceURL string
	// Exclusions describes the exclusion lists. Required.
	Exclusions *tagging.Exclusions
	// Destinations lists and syncs analytics destinations. Required.
	Destinations *tagging.Service
	// Isolation lists violations and runs audits. Required.
	Isolation *isolation.Service
	// Inbox lists an account's messages and opens one (its body only to
	// an admin session), and hands out its raw MIME. Required.
	Inbox *inbox.Service
	// Tokens checks the token pasted at sign-in. Required.
	Tokens *access.Tokens
	// Audit reads the audit trail. Required.
	Audit *access.Audit
	// DB holds the sessions and answers the console's own reads. Required.
	DB pgdb.DB
	// Logger receives internal errors. Defaults to discarding.
	Logger *slog.Logger
	// SessionIdle is how long a session lasts without a request. Defaults to 12h.
	SessionIdle time.Duration
	// RequestTimeout bounds each request. Defaults to 10s.
	RequestTimeout time.Duration
	// Now tells the time: pages' relative times, the audit trail's
	// "since", and sessions' expiry (passed to SQL, the database's clock
	// when it is nil). Defaults to time.Now.
	Now func() time.Time
	// Errors receives every request answered 500, a recovered panic
	// among them. Defaults to nil: nothing is reported.
	Errors *errtrack.Reporter
}

// WithDefaults returns c with its optional fields filled.
func (c Config) WithDefaults() Config {
	c.Logger = cmp.Or(c.Logger, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.SessionIdle = cmp.Or(c.SessionIdle, 12*time.Hour)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, 10*time.Second)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate names the first missing field.
func (c Config) Validate() error {
	for _, f := range []struct {
		name    string
		missing bool
	}{{"Accounts", c.Accounts == nil}, {"Apps", c.Apps == nil}, {"Snapshots", c.Snapshots == nil}, {"Leases", c.Leases == nil},
		{"Runs", c.Runs == nil}, {"Artifacts", c.Artifacts == nil}, {"Captures", c.Captures == nil},
		{"Deployments", c.Deployments == nil},
		{"Exclusions", c.Exclusions == nil}, {"Destinations", c.Destinations == nil}, {"Isolation", c.Isolation == nil},
		{"Inbox", c.Inbox == nil}, {"Tokens", c.Tokens == nil}, {"Audit", c.Audit == nil}, {"DB", c.DB == nil}} {
		if f.missing {
			return errors.New("console: Config." + f.name + " is required")
		}
	}
	if c.SessionIdle < time.Minute {
		return errors.New("console: Config.SessionIdle must be at least a minute")
	}
	if err := CheckTraceURL(c.TraceURL); err != nil {
		return errors.New("console: Config.TraceURL " + err.Error())
	}
	return nil
}

// Console is the web console: an http.Handler for the paths under Prefix.
type Console struct {
	cfg      Config
	sessions *sessions
	views    *views
	mux      *http.ServeMux
	// pages reads the lists of many accounts at once.
	pages *accounts.Pages
}

// New returns a Console, or an error naming the bad field of cfg.
func New(cfg Config) (*Console, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v, err := newViews(cfg.Now)
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, sessions: &sessions{db: cfg.DB, idle: cfg.SessionIdle, now: cfg.Now}, views: v, mux: http.NewServeMux(),
		pages: accounts.NewPages(cfg.DB)}
	c.routes()
	return c, nil
}

// routes registers every page, fragment and action. Those under the
// session guard need a signed-in session; every POST among them needs the
// session's CSRF token too.
func (c *Console) routes() {
	m := c.mux
	m.Handle("GET /ui/static/{file}", staticHandler())
	m.HandleFunc("GET /favicon.ico", favicon)
	m.HandleFunc("GET /ui/-/health", c.health)
	m.HandleFunc("GET /ui/signin", c.signInPage)
	m.HandleFunc("POST /ui/signin", c.signIn)
	for _, rt := range c.guarded() {
		m.Handle(rt.pattern, c.guard(rt.h))
	}
	m.HandleFunc("/", c.notFound)
}

// route is a path of the console that needs a session, and what it answers.
type route struct {
	pattern string
	h       handlerFunc
	// page: a whole HTML page a browser opens (and a test checks).
	page bool
}

// guarded lists the console's routes that need a signed-in session.
func (c *Console) guarded() []route {
	return []route{
		{"GET /ui/{$}", c.overview, true},
		{"GET /ui/environments/{env}", c.environment, true},
		{"GET /ui/environments/{env}/exclusions/{format}", c.exclusionDownload, false},
		{"GET /ui/accounts", c.accountList, true},
		{"GET /ui/accounts/{id}", c.account, true},
		{"GET /ui/accounts/{id}/diff", c.accountDiff, false},
		{"GET /ui/accounts/{id}/messages/{mid}", c.message, true},
		{"GET /ui/accounts/{id}/messages/{mid}/html", c.messageHTML, false},
		{"GET /ui/accounts/{id}/messages/{mid}/raw", c.messageRaw, false},
		{"GET /ui/leases", c.leasesPage, true},
		{"GET /ui/leases/table", c.leasesTable, false},
		{"GET /ui/leases/{id}", c.leasePage, true},
		{"GET /ui/runs", c.runsPage, true},
		{"GET /ui/runs/{lease_id}", c.runPage, true},
		{artifactRoute, c.artifactDownload, false},
		{"GET /ui/runs/{lease_id}/capture/{app}", c.captureDownload, false},
		{"GET /ui/sync", c.syncPage, true},
		{"GET /ui/isolation", c.isolationPage, true},
		{"GET /ui/audit", c.auditPage, true},
		{"GET /ui/confirm/{action}", c.confirm, true},
		{"POST /ui/actions/{action}", c.act, false},
		{"POST /ui/signout", c.signOut, false},
	}
}

// Pages lists the pattern (as http.ServeMux reads it) of every whole page
// the console serves: the sign-in page, those a session opens, and the
// error page (any path the console does not have). Fragments, downloads,
// static files and actions are not among them. A test that checks every
// page (accessibility) reads them here, so a new page is checked too.
func Pages() []string {
	out := []string{"GET /ui/signin", "GET /ui/no-such-page"}
	for _, rt := range (&Console{}).guarded() {
		if rt.page {
			out = append(out, rt.pattern)
		}
	}
	return out
}

// ServeHTTP serves the console's paths, with its security headers, a
// request id and the request's time bound (longer for an artifact's
// download); a handler's panic is answered as an internal error.
func (c *Console) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &answering{ResponseWriter: rw}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	id := uuid.NewString()
	h.Set("X-Request-ID", id)
	ctx, cancel := context.WithTimeout(access.WithRequestID(r.Context(), id), c.timeoutOf(r))
	defer cancel()
	r = r.WithContext(ctx)
	defer c.recoverPanic(w, r)
	c.mux.ServeHTTP(w, r)
}

// timeoutOf is the time bound of r: Config.RequestTimeout, and
// artifactTransfer more for an artifact's download, as the REST API
// gives its own.
func (c *Console) timeoutOf(r *http.Request) time.Duration {
	if _, pattern := c.mux.Handler(r); pattern == artifactRoute {
		return c.cfg.RequestTimeout + artifactTransfer
	}
	return c.cfg.RequestTimeout
}

// Wrap returns a handler that serves the console under Prefix (and
// redirects the bare "/ui" there), its icon at /favicon.ico, and
// everything else with api.
func (c *Console) Wrap(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == strings.TrimSuffix(Prefix, "/"):
			http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		case strings.HasPrefix(r.URL.Path, Prefix), r.URL.Path == "/favicon.ico":
			c.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

// health answers 200, asking htmx to reload the page, when the database
// answers, and 503 while it does not: the banner of a page that failed for
// want of the database polls it and so recovers by itself.
func (c *Console) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var one int
	if err := c.cfg.DB.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "the database is unreachable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("HX-Refresh", "true")
	w.WriteHeader(http.StatusOK)
}
