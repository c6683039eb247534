package main

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/understudy-dev/understudy/console"
	"github.com/understudy-dev/understudy/internal/devcluster"
	"github.com/understudy-dev/understudy/internal/errtrack"
	runpkg "github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/spec"
)

// Config is the server's configuration. It comes from flags, then
// UNDERSTUDY_* environment variables, then an optional YAML file
// (--config or UNDERSTUDY_CONFIG): the first that sets a field wins.
type Config struct {
	// DatabaseURL is the PostgreSQL connection string (DATABASE_URL or
	// UNDERSTUDY_DATABASE_URL). Required, except with --dev, which starts a
	// private cluster when it is empty.
	DatabaseURL string `yaml:"database_url"`
	// Addr is where the server listens. Defaults to 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// SecretKey is 32 random bytes, base64: it seals secrets at rest.
	// Required, except with --dev, which keeps a development key in .understudy/.
	SecretKey string `yaml:"secret_key"`
	// OldSecretKeys are earlier keys, kept to open what they sealed after a
	// rotation. Defaults to none.
	OldSecretKeys []string `yaml:"old_secret_keys"`
	// EmailDomains is the allowlist of controlled email domains. Required,
	// except with --dev, where it defaults to qa.example.test.
	EmailDomains []string `yaml:"email_domains"`
	// DBMaxConns is the size of the connection pool. Defaults to 20.
	DBMaxConns int `yaml:"db_max_conns"`
	// RequestTimeout bounds each request. Defaults to 10s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ReadTimeout bounds reading a whole request, headers and body, so a
	// client that sends its body slowly cannot hold a connection. Defaults
	// to 30s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// TokenCacheTTL is how long an authenticated token is remembered, sparing
	// a database round trip per request; a token revoked on another replica
	// keeps working here for at most this long. Negative disables the cache.
	// Defaults to 5s.
	TokenCacheTTL time.Duration `yaml:"token_cache_ttl"`
	// LogLevel is debug, info, warn or error. Defaults to info.
	LogLevel string `yaml:"log_level"`
	// JobLogLevel is the least level of the job queue's own logs (River's
	// producer chatter is INFO every few seconds). Defaults to warn.
	JobLogLevel string `yaml:"job_log_level"`
	// AppTimeout bounds each call to an app (one app's part of a reset, a
	// provisioning, a snapshot). Defaults to 30s.
	AppTimeout time.Duration `yaml:"app_timeout"`
	// LeaseExpiryInterval is how often expired leases are ended. Defaults to 5s.
	LeaseExpiryInterval time.Duration `yaml:"lease_expiry_interval"`
	// IsolationAuditInterval is how often every environment's surfaces are
	// audited. Defaults to 15m.
	IsolationAuditInterval time.Duration `yaml:"isolation_audit_interval"`
	// SyncScheduleInterval is how often the destinations that are due (their
	// interval passed, or their exclusion list changed) are enqueued for a
	// sync. Defaults to 1m.
	SyncScheduleInterval time.Duration `yaml:"sync_schedule_interval"`
	// PlanRetentionUnapplied is how long a stored plan that was never
	// applied is kept before the hourly prune deletes it
	// (UNDERSTUDY_PLAN_RETENTION_UNAPPLIED), from 1h to 10 years.
	// Defaults to 168h (7 days).
	PlanRetentionUnapplied time.Duration `yaml:"plan_retention_unapplied"`
	// PlanRetentionApplied is how long a stored plan is kept after its
	// apply ended, applied or failed (UNDERSTUDY_PLAN_RETENTION_APPLIED),
	// from 1h to 10 years. Defaults to 720h (30 days).
	PlanRetentionApplied time.Duration `yaml:"plan_retention_applied"`
	// Console serves the web console at /ui/ (UNDERSTUDY_CONSOLE, --console).
	// Defaults to true.
	Console *bool `yaml:"console"`
	// ConsoleSessionIdle is how long a console session lasts without a
	// request. Defaults to 12h.
	ConsoleSessionIdle time.Duration `yaml:"console_session_idle"`
	// TraceURL links a run's page in the console to its trace in the
	// tracing backend (UNDERSTUDY_TRACE_URL): an http or https URL in which
	// {trace_id} stands for the trace's id, such as
	// https://jaeger.example.com/trace/{trace_id}. Defaults to empty: the
	// page shows the trace's id as text.
	TraceURL string `yaml:"trace_url"`
	// TrustedProxies are the addresses (CIDRs, or single IPs) of the
	// proxies in front of the server, such as a TLS-terminating load
	// balancer: only a request from one of them may set the scheme and the
	// client address through X-Forwarded-Proto and X-Forwarded-For.
	// Defaults to none: forwarding headers are ignored.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// SMTPAddr is where the SMTP receiver listens, the MX of the controlled
	// domains (UNDERSTUDY_SMTP_ADDR, --smtp-addr), such as :25. Defaults to
	// empty: no SMTP receiver.
	SMTPAddr string `yaml:"smtp_addr"`
	// SMTPHostname is the receiver's name in its greeting and EHLO answer
	// (UNDERSTUDY_SMTP_HOSTNAME). Defaults to the machine's host name.
	SMTPHostname string `yaml:"smtp_hostname"`
	// SMTPMaxBytes bounds one received message, from 1 KiB to 100 MiB
	// (UNDERSTUDY_SMTP_MAX_BYTES). Defaults to 10485760 (10 MiB).
	SMTPMaxBytes int64 `yaml:"smtp_max_bytes"`
	// SMTPTLSCert and SMTPTLSKey are the PEM files of the certificate the
	// receiver offers with STARTTLS (UNDERSTUDY_SMTP_TLS_CERT,
	// UNDERSTUDY_SMTP_TLS_KEY): both or neither, loaded at start-up.
	// Defaults to none: no STARTTLS.
	SMTPTLSCert string `yaml:"smtp_tls_cert"`
	SMTPTLSKey  string `yaml:"smtp_tls_key"`
	// SMTPCheckSenders records SPF, DKIM and DMARC results of each received
	// message, rejecting nothing (UNDERSTUDY_SMTP_CHECK_SENDERS). Defaults
	// to true.
	SMTPCheckSenders *bool `yaml:"smtp_check_senders"`
	// SMTPClientMaxConns bounds the open connections of one client address
	// (an IPv6 client's /64), from 1 to 10000
	// (UNDERSTUDY_SMTP_CLIENT_MAX_CONNS). Defaults to 10.
	SMTPClientMaxConns int `yaml:"smtp_client_max_conns"`
	// SMTPClientConnsPerMinute bounds the connections one client address
	// opens a minute, from 1 to 100000
	// (UNDERSTUDY_SMTP_CLIENT_CONNS_PER_MINUTE): raise it when one relay
	// (a mail provider's outbound host, a load test) sends all the mail.
	// Defaults to 120.
	SMTPClientConnsPerMinute int `yaml:"smtp_client_conns_per_minute"`
	// SentryDSN turns on error tracking: unexpected errors (500s,
	// recovered panics, failed jobs) go to this Sentry project
	// (SENTRY_DSN). It has no flag, as a flag shows in the process list.
	// Defaults to empty: no error tracking.
	SentryDSN string `yaml:"sentry_dsn"`
	// SentryEnvironment names this deployment in Sentry
	// (SENTRY_ENVIRONMENT). Defaults to production.
	SentryEnvironment string `yaml:"sentry_environment"`
	// SentryRelease names the running version in Sentry (SENTRY_RELEASE).
	// Defaults to the binary's version.
	SentryRelease string `yaml:"sentry_release"`
	// DataDir is the folder where the server keeps files on its own disk:
	// the uploaded artifacts, under artifacts/, unless ArtifactsURL names
	// another store (UNDERSTUDY_DATA_DIR, --data-dir). Relative to the
	// working directory unless absolute. Defaults to .understudy, where
	// --dev keeps its cluster and key too.
	DataDir string `yaml:"data_dir"`
	// ArtifactsURL is the blob store of the artifacts that test runs
	// upload (UNDERSTUDY_ARTIFACTS_URL, --artifacts-url): file:///path,
	// s3://bucket?region=… (an S3-compatible store with endpoint=… and
	// use_path_style=true) or gs://bucket. Defaults to the folder
	// artifacts/ of DataDir.
	ArtifactsURL string `yaml:"artifacts_url"`
	// ArtifactRetention is how long an uploaded artifact is kept, from 1h
	// to 10 years (UNDERSTUDY_ARTIFACT_RETENTION). Defaults to 720h (30
	// days).
	ArtifactRetention time.Duration `yaml:"artifact_retention"`
}

// artifactsURL is ArtifactsURL, or the file:// URL of DataDir's folder
// artifacts/, made absolute, created at start-up if it is missing (its
// temporary files beside it, so they are renamed on one file system).
func (c Config) artifactsURL() (string, error) {
	if c.ArtifactsURL != "" {
		return c.ArtifactsURL, nil
	}
	dir, err := filepath.Abs(filepath.Join(c.DataDir, "artifacts"))
	if err != nil {
		return "", fmt.Errorf("data_dir (UNDERSTUDY_DATA_DIR): %w", err)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir), RawQuery: "create_dir=1&no_tmp_dir=1"}).String(), nil
}

// SMTPCheckSendersOn reports whether received mail's senders are checked.
func (c Config) SMTPCheckSendersOn() bool { return c.SMTPCheckSenders == nil || *c.SMTPCheckSenders }

// trustedProxies parses TrustedProxies; a single IP is a range of one.
func (c Config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, s := range c.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("trusted_proxies (--trusted-proxies, UNDERSTUDY_TRUSTED_PROXIES): %q is not a CIDR such as 10.0.0.0/8 or an IP address", s))
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, errors.Join(errs...)
}

// ConsoleOn reports whether the web console is served.
func (c Config) ConsoleOn() bool { return c.Console == nil || *c.Console }

// WithDefaults fills the optional fields.
func (c Config) WithDefaults() Config {
	c.Addr = cmp.Or(c.Addr, "127.0.0.1:8080")
	c.DBMaxConns = cmp.Or(c.DBMaxConns, 20)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, 10*time.Second)
	c.ReadTimeout = cmp.Or(c.ReadTimeout, 30*time.Second)
	c.LogLevel = cmp.Or(c.LogLevel, "info")
	c.JobLogLevel = cmp.Or(c.JobLogLevel, "warn")
	c.TokenCacheTTL = cmp.Or(c.TokenCacheTTL, 5*time.Second)
	c.AppTimeout = cmp.Or(c.AppTimeout, 30*time.Second)
	c.LeaseExpiryInterval = cmp.Or(c.LeaseExpiryInterval, 5*time.Second)
	c.IsolationAuditInterval = cmp.Or(c.IsolationAuditInterval, 15*time.Minute)
	c.SyncScheduleInterval = cmp.Or(c.SyncScheduleInterval, time.Minute)
	c.PlanRetentionUnapplied = cmp.Or(c.PlanRetentionUnapplied, spec.DefaultRetainUnapplied)
	c.PlanRetentionApplied = cmp.Or(c.PlanRetentionApplied, spec.DefaultRetainApplied)
	if c.Console == nil {
		c.Console = new(true)
	}
	c.ConsoleSessionIdle = cmp.Or(c.ConsoleSessionIdle, 12*time.Hour)
	c.SMTPMaxBytes = cmp.Or(c.SMTPMaxBytes, 10<<20)
	c.SMTPClientMaxConns = cmp.Or(c.SMTPClientMaxConns, 10)
	c.SMTPClientConnsPerMinute = cmp.Or(c.SMTPClientConnsPerMinute, 120)
	if c.SMTPCheckSenders == nil {
		c.SMTPCheckSenders = new(true)
	}
	c.DataDir = cmp.Or(c.DataDir, devcluster.Dir)
	c.ArtifactRetention = cmp.Or(c.ArtifactRetention, runpkg.DefaultArtifactRetention)
	return c
}

// Validate names every missing or bad field.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("database_url is required: set DATABASE_URL (or UNDERSTUDY_DATABASE_URL), or run `make run` for a private development database"))
	}
	if c.SecretKey == "" {
		errs = append(errs, errors.New("secret_key is required: set UNDERSTUDY_SECRET_KEY to 32 random bytes, base64 (openssl rand -base64 32)"))
	}
	if len(c.EmailDomains) == 0 {
		errs = append(errs, errors.New("email_domains is required: set UNDERSTUDY_EMAIL_DOMAINS to the email domains your team controls, comma-separated"))
	}
	if c.ConsoleSessionIdle < time.Minute {
		errs = append(errs, fmt.Errorf("console_session_idle must be at least 1m, got %v", c.ConsoleSessionIdle))
	}
	if err := console.CheckTraceURL(c.TraceURL); err != nil {
		errs = append(errs, fmt.Errorf("trace_url (UNDERSTUDY_TRACE_URL) %w", err))
	}
	if _, err := c.trustedProxies(); err != nil {
		errs = append(errs, err)
	}
	for _, r := range []struct {
		name string
		d    time.Duration
	}{{"plan_retention_unapplied", c.PlanRetentionUnapplied}, {"plan_retention_applied", c.PlanRetentionApplied}} {
		if r.d < time.Hour || r.d > maxPlanRetention {
			errs = append(errs, fmt.Errorf("%s (UNDERSTUDY_%s) must be from 1h to %v (10 years), got %v", r.name, strings.ToUpper(r.name), maxPlanRetention, r.d))
		}
	}
	if c.SMTPMaxBytes < 1<<10 || c.SMTPMaxBytes > 100<<20 {
		errs = append(errs, fmt.Errorf("smtp_max_bytes (UNDERSTUDY_SMTP_MAX_BYTES) must be from 1024 (1 KiB) to 104857600 (100 MiB), got %d", c.SMTPMaxBytes))
	}
	if c.SMTPClientMaxConns < 1 || c.SMTPClientMaxConns > 10000 {
		errs = append(errs, fmt.Errorf("smtp_client_max_conns (UNDERSTUDY_SMTP_CLIENT_MAX_CONNS) must be from 1 to 10000, got %d", c.SMTPClientMaxConns))
	}
	if c.SMTPClientConnsPerMinute < 1 || c.SMTPClientConnsPerMinute > 100000 {
		errs = append(errs, fmt.Errorf("smtp_client_conns_per_minute (UNDERSTUDY_SMTP_CLIENT_CONNS_PER_MINUTE) must be from 1 to 100000, got %d", c.SMTPClientConnsPerMinute))
	}
	if c.ArtifactRetention < time.Hour || c.ArtifactRetention > runpkg.MaxArtifactRetention {
		errs = append(errs, fmt.Errorf("artifact_retention (UNDERSTUDY_ARTIFACT_RETENTION) must be from 1h to %v (10 years), got %v", runpkg.MaxArtifactRetention, c.ArtifactRetention))
	}
	if (c.SMTPTLSCert == "") != (c.SMTPTLSKey == "") {
		errs = append(errs, errors.New("smtp_tls_cert and smtp_tls_key (UNDERSTUDY_SMTP_TLS_CERT, UNDERSTUDY_SMTP_TLS_KEY) go together: set both files, or neither"))
	}
	if c.DBMaxConns < 1 {
		errs = append(errs, fmt.Errorf("db_max_conns must be at least 1, got %d", c.DBMaxConns))
	}
	if c.SentryDSN != "" && (errtrack.Config{DSN: c.SentryDSN}).WithDefaults().Validate() != nil {
		errs = append(errs, errors.New("sentry_dsn (SENTRY_DSN) is not a Sentry DSN such as https://PUBLIC_KEY@o0.ingest.sentry.io/PROJECT_ID"))
	}
	for name, level := range map[string]string{"log_level": c.LogLevel, "job_log_level": c.JobLogLevel} {
		switch level {
		case "debug", "info", "warn", "error":
		default:
			errs = append(errs, fmt.Errorf("%s must be debug, info, warn or error, got %q", name, level))
		}
	}
	return errors.Join(errs...)
}

// maxPlanRetention bounds how long stored plans are kept: 10 years.
const maxPlanRetention = 10 * 365 * 24 * time.Hour

// planPruneInterval is how often stored plans past their retention are
// deleted.
const planPruneInterval = time.Hour

// artifactPruneInterval is how often the artifacts past their retention
// are deleted.
const artifactPruneInterval = time.Hour

// captureSweepInterval is how often the captures of failed runs' states
// pending past their deadline are failed (their accounts freed), and
// those past their environment's retention deleted.
const captureSweepInterval = time.Minute

// inboxPruneInterval is how often messages past their environment's
// retention are deleted, and inboxes cut to its inbox_max_messages.
const inboxPruneInterval = time.Minute

// jobLogLevel is JobLogLevel as a slog level (warn when it cannot be read).
func (c Config) jobLogLevel() slog.Level {
	l := slog.LevelWarn
	_ = l.UnmarshalText([]byte(c.JobLogLevel))
	return l
}

// envSource reads UNDERSTUDY_* variables into a Config.
func configFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	c.DatabaseURL = cmp.Or(getenv("UNDERSTUDY_DATABASE_URL"), getenv("DATABASE_URL"))
	c.Addr = getenv("UNDERSTUDY_ADDR")
	c.SecretKey = getenv("UNDERSTUDY_SECRET_KEY")
	c.OldSecretKeys = splitList(getenv("UNDERSTUDY_OLD_SECRET_KEYS"))
	c.EmailDomains = splitList(getenv("UNDERSTUDY_EMAIL_DOMAINS"))
	c.TrustedProxies = splitList(getenv("UNDERSTUDY_TRUSTED_PROXIES"))
	c.LogLevel = getenv("UNDERSTUDY_LOG_LEVEL")
	c.JobLogLevel = getenv("UNDERSTUDY_JOB_LOG_LEVEL")
	c.SMTPAddr = getenv("UNDERSTUDY_SMTP_ADDR")
	c.SMTPHostname = getenv("UNDERSTUDY_SMTP_HOSTNAME")
	c.SMTPTLSCert = getenv("UNDERSTUDY_SMTP_TLS_CERT")
	c.SMTPTLSKey = getenv("UNDERSTUDY_SMTP_TLS_KEY")
	c.SentryDSN, c.SentryEnvironment, c.SentryRelease = getenv("SENTRY_DSN"), getenv("SENTRY_ENVIRONMENT"), getenv("SENTRY_RELEASE")
	c.DataDir = getenv("UNDERSTUDY_DATA_DIR")
	c.ArtifactsURL = getenv("UNDERSTUDY_ARTIFACTS_URL")
	c.TraceURL = getenv("UNDERSTUDY_TRACE_URL")
	var errs []error
	if v := getenv("UNDERSTUDY_SMTP_MAX_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("UNDERSTUDY_SMTP_MAX_BYTES must be a whole number of bytes such as 10485760, got %q", v))
		}
		c.SMTPMaxBytes = n
	}
	for _, n := range []struct {
		env string
		to  *int
	}{{"UNDERSTUDY_SMTP_CLIENT_MAX_CONNS", &c.SMTPClientMaxConns}, {"UNDERSTUDY_SMTP_CLIENT_CONNS_PER_MINUTE", &c.SMTPClientConnsPerMinute}} {
		if v := getenv(n.env); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s must be a whole number, got %q", n.env, v))
			}
			*n.to = i
		}
	}
	if v := getenv("UNDERSTUDY_SMTP_CHECK_SENDERS"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("UNDERSTUDY_SMTP_CHECK_SENDERS must be true or false, got %q", v))
		}
		c.SMTPCheckSenders = &on
	}
	if v := getenv("UNDERSTUDY_DB_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("UNDERSTUDY_DB_MAX_CONNS must be a whole number, got %q", v))
		}
		c.DBMaxConns = n
	}
	if v := getenv("UNDERSTUDY_TOKEN_CACHE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("UNDERSTUDY_TOKEN_CACHE_TTL must be a duration such as 5s, got %q", v))
		}
		c.TokenCacheTTL = d
	}
	for name, dst := range map[string]*time.Duration{"UNDERSTUDY_APP_TIMEOUT": &c.AppTimeout, "UNDERSTUDY_LEASE_EXPIRY_INTERVAL": &c.LeaseExpiryInterval,
		"UNDERSTUDY_ISOLATION_AUDIT_INTERVAL": &c.IsolationAuditInterval,
		"UNDERSTUDY_SYNC_SCHEDULE_INTERVAL":   &c.SyncScheduleInterval,
		"UNDERSTUDY_CONSOLE_SESSION_IDLE":     &c.ConsoleSessionIdle,
		"UNDERSTUDY_PLAN_RETENTION_UNAPPLIED": &c.PlanRetentionUnapplied,
		"UNDERSTUDY_PLAN_RETENTION_APPLIED":   &c.PlanRetentionApplied,
		"UNDERSTUDY_READ_TIMEOUT":             &c.ReadTimeout,
		"UNDERSTUDY_ARTIFACT_RETENTION":       &c.ArtifactRetention} {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s must be a duration such as 30s, got %q", name, v))
			}
			*dst = d
		}
	}
	if v := getenv("UNDERSTUDY_CONSOLE"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("UNDERSTUDY_CONSOLE must be true or false, got %q", v))
		}
		c.Console = &on
	}
	if v := getenv("UNDERSTUDY_REQUEST_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("UNDERSTUDY_REQUEST_TIMEOUT must be a duration such as 10s, got %q", v))
		}
		c.RequestTimeout = d
	}
	return c, errors.Join(errs...)
}

// configFromFile reads a YAML file; unknown keys are refused by name.
func configFromFile(path string) (Config, error) {
	var c Config
	f, err := os.Open(path)
	if err != nil {
		return c, fmt.Errorf("reading the config file: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("config file %s: %w", path, err)
	}
	return c, nil
}

// merge returns the first non-zero value of each field, in order.
func merge(layers ...Config) Config {
	var out Config
	for _, l := range layers {
		out.DatabaseURL = cmp.Or(out.DatabaseURL, l.DatabaseURL)
		out.Addr = cmp.Or(out.Addr, l.Addr)
		out.SecretKey = cmp.Or(out.SecretKey, l.SecretKey)
		out.LogLevel = cmp.Or(out.LogLevel, l.LogLevel)
		out.JobLogLevel = cmp.Or(out.JobLogLevel, l.JobLogLevel)
		out.DBMaxConns = cmp.Or(out.DBMaxConns, l.DBMaxConns)
		out.RequestTimeout = cmp.Or(out.RequestTimeout, l.RequestTimeout)
		out.ReadTimeout = cmp.Or(out.ReadTimeout, l.ReadTimeout)
		out.TokenCacheTTL = cmp.Or(out.TokenCacheTTL, l.TokenCacheTTL)
		out.AppTimeout = cmp.Or(out.AppTimeout, l.AppTimeout)
		out.LeaseExpiryInterval = cmp.Or(out.LeaseExpiryInterval, l.LeaseExpiryInterval)
		out.IsolationAuditInterval = cmp.Or(out.IsolationAuditInterval, l.IsolationAuditInterval)
		out.SyncScheduleInterval = cmp.Or(out.SyncScheduleInterval, l.SyncScheduleInterval)
		out.ConsoleSessionIdle = cmp.Or(out.ConsoleSessionIdle, l.ConsoleSessionIdle)
		out.PlanRetentionUnapplied = cmp.Or(out.PlanRetentionUnapplied, l.PlanRetentionUnapplied)
		out.PlanRetentionApplied = cmp.Or(out.PlanRetentionApplied, l.PlanRetentionApplied)
		if out.Console == nil {
			out.Console = l.Console
		}
		out.SMTPAddr = cmp.Or(out.SMTPAddr, l.SMTPAddr)
		out.SMTPHostname = cmp.Or(out.SMTPHostname, l.SMTPHostname)
		out.SMTPMaxBytes = cmp.Or(out.SMTPMaxBytes, l.SMTPMaxBytes)
		out.SMTPClientMaxConns = cmp.Or(out.SMTPClientMaxConns, l.SMTPClientMaxConns)
		out.SMTPClientConnsPerMinute = cmp.Or(out.SMTPClientConnsPerMinute, l.SMTPClientConnsPerMinute)
		out.SMTPTLSCert = cmp.Or(out.SMTPTLSCert, l.SMTPTLSCert)
		out.SMTPTLSKey = cmp.Or(out.SMTPTLSKey, l.SMTPTLSKey)
		out.SentryDSN = cmp.Or(out.SentryDSN, l.SentryDSN)
		out.SentryEnvironment = cmp.Or(out.SentryEnvironment, l.SentryEnvironment)
		out.SentryRelease = cmp.Or(out.SentryRelease, l.SentryRelease)
		if out.SMTPCheckSenders == nil {
			out.SMTPCheckSenders = l.SMTPCheckSenders
		}
		out.DataDir = cmp.Or(out.DataDir, l.DataDir)
		out.ArtifactsURL = cmp.Or(out.ArtifactsURL, l.ArtifactsURL)
		out.ArtifactRetention = cmp.Or(out.ArtifactRetention, l.ArtifactRetention)
		out.TraceURL = cmp.Or(out.TraceURL, l.TraceURL)
		if out.OldSecretKeys == nil {
			out.OldSecretKeys = l.OldSecretKeys
		}
		if out.EmailDomains == nil {
			out.EmailDomains = l.EmailDomains
		}
		if out.TrustedProxies == nil {
			out.TrustedProxies = l.TrustedProxies
		}
	}
	return out
}

// serverFlags binds the server's flags to a Config.
func serverFlags(fs *pflag.FlagSet, c *Config, configPath *string) {
	fs.StringVar(configPath, "config", "", "YAML config file (or UNDERSTUDY_CONFIG)")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL connection string (or DATABASE_URL)")
	fs.StringVar(&c.Addr, "addr", "", "listen address (or UNDERSTUDY_ADDR; default 127.0.0.1:8080)")
	fs.StringSliceVar(&c.EmailDomains, "email-domains", nil, "controlled email domains (or UNDERSTUDY_EMAIL_DOMAINS)")
	fs.StringVar(&c.LogLevel, "log-level", "", "debug, info, warn or error (or UNDERSTUDY_LOG_LEVEL)")
	fs.StringVar(&c.JobLogLevel, "job-log-level", "", "least level of the job queue's own logs (or UNDERSTUDY_JOB_LOG_LEVEL; default warn)")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", 0, "connection pool size (or UNDERSTUDY_DB_MAX_CONNS; default 20)")
	fs.StringSliceVar(&c.TrustedProxies, "trusted-proxies", nil, "CIDRs of the proxies whose X-Forwarded-Proto and X-Forwarded-For are believed (or UNDERSTUDY_TRUSTED_PROXIES; default none)")
	fs.Var(optionalBool{&c.Console}, "console", "serve the web console at /ui/ (or UNDERSTUDY_CONSOLE; default true)")
	fs.Lookup("console").NoOptDefVal = "true"
	fs.StringVar(&c.SMTPAddr, "smtp-addr", "", "where the SMTP receiver listens, such as :25 (or UNDERSTUDY_SMTP_ADDR; default off)")
	fs.StringVar(&c.SMTPHostname, "smtp-hostname", "", "the SMTP receiver's name in its greeting (or UNDERSTUDY_SMTP_HOSTNAME; default the host name)")
	fs.Int64Var(&c.SMTPMaxBytes, "smtp-max-bytes", 0, "largest message received, 1024 to 104857600 (or UNDERSTUDY_SMTP_MAX_BYTES; default 10485760)")
	fs.StringVar(&c.SMTPTLSCert, "smtp-tls-cert", "", "PEM certificate file offered with STARTTLS (or UNDERSTUDY_SMTP_TLS_CERT; with --smtp-tls-key)")
	fs.StringVar(&c.SMTPTLSKey, "smtp-tls-key", "", "PEM key file of --smtp-tls-cert (or UNDERSTUDY_SMTP_TLS_KEY)")
	fs.Var(optionalBool{&c.SMTPCheckSenders}, "smtp-check-senders", "record SPF, DKIM and DMARC of received mail, rejecting nothing (or UNDERSTUDY_SMTP_CHECK_SENDERS; default true)")
	fs.Lookup("smtp-check-senders").NoOptDefVal = "true"
	fs.StringVar(&c.DataDir, "data-dir", "", "folder of the files the server keeps on its disk (or UNDERSTUDY_DATA_DIR; default .understudy)")
	fs.StringVar(&c.ArtifactsURL, "artifacts-url", "", "blob store of uploaded artifacts: file:///path, s3://bucket?region=R or gs://bucket (or UNDERSTUDY_ARTIFACTS_URL; default <data-dir>/artifacts)")
}

// optionalBool is a boolean flag that stays nil unless it is given, so
// that an unset flag leaves the choice to the environment or the file.
type optionalBool struct{ p **bool }

func (b optionalBool) String() string {
	if b.p == nil || *b.p == nil {
		return ""
	}
	return strconv.FormatBool(**b.p)
}

func (b optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b.p = &v
	return nil
}

func (b optionalBool) Type() string { return "bool" }

// loadConfig layers flags over env over the file, then fills defaults.
func loadConfig(flags Config, configPath string, getenv func(string) string) (Config, error) {
	env, err := configFromEnv(getenv)
	if err != nil {
		return Config{}, err
	}
	var file Config
	if p := cmp.Or(configPath, getenv("UNDERSTUDY_CONFIG")); p != "" {
		if file, err = configFromFile(p); err != nil {
			return Config{}, err
		}
	}
	return merge(flags, env, file).WithDefaults(), nil
}

func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
