package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
)

// pgbench15 is the end of what pgbench 15 prints for -N -c 8 -j 2 -T 10.
const pgbench15 = `pgbench (15.20 (Debian 15.20-0+deb12u1))
starting vacuum...end.
transaction type: <builtin: simple update>
scaling factor: 1
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 57321
number of failed transactions: 0 (0.000%)
latency average = 1.395 ms
initial connection time = 14.117 ms
tps = 5733.426481 (without initial connection time)
`

func TestParsePgbench(t *testing.T) {
	t.Parallel()
	p, err := parsePgbench([]byte(pgbench15))
	if err != nil {
		t.Fatal(err)
	}
	if p.TPS != 5733.426481 || p.Transactions != 57321 || p.Failed != 0 || time.Duration(p.LatencyAverage) != 1395*time.Microsecond {
		t.Errorf("parsePgbench = %+v; want 5733.426481 tps, 57321 transactions, 0 failed, 1.395 ms", p)
	}
	if _, err := parsePgbench([]byte("pgbench: error: connection to server failed\n")); err == nil || !strings.Contains(err.Error(), "tps") {
		t.Errorf("parsePgbench without a tps line = %v, want an error naming it", err)
	}
}

func TestPgbenchArgs(t *testing.T) {
	t.Parallel()
	if got := strings.Join(pgbenchArgs(8, seconds(10*time.Second)), " "); got != "-N -c 8 -j 2 -T 10" {
		t.Errorf("pgbenchArgs(8, 10s) = %q, want the issue's -N -c 8 -j 2 -T 10", got)
	}
	if got := strings.Join(pgbenchArgs(1, seconds(1500*time.Millisecond)), " "); got != "-N -c 1 -j 1 -T 2" {
		t.Errorf("pgbenchArgs(1, 1.5s) = %q, want one thread and the duration rounded up", got)
	}
	if got := versionOf("/usr/lib/postgresql/15/bin/pgbench"); got != 15 {
		t.Errorf("versionOf = %d, want 15", got)
	}
}

// result is a phase or step with a rate and percentiles in ms.
func result(name string, perSecond, p50, p99 float64, steps ...phase.Result) phase.Result {
	ms := func(v float64) phase.Latency { return phase.Latency(v * float64(time.Millisecond)) }
	return phase.Result{Name: name, Requests: 10, PerSecond: perSecond, P50: ms(p50), P99: ms(p99), Steps: steps}
}

func TestReportChecks(t *testing.T) {
	t.Parallel()
	r := Report{Workers: 8, Pgbench: Pgbench{Command: "pgbench -N -c 8 -j 2 -T 10", TPS: 4000}, LoadAverage: -1}
	r.Phases = []Measured{
		{Result: result(phaseFake, 1000, 5, 20, result("acquire", 0, 3, 12), result("release", 0, 2, 8)), CPUBusy: 97},
		{Result: result(phaseOutcome, 950, 5.2, 21, result("acquire", 0, 3.1, 12), result("release", 0, 2.1, 9)), CPUBusy: 96},
		{Result: result(phaseFailures, 800, 5.4, 22, result("acquire", 0, 3.2, 13), result("release", 0, 2.1, 10.8),
			result("release-passed", 0, 2.1, 9), result("release-failed", 0, 2.3, 10.8)), CPUBusy: 96},
		{Result: result(phaseChirp, 200, 30, 60, result("acquire", 0, 8, 30)), CPUBusy: -1},
		{Result: result(phaseChirpReset, 300, 12, 40, result("reset", 0, 8.2, 30))},
		{Result: result(phaseRaw, 900, 8, 20, result("restore", 0, 4, 10))},
	}
	r.Checks = r.check()
	want := []struct {
		measured float64
		pass     bool
	}{{0.25, false}, {2.05, false}, {2, true}, {1.053, true}, {1.2, true}, {20, false}} // each ratio's bound is inclusive as the issue states it
	for i, w := range want {
		if c := r.Checks[i]; c.Measured != w.measured || c.Pass != w.pass {
			t.Errorf("check %s = %g (pass %v), want %g (pass %v)", c.Name, c.Measured, c.Pass, w.measured, w.pass)
		}
	}
	var text bytes.Buffer
	if err := r.Write(&text, "text"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"(b) fake lease cycle p99 = 20.000 ms (target < 20 ms)", "8.000 ms / 4.000 ms = 2.00×", "4000.0 tps", "load average before the run n/a",
		"(b') with a run and a passed outcome = 1000.0 / 950.0 = 1.053× (target ≤ 1.10×)",
		"(f) with one failure in 10, its state captured = 1.250× (no target",
		"\nRATIO lease_cycles_vs_pgbench 0.25 0.33 MISS\nRATIO chirp_reset_p50_vs_raw 2.05 1.6 MISS\nRATIO chirp_acquire_p50_vs_raw 2 2 PASS\nRATIO lease_outcome_cycle_cost 1.053 1.1 PASS\nRATIO failed_release_p99_vs_passed 1.2 1.25 PASS\n",
		"(f) release p99 recording a failure (its state captured off the path) / recording a pass = 10.800 ms / 9.000 ms = 1.20× (target ≤ 1.25×)",
		"(f) release p99, one in 10 capturing its run's state / (b') release p99, none = 10.800 ms / 9.000 ms = 1.20× (no target"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("the text report lacks %q:\n%s", s, text.String())
		}
	}
	if !strings.HasSuffix(text.String(), "RATIO failed_release_p99_vs_passed 1.2 1.25 PASS\n") || strings.Count(text.String(), "RATIO ") != 5 {
		t.Errorf("the text report should end with the five RATIO lines, and have no other:\n%s", text.String())
	}
	var js bytes.Buffer
	if err := r.Write(&js, "json"); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Phases []struct {
			Name  string  `json:"name"`
			P99   float64 `json:"p99_ms"`
			CPU   float64 `json:"cpu_busy_percent"`
			Steps []struct {
				Name string  `json:"name"`
				P50  float64 `json:"p50_ms"`
			} `json:"steps"`
		} `json:"phases"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Phases) != 6 {
		t.Fatalf("JSON report = %s (%v)", js.String(), err)
	}
	if p := back.Phases[1]; p.Name != phaseOutcome || p.P99 != 21 {
		t.Errorf("JSON fake-outcome phase = %+v, want p99 21", p)
	}
	if p := back.Phases[0]; p.Name != phaseFake || p.P99 != 20 || p.CPU != 97 || p.Steps[1].Name != "release" || p.Steps[1].P50 != 2 {
		t.Errorf("JSON fake-lease phase = %+v, want p99 20, cpu 97, release p50 2", p)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	_, err := parseConfig(nil, func(string) string { return "" }, &stderr)
	if err == nil || !strings.Contains(err.Error(), "TEST_DATABASE_URL is required") {
		t.Errorf("parseConfig without TEST_DATABASE_URL = %v, want an error naming it", err)
	}
	env := func(string) string { return "postgres://h/db" }
	cfg, err := parseConfig([]string{"-o", "json", "-peer-follows"}, env, &stderr)
	if err != nil || cfg.Workers != 8 || cfg.Duration != 10*time.Second || cfg.Warmup != 2*time.Second || !cfg.PeerFollows || cfg.Output != "json" {
		t.Errorf("parseConfig = %+v, %v; want 8 workers, 10s, 2s warm-up, peer follows, json", cfg, err)
	}
	if cfg.Rounds != 1 {
		t.Errorf("parseConfig: %d rounds, want 1 by default", cfg.Rounds)
	}
	if _, err := parseConfig([]string{"-rounds", "11"}, env, &stderr); err == nil || !strings.Contains(err.Error(), "-rounds") {
		t.Errorf("parseConfig -rounds 11 (slices under 1s) = %v, want an error naming -rounds", err)
	}
	if _, err := parseConfig([]string{"-duration", "500ms", "-workers", "100"}, env, &stderr); err == nil ||
		!strings.Contains(err.Error(), "-duration") || !strings.Contains(err.Error(), "-workers") {
		t.Errorf("parseConfig with a short duration and too many workers = %v, want both named", err)
	}
}

func TestMergePgbench(t *testing.T) {
	t.Parallel()
	m := mergePgbench([]Pgbench{
		{Command: "pgbench -N -c 8 -j 2 -T 2", TPS: 1000, Transactions: 2000, Seconds: 2, LatencyAverage: phase.Latency(time.Millisecond), CPUBusy: 90},
		{Command: "pgbench -N -c 8 -j 2 -T 2", TPS: 3000, Transactions: 6000, Seconds: 2, LatencyAverage: phase.Latency(3 * time.Millisecond), CPUBusy: 100},
	})
	if m.TPS != 2000 || m.Transactions != 8000 || m.Seconds != 4 || time.Duration(m.LatencyAverage) != 2*time.Millisecond || m.CPUBusy != 95 ||
		m.Command != "pgbench -N -c 8 -j 2 -T 2, in 2 slices" {
		t.Errorf("mergePgbench = %+v; want 2000 tps over 8000 transactions in 4s, 2 ms, 95%% cpu", m)
	}
}

func TestRawStatements(t *testing.T) {
	t.Parallel()
	s := buildRawStatements()
	if len(s.deletes) != len(chirpTables) || len(s.inserts) != len(chirpTables) {
		t.Fatalf("%d deletes, %d inserts; want one of each per table (%d)", len(s.deletes), len(s.inserts), len(chirpTables))
	}
	if s.deletes[2] != `DELETE FROM "follows" AS t WHERE t."follower_id" = $1` {
		t.Errorf("delete of follows = %s", s.deletes[2])
	}
	if !strings.Contains(s.inserts[6], `json_populate_recordset(NULL::"cart_items", $1::json) AS r WHERE r."user_id" = $2`) {
		t.Errorf("insert of cart_items = %s", s.inserts[6])
	}
}
