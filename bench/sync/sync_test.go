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
	r := Report{Second: Sync{Duration: 2500 * time.Millisecond, Peak: 300 << 10, After: Memory{RSS: 100 << 10}}}
	got := map[string]bool{}
	for _, c := range r.Checks() {
		got[c.What] = c.Pass
	}
	want := map[string]bool{"requests of a sync with no difference": true, "duration of a sync with no difference": false,
		"server peak RSS (VmHWM) during it": false, "server RSS once it answered": true}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("check %q pass = %v, want %v", k, got[k], v)
		}
	}
	r.Second.FakeRequests = 1
	if r.Checks()[0].Pass {
		t.Error("a request the fake saw passes the 0-requests check")
	}
	var out bytes.Buffer
	if err := r.Write(&out, "text"); err != nil || !strings.Contains(out.String(), "MISS: duration of a sync with no difference = 2.500 s (target < 2 s)") {
		t.Errorf("text report = %q, %v", out.String(), err)
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
