package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ratio is one target as a driver printed it: RATIO <name> <measured>
// <target> PASS|MISS.
type ratio struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Target   string `json:"target"`
	Verdict  string `json:"verdict"`
}

// String is the ratio's line, in the drivers' format.
func (r ratio) String() string {
	return "RATIO " + r.Name + " " + r.Measured + " " + r.Target + " " + r.Verdict
}

// result is what one driver's run gave.
type result struct {
	Driver  string        `json:"driver"`
	Ratios  []ratio       `json:"ratios"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// Failure says why the driver failed ("" when it ran and printed its
	// targets); StderrTail is the end of its stderr then, StdoutTail the
	// end of its stdout when its stderr was empty (a test binary's
	// benchmarks print there).
	Failure    string `json:"failure,omitempty"`
	StderrTail string `json:"stderr_tail,omitempty"`
	StdoutTail string `json:"stdout_tail,omitempty"`
}

// stderrTailLines is how much of a failed driver's stderr the report shows.
const stderrTailLines = 15

// logPrefix is what go test puts before a benchmark's b.Log line.
var logPrefix = regexp.MustCompile(`^[\w.-]+\.go:\d+:$`)

// parseRatio reads a RATIO line: ok is false for any other line, err
// says what is wrong with a line that starts as one but is not. The line
// may be indented, or carry go test's "file.go:12:" log prefix.
func parseRatio(line string) (r ratio, ok bool, err error) {
	f := strings.Fields(line)
	if len(f) > 1 && logPrefix.MatchString(f[0]) {
		f = f[1:]
	}
	if len(f) == 0 || f[0] != "RATIO" {
		return ratio{}, false, nil
	}
	if len(f) != 5 {
		return ratio{}, true, fmt.Errorf("malformed RATIO line (want RATIO <name> <measured> <target> PASS|MISS): %q", strings.TrimSpace(line))
	}
	r = ratio{Name: f[1], Measured: f[2], Target: f[3], Verdict: f[4]}
	for _, v := range []string{r.Measured, r.Target} {
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return ratio{}, true, fmt.Errorf("malformed RATIO line (%q is not a number): %q", v, strings.TrimSpace(line))
		}
	}
	if r.Verdict != "PASS" && r.Verdict != "MISS" {
		return ratio{}, true, fmt.Errorf("malformed RATIO line (verdict %q, want PASS or MISS): %q", r.Verdict, strings.TrimSpace(line))
	}
	return r, true, nil
}

// collect reads a driver's run: its RATIO lines from stdout, and whether
// it failed (runErr, a malformed RATIO line, or none at all).
func collect(name string, stdout, stderr []byte, runErr error, elapsed time.Duration) result {
	res := result{Driver: name, Elapsed: elapsed}
	var problems []string
	if runErr != nil {
		problems = append(problems, runErr.Error())
	}
	for line := range strings.Lines(string(stdout)) {
		r, ok, err := parseRatio(line)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case ok:
			res.Ratios = append(res.Ratios, r)
		}
	}
	if len(res.Ratios) == 0 && runErr == nil {
		problems = append(problems, "printed no RATIO line")
	}
	if len(problems) > 0 {
		res.Failure = strings.Join(problems, "; ")
		res.StderrTail = tail(stderr, stderrTailLines)
		if res.StderrTail == "" {
			res.StdoutTail = tail(stdout, stderrTailLines)
		}
	}
	return res
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
