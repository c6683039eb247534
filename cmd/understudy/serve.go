package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"gocloud.dev/blob"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/console"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/errtrack"
	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/migrations"
	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/providers/webhook"
	runpkg "github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/snapshot"
	"github.com/understudy-dev/understudy/spec"
	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tracing"
)

// Main is the server program: Run starts it, Close stops it. End-to-end
// tests boot it on port 0 exactly as `understudy serve` does.
type Main struct {
	// Config is the server's configuration, defaults filled.
	Config Config
	// Migrate applies pending migrations at start-up instead of refusing
	// to start on a schema that is behind.
	Migrate bool
	// Logger receives the server's logs.
	Logger *slog.Logger
	// Tracing says where the server's spans go (the OTEL_* environment
	// variables: tracing.ConfigFromEnv). The zero value exports nothing;
	// leases get trace contexts all the same.
	Tracing tracing.Config

	pool    *pgxpool.Pool
	tracing *tracing.Provider
	apps    *apps.Service
	jobs    *river.Client[pgx.Tx]
	// captures keeps the failed runs' states; Close waits for the
	// enqueues of their jobs.
	captures *runpkg.Captures
	listener net.Listener
	http     *http.Server
	served   chan error
	// smtp is the SMTP receiver, nil when UNDERSTUDY_SMTP_ADDR is unset.
	smtp     *inbox.SMTPServer
	smtpAddr string
	// bucket keeps the uploaded artifacts (UNDERSTUDY_ARTIFACTS_URL).
	bucket *blob.Bucket
	// stopListening ends the inbox's LISTEN connection; listened is
	// closed once it has ended.
	stopListening context.CancelFunc
	listened      chan struct{}
	// errors reports unexpected errors to Sentry, nil without SENTRY_DSN.
	errors *errtrack.Reporter
}

// Run connects to the database, checks (or migrates) its schema, and starts
// serving in the background. It returns once the server accepts requests.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	keyring, err := keyringOf(m.Config)
	if err != nil {
		return err
	}
	if m.Migrate {
		if err := migrations.Up(m.Config.DatabaseURL, 0); err != nil {
			return err
		}
	}
	if m.pool, err = openPool(ctx, m.Config); err != nil {
		return err
	}
	if err := migrations.Check(ctx, m.pool); err != nil {
		return err
	}
	if m.bucket, err = openArtifactBucket(ctx, m.Config, m.Logger); err != nil {
		return err
	}
	m.Tracing.Logger = cmp.Or(m.Tracing.Logger, m.Logger)
	if m.tracing, err = tracing.New(ctx, m.Tracing); err != nil {
		return err
	}
	svc, err := m.services(keyring)
	if err != nil {
		return err
	}
	if m.errors, err = m.errorReporter(); err != nil {
		return err
	}
	if err := m.startJobs(ctx, svc); err != nil {
		return err
	}
	m.listen(svc.inbox)
	if m.smtp, m.smtpAddr, err = startSMTP(m.Config, svc.inbox, m.Logger); err != nil {
		return err
	}
	handler, err := m.handler(svc)
	if err != nil {
		return err
	}
	if m.listener, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return fmt.Errorf("listening on %s: %w", m.Config.Addr, err)
	}
	// ReadTimeout bounds headers and body together, so a client that sends
	// its body slowly cannot hold a connection; the body limit is the API's
	// middleware (1 MiB on every route but POST /v1/inbound/mime, whose
	// message may be UNDERSTUDY_SMTP_MAX_BYTES, and PUT
	// /v1/leases/{id}/artifacts/{name}, whose file may be 10 MiB). There is no WriteTimeout:
	// a read of a lease's inbox may wait 60s for mail, and each handler
	// bounds its own time (the request timeout, plus the wait it was asked).
	m.http = &http.Server{Handler: handler, ReadHeaderTimeout: min(10*time.Second, m.Config.ReadTimeout), ReadTimeout: m.Config.ReadTimeout,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn)}
	m.served = make(chan error, 1)
	go func() { m.served <- m.http.Serve(m.listener) }()
	m.Logger.InfoContext(ctx, "serving", slog.String("addr", m.Addr()), slog.String("secret_key_id", keyring.PrimaryKeyID()),
		slog.Any("email_domains", m.Config.EmailDomains), slog.String("otlp_traces_endpoint", m.tracing.Endpoint()))
	return nil
}

// Addr returns the address the server listens on (useful with port 0).
func (m *Main) Addr() string {
	if m.listener == nil {
		return ""
	}
	return m.listener.Addr().String()
}

// SMTPAddr returns the address the SMTP receiver listens on, or "" when
// it is off.
func (m *Main) SMTPAddr() string {
	return m.smtpAddr
}

// listen runs the inbox's notification listener, which wakes the requests
// waiting for mail, until Close.
func (m *Main) listen(in *inbox.Service) {
	ctx, cancel := context.WithCancel(context.Background())
	m.stopListening, m.listened = cancel, make(chan struct{})
	go func() {
		defer close(m.listened)
		if err := in.Listen(ctx); err != nil && ctx.Err() == nil {
			m.Logger.Error("the inbox's notification listener stopped", slog.String("err", err.Error()))
		}
	}()
}

// Close stops receiving mail, stops accepting requests, waits for those in
// flight and for running jobs until ctx ends, cancels the jobs still
// running then, and closes the pool. It is safe without Run and safe twice.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	if m.smtp != nil {
		if err := m.smtp.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping the SMTP receiver: %w", err))
		}
		m.smtp, m.smtpAddr = nil, ""
	}
	if m.stopListening != nil {
		// Waiting requests end with a clean 503 they can retry.
		m.stopListening()
		<-m.listened
		m.stopListening = nil
	}
	if m.http != nil {
		if err := m.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping the HTTP server: %w", err))
		}
		if err := <-m.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		m.http = nil
	}
	if m.captures != nil {
		// The capture jobs of the last failed runs, being enqueued (each
		// insert is bounded); one lost is enqueued again by the sweep.
		m.captures.Flush()
	}
	if m.jobs != nil {
		if err := m.jobs.Stop(ctx); err != nil {
			// Jobs still running at the deadline (a call to a slow or gone
			// app) are cancelled: River runs them again after a restart.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := m.jobs.StopAndCancel(cctx); err != nil {
				errs = append(errs, fmt.Errorf("stopping background jobs: %w", err))
			}
			cancel()
		}
		m.jobs = nil
	}
	if m.errors != nil {
		// The last reports (a job cut short above) get what is left of
		// ctx, the deadline made at the signal, bounded by FlushTimeout.
		if !m.errors.Flush(ctx) {
			m.Logger.Warn("error reports still queued at shutdown were not sent to Sentry")
		}
		m.errors.Close()
		m.errors = nil
	}
	if m.apps != nil {
		m.apps.Close()
		m.apps = nil
	}
	if m.bucket != nil {
		if err := m.bucket.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the artifacts bucket: %w", err))
		}
		m.bucket = nil
	}
	if m.pool != nil {
		m.pool.Close()
		m.pool = nil
	}
	if m.tracing != nil {
		// The spans of the requests and jobs that just ended are flushed
		// within a bound of their own, set now (after the signal), even
		// when ctx is spent: an exporter that is down delays the exit by
		// at most that.
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), spanFlushTimeout)
		if err := m.tracing.Shutdown(tctx); err != nil {
			m.Logger.Warn("some spans were not exported before the shutdown", slog.String("error", err.Error()))
		}
		cancel()
		m.tracing = nil
	}
	return errors.Join(errs...)
}

// spanFlushTimeout bounds the export of the spans still queued at shutdown.
const spanFlushTimeout = 5 * time.Second

// handler is the REST API and, unless it is turned off, the web console
// under /ui/, on the same services, behind the one place that decides
// whose forwarding headers are believed (TrustedProxies).
func (m *Main) handler(svc services) (http.Handler, error) {
	tokens, exclusions, audit := access.NewCachedTokens(m.pool, m.Config.TokenCacheTTL), tagging.NewExclusions(m.pool, m.Logger), access.NewAudit(m.pool)
	api, err := openapi.New(openapi.Config{Accounts: svc.accounts, Apps: svc.apps, Snapshots: svc.snapshots, Leases: svc.leases, Runs: svc.runs, Exclusions: exclusions, Destinations: svc.destinations, Isolation: svc.isolation, Spec: svc.spec, TOTP: svc.totp, Tokens: tokens, Audit: audit,
		Inbox: svc.inbox, InboundMaxBytes: m.Config.SMTPMaxBytes, Artifacts: svc.artifacts, Captures: svc.captures,
		Deployments: svc.deployments, Flows: svc.flows,
		DB: m.pool, Logger: m.Logger, Registry: prometheus.NewRegistry(), RequestTimeout: m.Config.RequestTimeout, Errors: m.errors})
	if err != nil {
		return nil, err
	}
	trusted, err := m.Config.trustedProxies()
	if err != nil {
		return nil, err
	}
	proxies := openapi.TrustProxies(trusted)
	if !m.Config.ConsoleOn() {
		return proxies(api), nil
	}
	con, err := console.New(console.Config{Accounts: svc.accounts, Apps: svc.apps, Snapshots: svc.snapshots, Leases: svc.leases,
		Runs: svc.runs, Artifacts: svc.artifacts, Captures: svc.captures, Deployments: svc.deployments, TraceURL: m.Config.TraceURL, Exclusions: exclusions,
		Destinations: svc.destinations, Isolation: svc.isolation, Inbox: svc.inbox, Tokens: tokens, Audit: audit, DB: m.pool, Logger: m.Logger,
		SessionIdle: m.Config.ConsoleSessionIdle, RequestTimeout: m.Config.RequestTimeout, Errors: m.errors})
	if err != nil {
		return nil, err
	}
	return proxies(con.Wrap(api)), nil
}

// services are the domain services the server wires together.
type services struct {
	accounts  *accounts.Service
	apps      *apps.Service
	snapshots *snapshot.Service
	leases    *lease.Service
	// runs lists the leases' runs and counts the outcomes they record.
	runs *runpkg.Service
	// destinations publishes exclusion lists to analytics destinations.
	destinations *tagging.Service
	// isolation decides visibility and signs the isolation lists.
	isolation *isolation.Service
	// spec plans and applies declarative specs.
	spec *spec.Service
	// inbox receives and keeps the synthetic accounts' mail.
	inbox *inbox.Service
	// totp keeps the accounts' authenticator secrets.
	totp *inbox.TOTP
	// deployments and flows are the environments' deployments and flows.
	deployments *runpkg.Deployments
	flows       *runpkg.Flows
	// artifacts are the files test runs upload as their leases' evidence.
	artifacts *runpkg.Artifacts
	// captures keep the account's state at the end of each failed run.
	captures *runpkg.Captures
}

// services builds the domain services on the pool; m.apps is set so that
// Close releases the provider instances.
func (m *Main) services(keyring *secret.Keyring) (services, error) {
	var svc services
	sched, err := snapshot.NewScheduler(nil)
	if err != nil {
		return svc, err
	}
	svc.accounts, err = accounts.New(accounts.Config{DB: m.pool, OpenLeases: lease.OpenLeases, Keyring: keyring, EmailDomains: m.Config.EmailDomains,
		Provisioning: sched, Logger: m.Logger})
	if err != nil {
		return svc, err
	}
	svc.apps, err = apps.New(apps.Config{DB: m.pool, Keyring: keyring, Accounts: svc.accounts, Provisioning: sched,
		Registry: newRegistry(), Logger: m.Logger, AppTimeout: m.Config.AppTimeout})
	if err != nil {
		return svc, err
	}
	m.apps = svc.apps
	svc.totp, err = inbox.NewTOTP(inbox.TOTPConfig{DB: m.pool, Keyring: keyring, Accounts: svc.accounts, Apps: svc.apps})
	if err != nil {
		return svc, err
	}
	svc.snapshots, err = snapshot.New(snapshot.Config{DB: m.pool, Accounts: svc.accounts, Apps: svc.apps, Logger: m.Logger, AppTimeout: m.Config.AppTimeout,
		TOTP: svc.totp})
	if err != nil {
		return svc, err
	}
	if svc.runs, err = runpkg.New(runpkg.Config{DB: m.pool}); err != nil {
		return svc, err
	}
	// An insert-only client: startJobs runs the capture jobs' workers.
	captureJobs, err := river.NewClient(riverpgxv5.New(m.pool), &river.Config{})
	if err != nil {
		return svc, fmt.Errorf("preparing the job queue: %w", err)
	}
	if m.captures, err = runpkg.NewCaptures(runpkg.CaptureConfig{DB: m.pool, Snapshots: svc.snapshots, Jobs: captureJobs, Logger: m.Logger,
		Tracing: m.tracing}); err != nil {
		return svc, err
	}
	svc.captures = m.captures
	svc.leases, err = lease.New(lease.Config{DB: m.pool, Accounts: svc.accounts, Snapshots: svc.snapshots, Apps: svc.apps, Logger: m.Logger, AppTimeout: m.Config.AppTimeout,
		Runs: svc.runs, Tracing: m.tracing, Captures: svc.captures})
	if err != nil {
		return svc, err
	}
	// Destinations reach the analytics vendors under the webhook apps'
	// address policy: never a link-local address or a cloud metadata
	// service, whatever a destination's settings name (private addresses
	// stay allowed, for self-hosted vendors).
	destClient := &http.Client{Timeout: 30 * time.Second, Transport: webhook.GuardedTransport(30*time.Second, true)}
	svc.destinations, err = tagging.New(tagging.ServiceConfig{DB: m.pool, Keyring: keyring, Registry: newDestinationRegistry(),
		Logger: m.Logger, HTTPClient: destClient})
	if err != nil {
		return svc, err
	}
	svc.isolation, err = isolation.New(isolation.Config{DB: m.pool, Keyring: keyring, Apps: svc.apps, Accounts: svc.accounts, AppTimeout: m.Config.AppTimeout, Logger: m.Logger})
	if err != nil {
		return svc, err
	}
	if svc.deployments, err = runpkg.NewDeployments(runpkg.DeploymentsConfig{DB: m.pool}); err != nil {
		return svc, err
	}
	if svc.flows, err = runpkg.NewFlows(runpkg.FlowsConfig{DB: m.pool}); err != nil {
		return svc, err
	}
	svc.spec, err = spec.New(spec.Config{DB: m.pool, Keyring: keyring, Accounts: svc.accounts, Apps: svc.apps, Destinations: svc.destinations, Flows: svc.flows, Logger: m.Logger,
		RetainUnapplied: m.Config.PlanRetentionUnapplied, RetainApplied: m.Config.PlanRetentionApplied})
	if err != nil {
		return svc, err
	}
	svc.inbox, err = inbox.New(inbox.Config{DB: m.pool, Keyring: keyring, Accounts: svc.accounts, Logger: m.Logger})
	if err != nil {
		return svc, err
	}
	svc.artifacts, err = runpkg.NewArtifacts(runpkg.ArtifactConfig{DB: m.pool, Bucket: m.bucket, Logger: m.Logger, Retention: m.Config.ArtifactRetention})
	return svc, err
}

// startJobs runs the background work (provisioning, lease expiry) as River
// jobs on the same database, so replicas share one queue.
func (m *Main) startJobs(ctx context.Context, svc services) error {
	workers := river.NewWorkers()
	snapshot.AddWorkers(workers, svc.snapshots)
	lease.AddWorkers(workers, svc.leases)
	tagging.AddWorkers(workers, svc.destinations)
	isolation.AddWorkers(workers, svc.isolation)
	spec.AddWorkers(workers, svc.spec)
	inbox.AddWorkers(workers, svc.inbox)
	runpkg.AddArtifactWorkers(workers, svc.artifacts)
	runpkg.AddCaptureWorkers(workers, svc.captures)
	periodic := append(lease.PeriodicJobs(m.Config.LeaseExpiryInterval), tagging.PeriodicJobs(m.Config.SyncScheduleInterval)...)
	periodic = append(periodic, isolation.PeriodicJobs(m.Config.IsolationAuditInterval)...)
	periodic = append(periodic, spec.PeriodicJobs(planPruneInterval)...)
	periodic = append(periodic, inbox.PeriodicJobs(inboxPruneInterval)...)
	periodic = append(periodic, runpkg.ArtifactPeriodicJobs(artifactPruneInterval)...)
	periodic = append(periodic, runpkg.CapturePeriodicJobs(captureSweepInterval)...)
	client, err := river.NewClient(riverpgxv5.New(m.pool), &river.Config{
		// The captures' queue is polled four times a second: a failed
		// run's account is held until its capture has run, and the next
		// lease of it waits that long.
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10},
			runpkg.CaptureQueue: {MaxWorkers: 10, FetchPollInterval: 250 * time.Millisecond, FetchCooldown: 50 * time.Millisecond}},
		Workers:      workers,
		PeriodicJobs: periodic,
		Logger:       slog.New(minLevel{Handler: m.Logger.Handler(), min: m.Config.jobLogLevel()}),
		ErrorHandler: m.errors.JobErrors(),
	})
	if err != nil {
		return fmt.Errorf("preparing background jobs: %w", err)
	}
	// The jobs live as long as the server, not as the start-up context.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("starting background jobs: %w", err)
	}
	m.jobs = client
	return nil
}

// openArtifactBucket opens the blob store of the uploaded artifacts. A
// URL that cannot be opened (an unknown scheme, bad parameters, no
// credentials) stops the start-up; a store that does not answer only
// warns, since leases do not need it.
func openArtifactBucket(ctx context.Context, c Config, logger *slog.Logger) (*blob.Bucket, error) {
	u, err := c.artifactsURL()
	if err != nil {
		return nil, err
	}
	b, err := runpkg.OpenBucket(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("artifacts_url (UNDERSTUDY_ARTIFACTS_URL): %w", err)
	}
	checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if ok, err := b.IsAccessible(checkCtx); !ok {
		msg := "the artifacts bucket cannot be reached: uploads fail until it can"
		if err != nil {
			msg += ": " + err.Error()
		}
		logger.WarnContext(ctx, msg)
	}
	return b, nil
}

func keyringOf(c Config) (*secret.Keyring, error) {
	primary, err := secret.ParseKey(c.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("UNDERSTUDY_SECRET_KEY: %w", err)
	}
	var older [][]byte
	for i, k := range c.OldSecretKeys {
		raw, err := secret.ParseKey(k)
		if err != nil {
			return nil, fmt.Errorf("UNDERSTUDY_OLD_SECRET_KEYS[%d]: %w", i, err)
		}
		older = append(older, raw)
	}
	return secret.NewKeyring(primary, older...)
}

// openPool connects with short connect timeouts, so a database that is down
// makes calls fail fast (503) rather than hang; the pool reconnects on its
// own when the database returns.
func openPool(ctx context.Context, c Config) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(c.DatabaseURL)
	if err != nil {
		return nil, errors.New("the database URL is not valid: " + firstLine(err))
	}
	cfg.MaxConns = int32(c.DBMaxConns)
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	cfg.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to the database: %w", err)
	}
	return pool, nil
}

// firstLine keeps pgx's parse error short and free of the URL, which may
// hold a password.
func firstLine(err error) string {
	msg := err.Error()
	for i, r := range msg {
		if r == ':' {
			return msg[:i]
		}
	}
	return msg
}
