package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/internal/dbtest"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	full := map[string]string{"CHIRP_DATABASE_URL": "postgres://db", "CHIRP_WEBHOOK_SECRET": "s3cret"}
	c, err := parseConfig(nil, env(full))
	if err != nil || c != (config{DatabaseURL: "postgres://db", Addr: "127.0.0.1:8090", WebhookSecret: "s3cret"}) {
		t.Fatalf("from env: %+v, %v", c, err)
	}
	traced := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
	maps.Copy(traced, full)
	if c, err = parseConfig(nil, env(traced)); err != nil || c.Tracing.Endpoint != "http://collector:4318/v1/traces" {
		t.Fatalf("with OTEL_EXPORTER_OTLP_ENDPOINT: %+v, %v; want the spans sent to http://collector:4318/v1/traces", c.Tracing, err)
	}
	c, err = parseConfig([]string{"-addr", ":9999", "-webhook-secret", "flag"}, env(full))
	if err != nil || c.Addr != ":9999" || c.WebhookSecret != "flag" || c.DatabaseURL != "postgres://db" {
		t.Fatalf("flags over env: %+v, %v", c, err)
	}
	for name, c := range map[string]struct {
		args []string
		vars map[string]string
		want string
	}{
		"no database":  {nil, map[string]string{"CHIRP_WEBHOOK_SECRET": "s"}, "CHIRP_DATABASE_URL"},
		"no secret":    {nil, map[string]string{"CHIRP_DATABASE_URL": "postgres://db"}, "CHIRP_WEBHOOK_SECRET"},
		"unknown flag": {[]string{"-nope"}, full, "nope"},
		"extra args":   {[]string{"serve"}, full, "unexpected"},
		"otlp grpc":    {nil, map[string]string{"CHIRP_DATABASE_URL": "postgres://db", "CHIRP_WEBHOOK_SECRET": "s", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"},
	} {
		if _, err := parseConfig(c.args, env(c.vars)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", name, err, c.want)
		}
	}
}

func TestRunBadUsage(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	if code := run(t.Context(), nil, env(nil), &stderr); code != 2 || !strings.Contains(stderr.String(), "CHIRP_DATABASE_URL") {
		t.Fatalf("run without config = %d, stderr %q", code, stderr.String())
	}
}

func TestServeUntilCanceled(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	cfg := config{DatabaseURL: dbtest.NewDatabase(t), Addr: ln.Addr().String(), WebhookSecret: "s"}
	go func() { done <- serve(ctx, cfg, slog.New(slog.DiscardHandler), ln) }()

	url := "http://" + ln.Addr().String() + "/healthz"
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("chirp did not become healthy: %v %s", err, body)
		}
	}
	if !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("healthz = %s", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after cancel = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after its context was canceled")
	}
}

func TestParseMailConfig(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"CHIRP_DATABASE_URL": "postgres://db", "CHIRP_WEBHOOK_SECRET": "s",
		"CHIRP_SMTP_ADDR": "127.0.0.1:2525", "CHIRP_MAIL_FROM": "hello@chirp.test", "CHIRP_BASE_URL": "https://chirp.example",
		"CHIRP_SIGN_IN_CODE": "false"}
	c, err := parseConfig(nil, env(vars))
	if err != nil || c.SMTPAddr != "127.0.0.1:2525" || c.MailFrom != "hello@chirp.test" || c.BaseURL != "https://chirp.example" ||
		c.SignInCode == nil || *c.SignInCode {
		t.Fatalf("from env: %+v, %v", c, err)
	}
	c, err = parseConfig([]string{"-smtp-addr", "mx:25", "-sign-in-code", "true", "-base-url", "http://127.0.0.1:1"}, env(vars))
	if err != nil || c.SMTPAddr != "mx:25" || c.BaseURL != "http://127.0.0.1:1" || c.SignInCode == nil || !*c.SignInCode {
		t.Fatalf("flags over env: %+v, %v", c, err)
	}
	vars["CHIRP_SIGN_IN_CODE"] = "sometimes"
	if _, err := parseConfig(nil, env(vars)); err == nil || !strings.Contains(err.Error(), "CHIRP_SIGN_IN_CODE") {
		t.Fatalf("a sign-in-code that is no bool: %v", err)
	}
	delete(vars, "CHIRP_SIGN_IN_CODE")
	if c, err := parseConfig(nil, env(vars)); err != nil || c.SignInCode != nil {
		t.Fatalf("without CHIRP_SIGN_IN_CODE: %+v, %v (want it left to chirp's default)", c, err)
	}
}
