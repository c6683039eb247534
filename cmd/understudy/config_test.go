package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnvAndFromFileAreTheSame(t *testing.T) {
	t.Parallel()
	fromFile, err := loadConfig(Config{}, "testdata/config.yaml", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	fromEnv, err := loadConfig(Config{}, "", envOf(map[string]string{
		"DATABASE_URL":                            "postgres://understudy@db.internal/understudy",
		"UNDERSTUDY_ADDR":                         "0.0.0.0:9090",
		"UNDERSTUDY_SECRET_KEY":                   "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
		"UNDERSTUDY_OLD_SECRET_KEYS":              "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=",
		"UNDERSTUDY_EMAIL_DOMAINS":                "qa.example.test, qa2.example.test",
		"UNDERSTUDY_DB_MAX_CONNS":                 "7",
		"UNDERSTUDY_REQUEST_TIMEOUT":              "3s",
		"UNDERSTUDY_LOG_LEVEL":                    "debug",
		"UNDERSTUDY_TOKEN_CACHE_TTL":              "2s",
		"UNDERSTUDY_READ_TIMEOUT":                 "20s",
		"UNDERSTUDY_JOB_LOG_LEVEL":                "info",
		"UNDERSTUDY_CONSOLE":                      "false",
		"UNDERSTUDY_CONSOLE_SESSION_IDLE":         "2h",
		"UNDERSTUDY_TRACE_URL":                    "https://jaeger.example.test/trace/{trace_id}",
		"UNDERSTUDY_TRUSTED_PROXIES":              "10.0.0.0/8, 192.0.2.7,2001:db8::/32",
		"UNDERSTUDY_PLAN_RETENTION_UNAPPLIED":     "72h",
		"UNDERSTUDY_PLAN_RETENTION_APPLIED":       "2160h",
		"UNDERSTUDY_SMTP_ADDR":                    "0.0.0.0:2525",
		"UNDERSTUDY_SMTP_HOSTNAME":                "mx.qa.example.test",
		"UNDERSTUDY_SMTP_MAX_BYTES":               "2097152",
		"UNDERSTUDY_SMTP_TLS_CERT":                "/etc/understudy/mx.crt",
		"UNDERSTUDY_SMTP_TLS_KEY":                 "/etc/understudy/mx.key",
		"UNDERSTUDY_SMTP_CHECK_SENDERS":           "false",
		"UNDERSTUDY_SMTP_CLIENT_MAX_CONNS":        "40",
		"UNDERSTUDY_SMTP_CLIENT_CONNS_PER_MINUTE": "6000",
		"UNDERSTUDY_DATA_DIR":                     "/var/lib/understudy",
		"UNDERSTUDY_ARTIFACTS_URL":                "s3://understudy-artifacts?region=eu-west-1",
		"UNDERSTUDY_ARTIFACT_RETENTION":           "168h",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromFile, fromEnv) {
		t.Fatalf("file and env differ:\nfile %+v\nenv  %+v", fromFile, fromEnv)
	}
	if fromFile.DBMaxConns != 7 || fromFile.RequestTimeout != 3*time.Second || len(fromFile.EmailDomains) != 2 ||
		fromFile.ConsoleOn() || fromFile.ConsoleSessionIdle != 2*time.Hour || fromFile.TraceURL != "https://jaeger.example.test/trace/{trace_id}" ||
		fromFile.PlanRetentionUnapplied != 72*time.Hour || fromFile.PlanRetentionApplied != 90*24*time.Hour ||
		fromFile.SMTPAddr != "0.0.0.0:2525" || fromFile.SMTPMaxBytes != 2<<20 || fromFile.SMTPCheckSendersOn() ||
		fromFile.SMTPTLSKey != "/etc/understudy/mx.key" || fromFile.SMTPClientMaxConns != 40 || fromFile.SMTPClientConnsPerMinute != 6000 ||
		fromFile.DataDir != "/var/lib/understudy" || fromFile.ArtifactsURL != "s3://understudy-artifacts?region=eu-west-1" || fromFile.ArtifactRetention != 7*24*time.Hour {
		t.Fatalf("config = %+v", fromFile)
	}
	proxies, err := fromFile.trustedProxies()
	if err != nil || fmt.Sprint(proxies) != "[10.0.0.0/8 192.0.2.7/32 2001:db8::/32]" {
		t.Fatalf("trusted proxies = %v (%v)", proxies, err)
	}
	if err := fromFile.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigPrecedenceIsFlagsThenEnvThenFile(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(Config{Addr: "127.0.0.1:1111"}, "testdata/config.yaml",
		envOf(map[string]string{"UNDERSTUDY_ADDR": "127.0.0.1:2222", "UNDERSTUDY_LOG_LEVEL": "warn"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:1111" || c.LogLevel != "warn" || c.DBMaxConns != 7 {
		t.Fatalf("precedence broken: %+v", c)
	}
	d, _ := loadConfig(Config{}, "", envOf(nil))
	if d.Addr != "127.0.0.1:8080" || d.DBMaxConns != 20 || d.RequestTimeout != 10*time.Second || d.LogLevel != "info" ||
		d.ReadTimeout != 30*time.Second || d.JobLogLevel != "warn" || !d.ConsoleOn() || d.ConsoleSessionIdle != 12*time.Hour ||
		d.PlanRetentionUnapplied != 7*24*time.Hour || d.PlanRetentionApplied != 30*24*time.Hour ||
		d.SMTPAddr != "" || d.SMTPMaxBytes != 10485760 || !d.SMTPCheckSendersOn() || d.SMTPTLSCert != "" ||
		d.SMTPClientMaxConns != 10 || d.SMTPClientConnsPerMinute != 120 {
		t.Fatalf("defaults = %+v", d)
	}
}

// --console=false turns the console off over the environment's true; a
// bare --console turns it on.
func TestConsoleFlag(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		env  string
		want bool
	}{{nil, "", true}, {[]string{"--console=false"}, "true", false}, {[]string{"--console"}, "false", true}, {nil, "false", false}} {
		var flags Config
		var path string
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		serverFlags(fs, &flags, &path)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		got, err := loadConfig(flags, "", envOf(map[string]string{"UNDERSTUDY_CONSOLE": c.env}))
		if err != nil || got.ConsoleOn() != c.want {
			t.Errorf("%v with UNDERSTUDY_CONSOLE=%q: console %v (%v), want %v", c.args, c.env, got.ConsoleOn(), err, c.want)
		}
	}
	if _, err := loadConfig(Config{}, "", envOf(map[string]string{"UNDERSTUDY_CONSOLE": "maybe"})); err == nil || !strings.Contains(err.Error(), "UNDERSTUDY_CONSOLE") {
		t.Errorf("a bad UNDERSTUDY_CONSOLE: %v", err)
	}
}

func TestBadConfigNamesWhatIsWrong(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	unknown := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(unknown, []byte("database_url: x\nemail_domain: qa.example.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(Config{}, unknown, envOf(nil)); err == nil || !strings.Contains(err.Error(), "email_domain") {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := loadConfig(Config{}, "", envOf(map[string]string{"UNDERSTUDY_DB_MAX_CONNS": "many"})); err == nil || !strings.Contains(err.Error(), "UNDERSTUDY_DB_MAX_CONNS") {
		t.Fatalf("bad number: %v", err)
	}
	err := Config{LogLevel: "loud"}.WithDefaults().Validate()
	for _, want := range []string{"database_url", "secret_key", "email_domains", "log_level"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Validate() = %v, want it to name %s", err, want)
		}
	}
}

// A plan retention must be from 1h to 10 years; a bad one is named, with
// the variable that sets it.
func TestPlanRetentionIsBounded(t *testing.T) {
	t.Parallel()
	base := Config{DatabaseURL: "postgres://x", SecretKey: "k", EmailDomains: []string{"qa.example.test"}}
	for _, tc := range []struct {
		unapplied, applied time.Duration
		want               string
	}{
		{-time.Hour, 0, "plan_retention_unapplied (UNDERSTUDY_PLAN_RETENTION_UNAPPLIED) must be from 1h"},
		{time.Minute, 0, "plan_retention_unapplied"},
		{0, 11 * 365 * 24 * time.Hour, "plan_retention_applied (UNDERSTUDY_PLAN_RETENTION_APPLIED) must be from 1h"},
	} {
		c := base
		c.PlanRetentionUnapplied, c.PlanRetentionApplied = tc.unapplied, tc.applied
		if err := c.WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("retention %v/%v: Validate() = %v, want %q", tc.unapplied, tc.applied, err, tc.want)
		}
	}
	if err := base.WithDefaults().Validate(); err != nil {
		t.Fatalf("the default retention: %v", err)
	}
	if _, err := loadConfig(Config{}, "", envOf(map[string]string{"UNDERSTUDY_PLAN_RETENTION_APPLIED": "a month"})); err == nil ||
		!strings.Contains(err.Error(), "UNDERSTUDY_PLAN_RETENTION_APPLIED") {
		t.Fatalf("a retention that is not a duration: %v", err)
	}
}

// A trace URL must be http or https and hold {trace_id}; a bad one stops
// the server at start-up, naming the setting and what is wrong.
func TestTraceURLIsCheckedAtStartUp(t *testing.T) {
	t.Parallel()
	base := Config{DatabaseURL: "postgres://x", SecretKey: "k", EmailDomains: []string{"qa.example.test"}}
	for u, want := range map[string]string{
		"https://jaeger.example.test/trace":                     "must hold {trace_id}",
		"javascript:alert(1)//{trace_id}":                       "must be an http or https URL",
		"ftp://traces.example.test/{trace_id}":                  "must be an http or https URL",
		"https://user:pw@traces.example.test/{trace_id}":        "must be an http or https URL with a host and no user name or password",
		"/trace/{trace_id}":                                     "must be an http or https URL",
		"https://grafana.example.test/explore?trace={trace_id}": "",
		"": "",
	} {
		c := base
		c.TraceURL = u
		err := c.WithDefaults().Validate()
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), "trace_url (UNDERSTUDY_TRACE_URL) "+want)) {
			t.Errorf("trace URL %q: Validate() = %v, want %q", u, err, want)
		}
	}
}

// A trusted proxy that is not a CIDR or an address stops the server at
// start-up, naming the setting, whichever way it was given.
func TestABadTrustedProxyIsAStartUpError(t *testing.T) {
	t.Parallel()
	var flags Config
	var path string
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	serverFlags(fs, &flags, &path)
	if err := fs.Parse([]string{"--trusted-proxies", "10.0.0.0/8,10.1.2.3/33"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("trusted_proxies: [proxy.internal]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		flags Config
		file  string
		env   map[string]string
		bad   string
	}{
		"flag": {flags: flags, bad: "10.1.2.3/33"},
		"env":  {env: map[string]string{"UNDERSTUDY_TRUSTED_PROXIES": "10.0.0.0/8, 300.1.1.1"}, bad: "300.1.1.1"},
		"file": {file: file, bad: "proxy.internal"},
	} {
		cfg, err := loadConfig(c.flags, c.file, envOf(c.env))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cfg.DatabaseURL, cfg.SecretKey, cfg.EmailDomains = "postgres://x", testKey, []string{"qa.example.test"}
		err = cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "trusted_proxies") || !strings.Contains(err.Error(), "UNDERSTUDY_TRUSTED_PROXIES") ||
			!strings.Contains(err.Error(), c.bad) {
			t.Errorf("%s: Validate() = %v, want it to name trusted_proxies and %q", name, err, c.bad)
		}
		if err := (&Main{Config: cfg}).Run(t.Context()); err == nil || !strings.Contains(err.Error(), "trusted_proxies") {
			t.Errorf("%s: the server started: %v", name, err)
		}
	}
}

// The SMTP settings are checked by name: the size within 1 KiB..100 MiB,
// the certificate and its key together, the switch a boolean.
func TestSMTPSettingsNameWhatIsWrong(t *testing.T) {
	t.Parallel()
	base := Config{DatabaseURL: "postgres://x", SecretKey: "k", EmailDomains: []string{"qa.example.test"}}
	for _, tc := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.SMTPMaxBytes = 1023 }, "smtp_max_bytes (UNDERSTUDY_SMTP_MAX_BYTES) must be from 1024"},
		{func(c *Config) { c.SMTPMaxBytes = 100<<20 + 1 }, "smtp_max_bytes"},
		{func(c *Config) { c.SMTPClientMaxConns = 10001 }, "smtp_client_max_conns (UNDERSTUDY_SMTP_CLIENT_MAX_CONNS) must be from 1 to 10000"},
		{func(c *Config) { c.SMTPClientConnsPerMinute = -1 }, "smtp_client_conns_per_minute (UNDERSTUDY_SMTP_CLIENT_CONNS_PER_MINUTE) must be from 1 to 100000"},
		{func(c *Config) { c.SMTPTLSCert = "mx.crt" }, "smtp_tls_cert and smtp_tls_key"},
		{func(c *Config) { c.SMTPTLSKey = "mx.key" }, "smtp_tls_cert and smtp_tls_key"},
	} {
		c := base
		tc.mutate(&c)
		if err := c.WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want %q", err, tc.want)
		}
	}
	for name, v := range map[string]string{"UNDERSTUDY_SMTP_MAX_BYTES": "10MB", "UNDERSTUDY_SMTP_CHECK_SENDERS": "maybe",
		"UNDERSTUDY_SMTP_CLIENT_MAX_CONNS": "ten", "UNDERSTUDY_SMTP_CLIENT_CONNS_PER_MINUTE": "lots"} {
		if _, err := loadConfig(Config{}, "", envOf(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v", name, v, err)
		}
	}
	var flags Config
	var path string
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	serverFlags(fs, &flags, &path)
	if err := fs.Parse([]string{"--smtp-addr", ":2525", "--smtp-check-senders=false", "--smtp-max-bytes", "4096"}); err != nil {
		t.Fatal(err)
	}
	got, err := loadConfig(flags, "", envOf(map[string]string{"UNDERSTUDY_SMTP_CHECK_SENDERS": "true", "UNDERSTUDY_SMTP_ADDR": ":25"}))
	if err != nil || got.SMTPAddr != ":2525" || got.SMTPCheckSendersOn() || got.SMTPMaxBytes != 4096 {
		t.Fatalf("flags over env: %+v (%v)", got, err)
	}
}

// The artifacts are kept under the data directory unless a URL names
// another store; their retention is bounded and named when it is not.
func TestArtifactSettings(t *testing.T) {
	t.Parallel()
	base := Config{DatabaseURL: "postgres://x", SecretKey: "k", EmailDomains: []string{"qa.example.test"}}.WithDefaults()
	if base.DataDir != ".understudy" || base.ArtifactRetention != 30*24*time.Hour {
		t.Fatalf("defaults: data_dir %q, artifact_retention %v", base.DataDir, base.ArtifactRetention)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if u, err := base.artifactsURL(); err != nil || u != "file://"+filepath.ToSlash(filepath.Join(wd, ".understudy", "artifacts"))+"?create_dir=1&no_tmp_dir=1" {
		t.Fatalf("the default artifacts URL: %q, %v", u, err)
	}
	c := base
	c.ArtifactsURL = "gs://evidence"
	if u, _ := c.artifactsURL(); u != "gs://evidence" {
		t.Fatalf("artifacts_url given: %q", u)
	}
	for _, d := range []time.Duration{time.Minute, 11 * 365 * 24 * time.Hour} {
		c := base
		c.ArtifactRetention = d
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "artifact_retention (UNDERSTUDY_ARTIFACT_RETENTION) must be from 1h") {
			t.Errorf("retention %v: Validate() = %v", d, err)
		}
	}
	if _, err := loadConfig(Config{}, "", envOf(map[string]string{"UNDERSTUDY_ARTIFACT_RETENTION": "a month"})); err == nil ||
		!strings.Contains(err.Error(), "UNDERSTUDY_ARTIFACT_RETENTION") {
		t.Fatalf("a retention that is not a duration: %v", err)
	}
	var flags Config
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	var path string
	serverFlags(fs, &flags, &path)
	if err := fs.Parse([]string{"--data-dir", "/srv/us", "--artifacts-url", "s3://b?region=eu-west-1"}); err != nil {
		t.Fatal(err)
	}
	if flags.DataDir != "/srv/us" || flags.ArtifactsURL != "s3://b?region=eu-west-1" {
		t.Fatalf("flags: %+v", flags)
	}
}

// An artifacts URL that cannot be opened stops the server at start-up,
// naming the setting.
func TestABadArtifactsURLIsAStartUpError(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"ftp://files.example.test/a", "s3://bucket?no_such_parameter=1", "file:///tmp/x?no_such_parameter=1"} {
		_, err := openArtifactBucket(context.Background(), Config{ArtifactsURL: u}, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "artifacts_url (UNDERSTUDY_ARTIFACTS_URL)") {
			t.Errorf("%s: %v, want an error naming the setting", u, err)
		}
	}
}
