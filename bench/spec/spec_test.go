package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/spec/lang"
)

// TestWriteSpec loads the written spec with the CLI's own language: one
// environment and the roles, each with its pool, in understudy fmt's form.
func TestWriteSpec(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := writeSpec(dir, 12, 7); err != nil {
		t.Fatal(err)
	}
	cfg, diags := lang.Load(dir, lang.Options{Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		t.Fatalf("lang.Load: %v", diags)
	}
	d := cfg.Desired
	if len(d.Environments) != 1 || d.Environments[0].Name != "bench" || !slices.Equal(d.Environments[0].EmailDomains, []string{"qa.example.test"}) {
		t.Errorf("environments = %+v, want bench with qa.example.test", d.Environments)
	}
	if len(d.Roles) != 12 || len(d.Apps) != 0 {
		t.Fatalf("%d roles and %d apps, want 12 and none", len(d.Roles), len(d.Apps))
	}
	for i, r := range d.Roles {
		want := roleName(i + 1)
		if r.Name != want || r.Address != "role."+want || r.Environment != "bench" || r.PoolSize == nil || *r.PoolSize != 7 {
			t.Errorf("role %d = %+v (pool %v), want %s in bench with pool 7", i, r, r.PoolSize, want)
		}
	}
	for name, src := range specFiles(12, 7) {
		if got, diags := lang.Format([]byte(src), name); diags.HasErrors() || string(got) != src {
			t.Errorf("%s is not as understudy fmt leaves it (%v):\n%s", name, diags, got)
		}
	}
	if roleName(100) != "r100" || roleName(7) != "r007" {
		t.Errorf("roleName(100), roleName(7) = %s, %s; want r100, r007", roleName(100), roleName(7))
	}
}

// TestWriteForEachSpec loads the for_each spec with the CLI's own
// language: environment fe and its roles, one instance per name.
func TestWriteForEachSpec(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := writeFiles(dir, forEachFiles(500)); err != nil {
		t.Fatal(err)
	}
	cfg, diags := lang.Load(dir, lang.Options{Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		t.Fatalf("lang.Load: %v", diags)
	}
	d := cfg.Desired
	if len(d.Environments) != 1 || d.Environments[0].Name != "fe" || len(d.Environments)+len(d.Roles) != 500 {
		t.Fatalf("%d environments, %d roles; want fe and 499 roles", len(d.Environments), len(d.Roles))
	}
	for i, r := range d.Roles {
		want := forEachRole(i + 1)
		if r.Name != want || r.Address != `role.f["`+want+`"]` || r.Environment != "fe" || r.PoolSize == nil || *r.PoolSize != 1 {
			t.Fatalf("role %d = %+v, want %s in fe with pool 1", i, r, want)
		}
	}
	for name, src := range forEachFiles(500) {
		if got, diags := lang.Format([]byte(src), name); diags.HasErrors() || string(got) != src {
			t.Errorf("%s is not as understudy fmt leaves it (%v):\n%s", name, diags, got)
		}
	}
}

func secondsOf(s ...float64) []Timed {
	out := make([]Timed, len(s))
	for i, v := range s {
		out[i] = Timed{Wall: phase.Latency(time.Duration(v * float64(time.Second)))}
	}
	return out
}

func TestSpreadOf(t *testing.T) {
	t.Parallel()
	s := spreadOf(secondsOf(0.4, 0.1, 0.3, 0.2), wall)
	if seconds(s.Min) != 0.1 || seconds(s.Median) != 0.2 || seconds(s.Max) != 0.4 {
		t.Errorf("spread of 0.4, 0.1, 0.3, 0.2 = %+v; want 0.1, 0.2 (the lower middle), 0.4", s)
	}
	if s := spreadOf(nil, wall); s != (Spread{}) {
		t.Errorf("spread of no runs = %+v, want zero", s)
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	r := Report{Config: Config{Roles: 100, Pool: 100, Bin: "bin/understudy"}, Accounts: 10_000,
		Apply: secondsOf(31)[0], Direct: secondsOf(20)[0],
		Plans: secondsOf(0.9, 1.5, 0.5), Lists: secondsOf(0.1, 0.3, 0.2),
		ForEachPlans: secondsOf(0.3, 0.5, 0.4), ForEachLists: secondsOf(0.2, 0.1, 0.15)}
	r.Config.ForEach = 500
	r.Apply.ServerCPU, r.Apply.PostgresCPU = phase.Latency(4*time.Second), phase.Latency(8*time.Second)
	r.Direct.ServerCPU, r.Direct.PostgresCPU = phase.Latency(5*time.Second), phase.Latency(5*time.Second)
	r.Copy = CopyBaseline{Rows: map[string]int64{"accounts": 10_000, "exclusions": 30_000, "audit_events": 10_000},
		Rounds: []phase.Latency{phase.Latency(7 * time.Second), phase.Latency(5 * time.Second), phase.Latency(9 * time.Second)}}
	r.Checks = r.check()
	if len(r.Checks) != 4 {
		t.Fatalf("checks = %+v, want four", r.Checks)
	}
	vsCopy, apply, plan, forEach := r.Checks[0], r.Checks[1], r.Checks[2], r.Checks[3]
	if !vsCopy.Pass || vsCopy.Measured != 4.43 || vsCopy.Name != "spec_first_apply_vs_copy" || !strings.Contains(vsCopy.Summary, "COPY of its rows (median of 3) 7.000 s") {
		t.Errorf("COPY check = %+v; want a PASS at 31 / 7 (the median round) = 4.43×", vsCopy)
	}
	r.Copy.Rounds = r.Copy.Rounds[1:2]
	if c := r.check()[0]; c.Pass || c.Measured != 6.2 {
		t.Errorf("COPY check at 31 / 5 = %+v; want a MISS at 6.2×", c)
	}
	r.Copy.Rounds = nil
	if c := r.check()[0]; c.Pass {
		t.Errorf("COPY check without a COPY = %+v; want a MISS", c)
	}
	r.Copy.Rounds = []phase.Latency{phase.Latency(7 * time.Second), phase.Latency(5 * time.Second), phase.Latency(9 * time.Second)}
	if !forEach.Pass || forEach.Measured != 2.67 || !strings.Contains(forEach.Summary, "500 objects") {
		t.Errorf("for_each check = %+v; want a PASS at 0.4 / 0.15 = 2.67×", forEach)
	}
	r.ForEachLists = secondsOf(0.1, 0.1, 0.1)
	if c := r.check()[3]; c.Pass || c.Measured != 4 {
		t.Errorf("for_each check at 0.4 / 0.1 = %+v; want a MISS at 4×", c)
	}
	if apply.Pass || apply.Measured != 31 || !strings.Contains(apply.Summary, "ratio 1.55×") {
		t.Errorf("apply check = %+v; want a MISS at 31 s, ratio 1.55× of the 20 s baseline", apply)
	}
	if !plan.Pass || plan.Measured != 0.9 || !strings.Contains(plan.Summary, "ratio 4.50×") {
		t.Errorf("plan check = %+v; want a PASS on the median 0.9 s, ratio 4.50× of the 0.2 s median list", plan)
	}
	var out bytes.Buffer
	if err := r.Write(&out, "text"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"0.500 / 0.900 / 1.500 s", "(target < 30 s)", "MISS\n", "PASS\n", "wall 1.55×, server + PostgreSQL CPU 1.20×",
		"COPY accounts 10000, audit_events 10000, exclusions 30000", "5.000 / 7.000 / 9.000 s",
		"\nRATIO spec_first_apply_vs_copy 4.43 5 PASS\n", "\nRATIO first_apply_seconds 31 30 MISS\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := r.Write(&out, "json"); err != nil || !strings.Contains(out.String(), `"median_ms": 900`) || strings.Contains(out.String(), "DatabaseURL") {
		t.Errorf("json report = %s, %v; want the plans' median in ms and no database URL", out.String(), err)
	}
}

func TestCLIEnv(t *testing.T) {
	t.Parallel()
	c := cli{url: "http://127.0.0.1:1", token: "secret"}
	got := c.env([]string{"HOME=/root", "UNDERSTUDY_WORKSPACE=other", "UNDERSTUDY_VAR_pool_size=3", "UNDERSTUDY_URL=http://elsewhere"})
	want := []string{"HOME=/root", "UNDERSTUDY_URL=http://127.0.0.1:1", "UNDERSTUDY_TOKEN=secret"}
	if !slices.Equal(got, want) {
		t.Errorf("env = %q, want %q", got, want)
	}
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	c, err := parseConfig(nil, func(string) string { return "postgres://x/y" }, &stderr)
	if err != nil || c.Roles != 100 || c.Pool != 100 || c.Plans != 7 || c.ForEach != 500 || c.Bin != "bin/understudy" || c.Output != "text" {
		t.Fatalf("defaults = %+v, %v", c, err)
	}
	if c.Short || c.CopyRounds != 3 {
		t.Errorf("defaults = %+v; want a long run with 3 COPY rounds", c)
	}
	c, err = parseConfig([]string{"-short", "-plans", "5"}, func(string) string { return "postgres://x/y" }, &stderr)
	if err != nil || !c.Short || c.Roles != 25 || c.Pool != 100 || c.Plans != 5 || c.ForEach != 100 {
		t.Errorf("-short -plans 5 = %+v, %v; want 25 roles of 100, the 5 plans asked for, 100 for_each objects", c, err)
	}
	_, err = parseConfig([]string{"-copy-rounds", "21", "-pool", "101", "-roles", "1000", "-for-each", "1"}, func(string) string { return "" }, &stderr)
	for _, field := range []string{"TEST_DATABASE_URL", "-pool", "-roles", "-for-each", "-copy-rounds"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("bad config error = %v, want %s named", err, field)
		}
	}
}

func TestSince(t *testing.T) {
	t.Parallel()
	s := time.Second
	r0 := reading{server: 2 * s, backends: map[int]time.Duration{10: s, 11: 3 * s}}
	r1 := reading{server: 5 * s, backends: map[int]time.Duration{10: 4 * s, 12: 2 * s}} // 11 exited, 12 is new
	server, pg := since(r0, r1)
	if time.Duration(server) != 3*s || time.Duration(pg) != 5*s {
		t.Errorf("since = %s, %s; want 3 s of the server, 5 s of backends (3 s of 10, all 2 s of the new 12)", server, pg)
	}
	if _, pg := since(reading{server: s}, r1); pg != -1 {
		t.Errorf("since without the backends = %s, want -1 (unknown)", pg)
	}
}
