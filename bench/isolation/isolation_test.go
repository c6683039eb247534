package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/bench/internal/stack"
)

func TestReportRatio(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		check, join time.Duration
		want        float64
		pass        bool
		line        string
	}{
		{3 * time.Millisecond, 2 * time.Millisecond, 1.5, true, "RATIO isolation_check_p50_vs_sql 1.5 1.5 PASS"}, // the bound is inclusive
		{3100 * time.Microsecond, 2 * time.Millisecond, 1.55, false, "RATIO isolation_check_p50_vs_sql 1.55 1.5 MISS"},
		{time.Millisecond, 0, 0, false, "RATIO isolation_check_p50_vs_sql 0 1.5 MISS"}, // no join measured: no pass
	} {
		r := newReport(Config{Clients: 1, Subjects: 1000}, stack.Machine{CPUs: 2},
			phase.Result{Name: "check", P50: phase.Latency(tc.check)}, phase.Result{Name: "sql", P50: phase.Latency(tc.join)})
		c := r.Checks[0]
		if c.Name != "isolation_check_p50_vs_sql" || c.Measured != tc.want || c.Pass != tc.pass || c.Target != 1.5 {
			t.Errorf("check %s vs join %s: %+v, want %.2f pass=%v", tc.check, tc.join, c, tc.want, tc.pass)
		}
		var text bytes.Buffer
		if err := r.Write(&text, "text"); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(text.String(), "\n"+tc.line+"\n") {
			t.Errorf("text report does not end with %q:\n%s", tc.line, text.String())
		}
	}
}

func TestShortFlag(t *testing.T) {
	t.Parallel()
	env := func(string) string { return "postgres://x" }
	c, err := parseConfig([]string{"-short"}, env, &bytes.Buffer{})
	if err != nil || c.Duration != shortDuration || c.Warmup != shortWarmup || c.Rounds != shortRounds {
		t.Errorf("-short = %+v (%v), want %s, %s, %d rounds", c, err, shortDuration, shortWarmup, shortRounds)
	}
	c, err = parseConfig([]string{"-short", "-duration", "6s"}, env, &bytes.Buffer{})
	if err != nil || c.Duration != 6*time.Second || c.Rounds != shortRounds {
		t.Errorf("-short -duration 6s = %+v (%v), want 6s in %d rounds", c, err, shortRounds)
	}
	c, err = parseConfig(nil, env, &bytes.Buffer{})
	if err != nil || c.Duration != 10*time.Second || c.Rounds != 5 || c.Subjects != 1000 || c.Clients != 1 {
		t.Errorf("defaults = %+v (%v)", c, err)
	}
	if _, err := parseConfig(nil, func(string) string { return "" }, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "TEST_DATABASE_URL") {
		t.Errorf("without TEST_DATABASE_URL: %v, want an error naming it", err)
	}
}

// TestJoinSQLIsTheCheck holds the bare join to the statement the check
// runs (tagging.FindListed's), so that the ratio compares the same join.
func TestJoinSQLIsTheCheck(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../tagging/head.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(src), "const findListedSQL = `")
	if !ok {
		t.Fatal("tagging/head.go has no findListedSQL: update joinSQL and this test")
	}
	stmt, _, _ := strings.Cut(rest, "`\n")
	stmt = strings.ReplaceAll(stmt, "` + accounts.AccountDirectory + `", "account_directory")
	if stmt != joinSQL {
		t.Errorf("joinSQL differs from tagging's findListedSQL:\n%s\nwant:\n%s", joinSQL, stmt)
	}
}

func TestSubjectsAndProbes(t *testing.T) {
	t.Parallel()
	s := subjects(4)
	if s[0] != "bench-1@qa.example.test" || s[2] != "bench-2@qa.example.test" || !strings.HasPrefix(s[1], "real-") {
		t.Errorf("subjects(4) = %v", s)
	}
	p := probes([]string{"Bench-1@QA.example.test", "x"}, "v")
	if len(p) != 4 || p[1] != "bench-1@qa.example.test" || p[3] != "v" {
		t.Errorf("probes = %v, want each subject, its canonical form where it differs, then the viewer", p)
	}
}
