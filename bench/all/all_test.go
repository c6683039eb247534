package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseRatio(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line string
		want ratio
		ok   bool
		bad  string
	}{
		{line: "RATIO sync_nochange_seconds 0.012 0.3 PASS\n", ok: true, want: ratio{"sync_nochange_seconds", "0.012", "0.3", "PASS"}},
		{line: "  RATIO inbox_ingest_vs_mailpit 0.69 1 MISS", ok: true, want: ratio{"inbox_ingest_vs_mailpit", "0.69", "1", "MISS"}},
		{line: "    isolation_bench_test.go:88: RATIO isolation_check_p50_ms 4.73 2 MISS", ok: true, want: ratio{"isolation_check_p50_ms", "4.73", "2", "MISS"}},
		{line: "RATIO big 1e+06 2.5e-05 PASS", ok: true, want: ratio{"big", "1e+06", "2.5e-05", "PASS"}},
		{line: "PASS: requests of a sync with no difference = 0"},
		{line: "BenchmarkIsolationCheck1000-2   2000   4730000 ns/op"},
		{line: "RATIOS are printed below"},
		{line: ""},
		{line: "RATIO sync_nochange_seconds 0.012 0.3", ok: true, bad: "want RATIO <name>"},
		{line: "RATIO sync_nochange_seconds fast 0.3 PASS", ok: true, bad: `"fast" is not a number`},
		{line: "RATIO sync_nochange_seconds 0.012 0.3 pass", ok: true, bad: `verdict "pass"`},
	} {
		got, ok, err := parseRatio(tc.line)
		if ok != tc.ok || (tc.bad == "" && err != nil) || (tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad))) || (tc.bad == "" && got != tc.want) {
			t.Errorf("parseRatio(%q) = %+v, %v, %v; want %+v, %v, an error with %q", tc.line, got, ok, err, tc.want, tc.ok, tc.bad)
		}
	}
}

// fakeRun is what a fake driver prints and how it exits.
type fakeRun struct {
	stdout, stderr string
	err            error
	// sleep holds the driver for a while, so overlapping runs would show.
	sleep time.Duration
}

func fakeExec(t *testing.T, runs map[string]fakeRun, order *[]string) execFunc {
	var running atomic.Int32
	return func(ctx context.Context, d driver, path string, args []string) ([]byte, []byte, error) {
		if n := running.Add(1); n != 1 {
			t.Errorf("%d drivers ran at once", n)
		}
		defer running.Add(-1)
		*order = append(*order, d.Name)
		if path != "/bin/"+d.Name {
			t.Errorf("%s ran %s", d.Name, path)
		}
		r := runs[d.Name]
		time.Sleep(r.sleep)
		return []byte(r.stdout), []byte(r.stderr), r.err
	}
}

var fakeDrivers = []driver{
	{Name: "sync", Bin: true, Short: []string{"-accounts", "10"}, Full: nil},
	{Name: "inbox", Bin: true},
	{Name: "spec", Bin: true},
	{Name: "load", Bin: true},
	{Name: "lease", Bin: true},
	{Name: "isolation", Test: true, Args: []string{"-test.bench", "Isolation"}, Short: []string{"-test.benchtime", "20x"}},
}

func fakeBuilt() built {
	b := built{Server: "/bin/understudy", Paths: map[string]string{}, Errs: map[string]error{}}
	for _, d := range fakeDrivers {
		b.Paths[d.Name] = "/bin/" + d.Name
	}
	return b
}

func TestRunAllCollectsTargetsAndFailures(t *testing.T) {
	t.Parallel()
	longStderr := ""
	for i := range 40 {
		longStderr += fmt.Sprintf("progress line %d\n", i)
	}
	runs := map[string]fakeRun{
		"sync": {sleep: 5 * time.Millisecond, stdout: "(d) sync with no difference: 0 requests\n\nduration … PASS\n" +
			"RATIO sync_nochange_seconds 0.012 0.3 PASS\nRATIO sync_nochange_requests 0 0 PASS\n"},
		"inbox": {sleep: 5 * time.Millisecond, stdout: "RATIO inbox_ingest_vs_mailpit 0.69 1 MISS\nRATIO inbox_delivery_p99_ms 31 50 PASS\n"},
		"spec":  {stdout: "a report without targets\n", stderr: "spec: plan 3 of 3\n"},
		"load":  {stdout: "RATIO load_half 0.5 1\n", stderr: "load: done\n"},
		"lease": {stdout: "RATIO lease_p50 1 2 PASS\n", stderr: longStderr + "lease: the server stopped answering\n", err: errors.New("exit status 1")},
		"isolation": {stdout: "goos: linux\nBenchmarkIsolationCheck1000-2 \t20\t 4730000 ns/op\n" +
			"    isolation_bench_test.go:88: RATIO isolation_check_p50_ms 4.73 2 MISS\nPASS\nok\n"},
	}
	var order []string
	var progress bytes.Buffer
	res := runAll(context.Background(), Config{Timeout: time.Minute}, fakeDrivers, fakeBuilt(), fakeExec(t, runs, &order), &progress)
	if !slices.Equal(order, names(fakeDrivers)) {
		t.Errorf("ran %v, want the table's order %v", order, names(fakeDrivers))
	}
	rep := Report{Results: res}
	if !rep.Failed() {
		t.Fatal("a report with failed drivers says none failed")
	}
	var out bytes.Buffer
	if err := rep.Write(&out, "text"); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	wantRatios := "RATIO sync_nochange_seconds 0.012 0.3 PASS\nRATIO sync_nochange_requests 0 0 PASS\n" +
		"RATIO inbox_ingest_vs_mailpit 0.69 1 MISS\nRATIO inbox_delivery_p99_ms 31 50 PASS\n" +
		"RATIO lease_p50 1 2 PASS\nRATIO isolation_check_p50_ms 4.73 2 MISS\n\n"
	if !strings.HasPrefix(text, wantRatios) {
		t.Errorf("the report does not start with the RATIO lines:\n%s", text)
	}
	for _, want := range []string{
		"FAILED spec: printed no RATIO line\n  its stderr ends:\n    spec: plan 3 of 3\n",
		"FAILED load: malformed RATIO line (want RATIO <name> <measured> <target> PASS|MISS): \"RATIO load_half 0.5 1\"",
		"FAILED lease: exit status 1\n  its stderr ends:\n    progress line 26\n",
		"lease: the server stopped answering\n",
		"6 targets (short mode): 4 PASS, 2 MISS; 3 of 6 drivers failed.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "progress line 25\n") {
		t.Errorf("the stderr tail is longer than %d lines:\n%s", stderrTailLines, text)
	}
	for _, row := range []string{"sync       sync_nochange_seconds", "isolation  isolation_check_p50_ms", "spec       -"} {
		if !strings.Contains(text, row) {
			t.Errorf("the table lacks a row %q:\n%s", row, text)
		}
	}
}

func TestMissAloneIsNotAFailure(t *testing.T) {
	t.Parallel()
	ds := fakeDrivers[:2]
	runs := map[string]fakeRun{
		"sync":  {stdout: "RATIO sync_nochange_seconds 2.1 0.3 MISS\n"},
		"inbox": {stdout: "RATIO inbox_ingest_vs_mailpit 0.69 1 MISS\n"},
	}
	var order []string
	rep := Report{Results: runAll(context.Background(), Config{Timeout: time.Minute}, ds, fakeBuilt(), fakeExec(t, runs, &order), &bytes.Buffer{})}
	if rep.Failed() {
		t.Errorf("MISS alone failed the run: %+v", rep.Results)
	}
}

func TestADriverThatDidNotBuildFailsAndTheOthersRun(t *testing.T) {
	t.Parallel()
	b := fakeBuilt()
	b.Errs["sync"] = errors.New("building ./bench/sync: go build: exit status 1\nbench/sync/report.go:12: undefined: x")
	var order []string
	runs := map[string]fakeRun{"inbox": {stdout: "RATIO inbox_delivery_p99_ms 31 50 PASS\n"}}
	rep := Report{Results: runAll(context.Background(), Config{Timeout: time.Minute}, fakeDrivers[:2], b, fakeExec(t, runs, &order), &bytes.Buffer{})}
	if !slices.Equal(order, []string{"inbox"}) || !rep.Failed() || rep.Results[0].Failure != "it was not built" ||
		!strings.Contains(rep.Results[0].StderrTail, "undefined: x") || rep.Results[1].Failure != "" {
		t.Errorf("ran %v; results %+v", order, rep.Results)
	}
}

func TestADriverPastItsTimeFails(t *testing.T) {
	t.Parallel()
	slow := func(ctx context.Context, d driver, path string, args []string) ([]byte, []byte, error) {
		<-ctx.Done()
		return []byte("RATIO sync_nochange_seconds 0.01 0.3 PASS\n"), []byte("sync: interrupted\n"), errors.New("signal: terminated")
	}
	res := runAll(context.Background(), Config{Timeout: 20 * time.Millisecond}, fakeDrivers[:1], fakeBuilt(), slow, &bytes.Buffer{})
	if len(res) != 1 || !strings.HasPrefix(res[0].Failure, "timed out after 20ms") || res[0].StderrTail != "sync: interrupted" {
		t.Errorf("results %+v", res)
	}
}

func TestArgs(t *testing.T) {
	t.Parallel()
	d := driver{Name: "x", Bin: true, Args: []string{"-a"}, Short: []string{"-duration", "3s"}, Full: []string{"-rounds", "3"}}
	if got := d.args(false, "/b/understudy"); !slices.Equal(got, []string{"-a", "-bin", "/b/understudy", "-duration", "3s"}) {
		t.Errorf("short args %v", got)
	}
	if got := d.args(true, "/b/understudy"); !slices.Equal(got, []string{"-a", "-bin", "/b/understudy", "-rounds", "3"}) {
		t.Errorf("full args %v", got)
	}
	// Every driver of the table is named once and has a package.
	seen := map[string]bool{}
	for _, d := range drivers {
		if seen[d.Name] || d.Package == "" {
			t.Errorf("driver %+v: duplicate or without a package", d)
		}
		seen[d.Name] = true
	}
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	env := func(string) string { return "postgres://x/y" }
	c, err := parseConfig([]string{"-only", "sync,inbox", "-full"}, env, &bytes.Buffer{})
	if err != nil || !c.Full || c.Timeout != time.Hour || !slices.Equal(names(c.selected()), []string{"sync", "inbox"}) {
		t.Fatalf("config %+v %v", c, err)
	}
	if c, err := parseConfig(nil, env, &bytes.Buffer{}); err != nil || len(c.selected()) != len(drivers) {
		t.Fatalf("default config %+v %v", c, err)
	}
	_, err = parseConfig([]string{"-only", "nope"}, func(string) string { return "" }, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `no driver "nope"`) || !strings.Contains(err.Error(), "TEST_DATABASE_URL") {
		t.Errorf("bad config error %v", err)
	}
}

// A benchmark binary prints to stdout: without a RATIO line, the report
// shows the end of its output.
func TestABenchmarkWithoutTargetsShowsItsOutput(t *testing.T) {
	t.Parallel()
	runs := map[string]fakeRun{"isolation": {stdout: "goos: linux\nBenchmarkIsolationCheck1000-2 \t20\t 4730000 ns/op\nPASS\n"}}
	var order []string
	rep := Report{Results: runAll(context.Background(), Config{Timeout: time.Minute}, fakeDrivers[5:], fakeBuilt(), fakeExec(t, runs, &order), &bytes.Buffer{})}
	var out bytes.Buffer
	if err := rep.Write(&out, "text"); err != nil {
		t.Fatal(err)
	}
	if !rep.Failed() || !strings.Contains(out.String(), "FAILED isolation: printed no RATIO line\n  its stderr is empty; its output ends:\n    goos: linux\n    BenchmarkIsolationCheck1000-2") {
		t.Errorf("report:\n%s", out.String())
	}
}
