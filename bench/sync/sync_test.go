package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	t.Parallel()
	raw := []byte("Name:\tunderstudy\nVmPeak:\t 1300000 kB\nVmHWM:\t  300100 kB\nVmRSS:\t  120400 kB\nThreads:\t9\n")
	m, err := parseStatus(raw)
	if err != nil || m.HWM != 300100 || m.RSS != 120400 {
		t.Fatalf("parseStatus = %+v, %v; want HWM 300100, RSS 120400", m, err)
	}
	if _, err := parseStatus([]byte("Name:\tx\n")); err == nil {
		t.Error("parseStatus without VmRSS = nil error, want one")
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	r := Report{Full: Sync{Duration: 2 * time.Second},
		Second: Sync{Duration: 500 * time.Millisecond, Peak: 300 << 10, After: Memory{RSS: 100 << 10}}}
	got := map[string]bool{}
	for _, c := range r.Checks() {
		got[c.Name] = c.Pass
	}
	want := map[string]bool{"sync_nochange_requests": true, "sync_nochange_seconds": false,
		"sync_nochange_peak_mib": false, "sync_nochange_rss_mib": true}
	if len(got) != len(want) {
		t.Errorf("checks %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("check %q pass = %v, want %v", k, got[k], v)
		}
	}
	r.Second.FakeRequests = 1
	if c := r.Checks()[1]; c.Name != "sync_nochange_requests" || c.Pass {
		t.Errorf("a request the fake saw: %+v, want a MISS", c)
	}
	r.Second.Duration = 300 * time.Millisecond
	if c := r.Checks()[0]; !c.Pass || c.Measured != 0.3 {
		t.Errorf("0.3 s: %+v, want a PASS (the target is ≤)", c)
	}
	var out bytes.Buffer
	if err := r.Write(&out, "text"); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"RATIO sync_nochange_seconds 0.3 0.3 PASS\n", "RATIO sync_nochange_requests 1 0 MISS\n",
		"RATIO sync_nochange_peak_mib 300 256 MISS\n", "(0.150 × the full run's)"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("text report lacks %q:\n%s", line, out.String())
		}
	}
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	c, err := parseConfig(nil, func(string) string { return "postgres://x/y" }, &stderr)
	if err != nil || c.Accounts != 333_334 || c.SyncTimeout != 30*time.Minute || c.Bin != "bin/understudy" {
		t.Fatalf("defaults = %+v, %v", c, err)
	}
	if _, err := parseConfig([]string{"-accounts", "-1"}, func(string) string { return "" }, &stderr); err == nil ||
		!strings.Contains(err.Error(), "TEST_DATABASE_URL") || !strings.Contains(err.Error(), "-accounts") {
		t.Errorf("bad config error = %v, want both fields named", err)
	}
}
