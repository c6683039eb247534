package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	sorted := make([]time.Duration, 100)
	for i := range sorted {
		sorted[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.50, 50 * time.Millisecond}, {0.90, 90 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0.001, time.Millisecond}} {
		if got := percentile(sorted, tc.p); time.Duration(got) != tc.want {
			t.Errorf("percentile(1..100 ms, %g) = %s, want %s", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(nil, 0.5) = %s, want 0", got)
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	samples := []clientSamples{
		{latencies: []time.Duration{3 * time.Millisecond, time.Millisecond}},
		{latencies: []time.Duration{2 * time.Millisecond, 4 * time.Millisecond}, errors: 2, firstErr: boom},
	}
	res, first := summarize("http", samples, 2*time.Second)
	if res.Requests != 4 || res.Errors != 2 || res.PerSecond != 2 {
		t.Errorf("requests, errors, req/s = %d, %d, %g; want 4, 2, 2", res.Requests, res.Errors, res.PerSecond)
	}
	if time.Duration(res.P50) != 2*time.Millisecond || time.Duration(res.Max) != 4*time.Millisecond {
		t.Errorf("p50, max = %s, %s; want 2 ms, 4 ms", res.P50, res.Max)
	}
	if first != boom {
		t.Errorf("first error = %v, want boom", first)
	}
}

func TestReportChecks(t *testing.T) {
	t.Parallel()
	web := PhaseResult{Name: "http", PerSecond: 3000, P50: Latency(1500 * time.Microsecond)}
	bare := PhaseResult{Name: "select", PerSecond: 10000, P50: Latency(200 * time.Microsecond)}
	r := newReport(Config{Clients: 32, Duration: 10 * time.Second}, Machine{CPUs: 2}, web, bare)
	if c := r.Checks[0]; c.Measured != 30 || !c.Pass {
		t.Errorf("throughput check = %+v, want 30%% and a pass (the bound is inclusive)", c)
	}
	if c := r.Checks[1]; c.Measured != 1.5 || c.Pass {
		t.Errorf("p50 check = %+v, want 1.5 ms and a miss", c)
	}
	var text bytes.Buffer
	if err := r.Write(&text, "text"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "HTTP p50 = 1.500 ms (target < 1 ms)") || !strings.Contains(text.String(), "MISS") {
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

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://u:p@h:5432/postgres?sslmode=disable&dbname=x": "postgres://u:p@h:5432/bench?sslmode=disable",
		"postgresql://h/":               "postgresql://h/bench",
		"host=h user=u dbname=postgres": "host=h user=u dbname=postgres dbname=bench",
	} {
		if got, err := withDatabase(in, "bench"); err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", in, got, err, want)
		}
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
	if err != nil || cfg.Clients != 8 || cfg.Output != "json" || cfg.Duration != 10*time.Second || cfg.Bin != "bin/understudy" {
		t.Errorf("parseConfig = %+v, %v; want 8 clients, json, 10s, bin/understudy", cfg, err)
	}
}
