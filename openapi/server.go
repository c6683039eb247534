// Package openapi is Understudy's REST API: openapi.yaml (the contract),
// the server interface, types and Go client generated from it
// (openapi.gen.go, by oapi-codegen), and the handlers that implement the
// server interface on the domain packages.
//
// Every request passes, in order: request id, deadline, logging and
// metrics, body limit, the gate (token, scope, request validation against
// openapi.yaml), then its handler. Handlers just return errors; handleError
// turns them into RFC 9457 problem documents in one place.
package openapi

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/errtrack"
	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/migrations"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/snapshot"
	"github.com/understudy-dev/understudy/spec"
	"github.com/understudy-dev/understudy/tagging"
)

// maxBody is the largest request body accepted (1 MiB).
const maxBody = 1 << 20

// Pinger is what readiness needs of the database pool.
type Pinger interface {
	Ping(ctx context.Context) error
	migrations.Querier
}

// Config configures a Server.
type Config struct {
	// Accounts holds environments, roles and accounts. Required.
	Accounts *accounts.Service
	// Apps holds the apps of each environment. Required.
	Apps *apps.Service
	// Snapshots captures and resets accounts. Required.
	Snapshots *snapshot.Service
	// Leases hands accounts to test runs. Required.
	Leases *lease.Service
	// Runs lists the leases' runs and counts their outcomes (the one
	// Leases observes into). Required.
	Runs *run.Service
	// Exclusions reads the exclusion lists. Required.
	Exclusions *tagging.Exclusions
	// Destinations attaches, tests and syncs analytics destinations. Required.
	Destinations *tagging.Service
	// Isolation decides visibility and serves the signed isolation lists. Required.
	Isolation *isolation.Service
	// Spec plans and applies declarative specs and keeps their workspaces. Required.
	Spec *spec.Service
	// TOTP keeps the accounts' authenticator secrets and computes their
	// codes. Required.
	TOTP *inbox.TOTP
	// Tokens checks bearer tokens. Required.
	Tokens *access.Tokens
	// Audit reads the audit trail. Required.
	Audit *access.Audit
	// Inbox receives mail over HTTPS and reads the accounts' inboxes. Required.
	Inbox *inbox.Service
	// Artifacts keeps the files test runs upload as evidence of their
	// leases. Required.
	Artifacts *run.Artifacts
	// Captures keeps the accounts' states at failed runs' ends. Required.
	Captures *run.Captures
	// InboundMaxBytes bounds a message posted to /v1/inbound/mime, the
	// SMTP receiver's limit. Defaults to 10 MiB.
	InboundMaxBytes int64
	// Deployments records and lists the environments' deployments. Required.
	Deployments *run.Deployments
	// Flows declares the environments' flows. Required.
	Flows *run.Flows
	// DB is pinged by /readyz. Required.
	DB Pinger
	// Logger receives one line per request and every internal error.
	// Defaults to discarding.
	Logger *slog.Logger
	// Registry holds the metrics served at /metrics. Defaults to a new registry.
	Registry *prometheus.Registry
	// RequestTimeout bounds each request. Defaults to 10s.
	RequestTimeout time.Duration
	// ApplyTimeout bounds an apply's own work, on top of the time it is
	// asked to wait for leases. Defaults to 5m.
	ApplyTimeout time.Duration
	// Errors receives every request answered 500, a recovered panic
	// among them. Defaults to nil: nothing is reported.
	Errors *errtrack.Reporter
}

// WithDefaults returns c with its optional fields filled.
func (c Config) WithDefaults() Config {
	c.Logger = cmp.Or(c.Logger, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	c.RequestTimeout = cmp.Or(c.RequestTimeout, 10*time.Second)
	c.ApplyTimeout = cmp.Or(c.ApplyTimeout, 5*time.Minute)
	c.InboundMaxBytes = cmp.Or(c.InboundMaxBytes, 10<<20)
	return c
}

// Validate names the first missing field.
func (c Config) Validate() error {
	switch {
	case c.Accounts == nil:
		return errors.New("openapi: Config.Accounts is required")
	case c.Apps == nil:
		return errors.New("openapi: Config.Apps is required")
	case c.Snapshots == nil:
		return errors.New("openapi: Config.Snapshots is required")
	case c.Leases == nil:
		return errors.New("openapi: Config.Leases is required")
	case c.Runs == nil:
		return errors.New("openapi: Config.Runs is required")
	case c.Exclusions == nil:
		return errors.New("openapi: Config.Exclusions is required")
	case c.Destinations == nil:
		return errors.New("openapi: Config.Destinations is required")
	case c.Isolation == nil:
		return errors.New("openapi: Config.Isolation is required")
	case c.Spec == nil:
		return errors.New("openapi: Config.Spec is required")
	case c.TOTP == nil:
		return errors.New("openapi: Config.TOTP is required")
	case c.Tokens == nil:
		return errors.New("openapi: Config.Tokens is required")
	case c.Audit == nil:
		return errors.New("openapi: Config.Audit is required")
	case c.Inbox == nil:
		return errors.New("openapi: Config.Inbox is required")
	case c.Deployments == nil:
		return errors.New("openapi: Config.Deployments is required")
	case c.Flows == nil:
		return errors.New("openapi: Config.Flows is required")
	case c.Artifacts == nil:
		return errors.New("openapi: Config.Artifacts is required")
	case c.Captures == nil:
		return errors.New("openapi: Config.Captures is required")
	case c.DB == nil:
		return errors.New("openapi: Config.DB is required")
	}
	return nil
}

// Server implements ServerInterface.
type Server struct {
	accounts   *accounts.Service
	apps       *apps.Service
	snapshots  *snapshot.Service
	leases     *lease.Service
	runs       *run.Service
	exclusions *tagging.Exclusions
	// destinations are the analytics destinations and their sync runs.
	destinations *tagging.Service
	// isolation decides visibility and serves the signed lists.
	isolation *isolation.Service
	spec      *spec.Service
	// totp keeps the authenticator secrets and computes their codes.
	totp   *inbox.TOTP
	tokens *access.Tokens
	audit  *access.Audit
	// inbox is the accounts' mail; inboundMax bounds a posted message.
	inbox      *inbox.Service
	inboundMax int64
	db         Pinger
	logger     *slog.Logger
	metrics    *metrics
	registry   *prometheus.Registry
	gateway    *gate
	echo       *echo.Echo
	// requestTimeout bounds each request (and each lease's reset).
	requestTimeout time.Duration
	// applyTimeout bounds an apply beyond its wait for leases.
	applyTimeout time.Duration
	// errors receives the requests answered 500.
	errors *errtrack.Reporter

	// deployments and flows are the environments' deployments and flows.
	deployments *run.Deployments
	flows       *run.Flows
	// artifacts are the files test runs upload as their leases' evidence.
	artifacts *run.Artifacts
	captures  *run.Captures
}

var _ ServerInterface = (*Server)(nil)

// New returns a Server, or an error naming the bad field of cfg.
func New(cfg Config) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g, err := newGate()
	if err != nil {
		return nil, err
	}
	s := &Server{accounts: cfg.Accounts, apps: cfg.Apps, snapshots: cfg.Snapshots, leases: cfg.Leases, runs: cfg.Runs, exclusions: cfg.Exclusions, destinations: cfg.Destinations, isolation: cfg.Isolation, spec: cfg.Spec, totp: cfg.TOTP, tokens: cfg.Tokens, audit: cfg.Audit, inbox: cfg.Inbox, inboundMax: cfg.InboundMaxBytes, artifacts: cfg.Artifacts, captures: cfg.Captures, db: cfg.DB,
		logger: cfg.Logger, registry: cfg.Registry, gateway: g, requestTimeout: cfg.RequestTimeout, applyTimeout: cfg.ApplyTimeout, errors: cfg.Errors}
	s.metrics = newMetrics(cfg.Registry, cfg.Accounts, cfg.Destinations, cfg.Exclusions, cfg.Isolation, cfg.Runs)
	s.deployments, s.flows = cfg.Deployments, cfg.Flows
	cfg.Registry.MustRegister(&deploymentsCollector{deployments: cfg.Deployments}, &flowsCollector{flows: cfg.Flows, runs: cfg.Runs})
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Pre(requestID)
	e.Use(s.observe, recoverPanic, deadline(cfg.RequestTimeout), limitBody(maxBody, map[[2]string]int64{inboundRoute: cfg.InboundMaxBytes, artifactRoute: run.MaxArtifactBytes}), s.gate)
	RegisterHandlers(e, s)
	s.echo = e
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// GetHealth answers while the process is up.
func (s *Server) GetHealth(c echo.Context) error {
	return c.JSON(http.StatusOK, Health{Status: "ok"})
}

// GetReady answers 200 when the database answers and its schema is current.
func (s *Server) GetReady(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		return unavailableErr("the database is unreachable", err)
	}
	if err := migrations.Check(ctx, s.db); err != nil {
		if be, ok := errors.AsType[*migrations.BehindError](err); ok {
			return unavailableErr(be.Error(), nil)
		}
		return unavailableErr("the database is unreachable", err)
	}
	return c.JSON(http.StatusOK, Health{Status: "ready", SchemaVersion: new(int(migrations.Latest()))})
}

// GetOpenAPI serves openapi.yaml.
func (s *Server) GetOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", SpecYAML)
}

// GetMetrics serves the Prometheus metrics.
func (s *Server) GetMetrics(c echo.Context) error {
	promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).
		ServeHTTP(c.Response(), c.Request())
	return nil
}
