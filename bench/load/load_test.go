package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/bench/internal/stack"
)

func TestReportChecks(t *testing.T) {
	t.Parallel()
	web := phase.Result{Name: "http", PerSecond: 3000, P50: phase.Latency(1500 * time.Microsecond)}
	bare := phase.Result{Name: "select", PerSecond: 10000, P50: phase.Latency(200 * time.Microsecond)}
	peer := phase.Result{Name: "peer", PerSecond: 3750, P50: phase.Latency(1200 * time.Microsecond)}
	r := newReport(Config{Clients: 32, Duration: 10 * time.Second}, stack.Machine{CPUs: 2}, web, bare, peer)
	if c := r.Checks[0]; c.Measured != 30 || !c.Pass {
		t.Errorf("throughput check = %+v, want 30%% and a pass (the bound is inclusive)", c)
	}
	if c := r.Checks[1]; c.Measured != 1.5 || c.Pass {
		t.Errorf("p50 check = %+v, want 1.5 ms and a miss", c)
	}
	if c := r.Checks[2]; c.Name != "get_account_vs_peer" || c.Measured != 0.8 || c.Pass {
		t.Errorf("peer ratio check = %+v, want get_account_vs_peer 0.8 and a miss (target 1.0)", c)
	}
	if r.Phases[2].Name != "peer" {
		t.Errorf("phases = %+v, want the peer's third", r.Phases)
	}
	var text bytes.Buffer
	if err := r.Write(&text, "text"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "HTTP p50 = 1.500 ms (target < 1 ms)") || !strings.Contains(text.String(), "MISS") ||
		!strings.Contains(text.String(), "HTTP throughput = 0.80 × the peer's (target ≥ 1.00)") ||
		!strings.HasSuffix(text.String(), "\nRATIO get_account_vs_peer 0.8 1 MISS\n") {
		t.Errorf("text report lacks the p50 miss:\n%s", text.String())
	}
	var js bytes.Buffer
	if err := r.Write(&js, "json"); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Phases []struct {
			P50 float64 `json:"p50_ms"`
		} `json:"phases"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Phases[0].P50 != 1.5 {
		t.Errorf("JSON p50_ms = %+v (%v), want 1.5", back, err)
	}
}

func TestConfigNeedsDatabaseURL(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	_, err := parseConfig(nil, func(string) string { return "" }, &stderr)
	if err == nil || !strings.Contains(err.Error(), "TEST_DATABASE_URL is required") {
		t.Errorf("parseConfig without TEST_DATABASE_URL = %v, want an error naming it", err)
	}
	cfg, err := parseConfig([]string{"-clients", "8", "-o", "json"}, func(string) string { return "postgres://h/db" }, &stderr)
	if err != nil || cfg.Clients != 8 || cfg.Output != "json" || cfg.Duration != 10*time.Second || cfg.Bin != "bin/understudy" || cfg.Rounds != 1 {
		t.Errorf("parseConfig = %+v, %v; want 8 clients, json, 10s, bin/understudy, 1 round", cfg, err)
	}
	if _, err := parseConfig([]string{"-rounds", "200"}, func(string) string { return "postgres://h/db" }, &stderr); err == nil || !strings.Contains(err.Error(), "-rounds") {
		t.Errorf("parseConfig -rounds 200 (50ms slices) = %v, want an error naming -rounds", err)
	}
	cfg, err = parseConfig([]string{"-short", "-rounds", "2"}, func(string) string { return "postgres://h/db" }, &stderr)
	if err != nil || cfg.Duration != shortDuration || cfg.Warmup != shortWarmup || cfg.Rounds != 2 {
		t.Errorf("parseConfig -short -rounds 2 = %+v, %v; want the short duration and warm-up, 2 rounds", cfg, err)
	}
}

func TestReportCPUPerRequest(t *testing.T) {
	t.Parallel()
	var r Report
	r.setCPU([2]time.Duration{2 * time.Second, 3 * time.Second}, phase.Result{Requests: 40000}, phase.Result{Requests: 0})
	if r.ServerCPUMicros != 50 || r.PeerCPUMicros != 0 {
		t.Errorf("setCPU = %v, %v µs; want 50 (2s over 40,000 requests) and 0 (no requests)", r.ServerCPUMicros, r.PeerCPUMicros)
	}
}
