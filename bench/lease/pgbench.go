package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
)

// pgbenchThreads is pgbench's -j: the "-c 8 -j 2".
const pgbenchThreads = 2

// Pgbench is what phase (a) measured: pgbench's built-in simple-update
// script (-N) on a database of its own, the floor the hardware sets.
type Pgbench struct {
	// Command is the measured command line, without the connection string.
	Command string `json:"command"`
	// TPS is pgbench's "tps = … (without initial connection time)".
	TPS float64 `json:"tps"`
	// Transactions is the number of transactions processed.
	Transactions int `json:"transactions"`
	// Failed is the number of failed transactions.
	Failed int `json:"failed"`
	// LatencyAverage is pgbench's "latency average".
	LatencyAverage phase.Latency `json:"latency_average_ms"`
	// CPUBusy is the machine's CPU use over the measured run, in percent.
	CPUBusy float64 `json:"cpu_busy_percent"`
	// Seconds is the measured duration (the sum of the slices' with
	// -rounds).
	Seconds float64 `json:"seconds"`
}

// pgbenchArgs are the arguments of a run of secs seconds with clients.
func pgbenchArgs(clients int, secs int) []string {
	return []string{"-N", "-c", strconv.Itoa(clients), "-j", strconv.Itoa(min(pgbenchThreads, clients)), "-T", strconv.Itoa(secs)}
}

// initPgbench initializes a pgbench database at dbURL (scale 1) and runs
// it for the warm-up (not recorded), rounded up to whole seconds.
func initPgbench(ctx context.Context, bin, dbURL string, clients int, warmup time.Duration) error {
	if _, err := pgbench(ctx, bin, "-i", "-q", dbURL); err != nil {
		return err
	}
	if warmup > 0 {
		if _, err := pgbench(ctx, bin, append(pgbenchArgs(clients, seconds(warmup)), dbURL)...); err != nil {
			return err
		}
	}
	return nil
}

// runPgbench runs pgbench on an initialized database for duration, rounded
// up to whole seconds, and parses its output.
func runPgbench(ctx context.Context, bin, dbURL string, clients int, duration time.Duration) (Pgbench, error) {
	args := pgbenchArgs(clients, seconds(duration))
	cpu := startCPU()
	out, err := pgbench(ctx, bin, append(args, dbURL)...)
	if err != nil {
		return Pgbench{}, err
	}
	res, err := parsePgbench(out)
	res.Command = "pgbench " + strings.Join(args, " ")
	res.CPUBusy = cpu.busy()
	res.Seconds = float64(seconds(duration))
	return res, err
}

// mergePgbench adds up runs of one command in slices: the transactions and
// the seconds, the rate as their ratio, the latency and CPU use averaged
// over the seconds.
func mergePgbench(parts []Pgbench) Pgbench {
	if len(parts) == 1 {
		return parts[0]
	}
	var m Pgbench
	var latency, cpu float64
	for _, p := range parts {
		m.Transactions += p.Transactions
		m.Failed += p.Failed
		m.Seconds += p.Seconds
		latency += float64(p.LatencyAverage) * p.Seconds
		cpu += p.CPUBusy * p.Seconds
	}
	if m.Seconds > 0 {
		m.TPS = float64(m.Transactions) / m.Seconds
		m.LatencyAverage = phase.Latency(latency / m.Seconds)
		m.CPUBusy = cpu / m.Seconds
	}
	m.Command = fmt.Sprintf("%s, in %d slices", parts[0].Command, len(parts))
	return m
}

// seconds rounds d up to whole seconds, at least 1.
func seconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// pgbench runs bin with args and returns its standard output. The error
// carries standard error but not the arguments (the last one is the
// connection string).
func pgbench(ctx context.Context, bin string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pgbench %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

var (
	tpsRE          = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)
	transactionsRE = regexp.MustCompile(`(?m)^number of transactions actually processed: ([0-9]+)`)
	failedRE       = regexp.MustCompile(`(?m)^number of failed transactions: ([0-9]+)`)
	latencyRE      = regexp.MustCompile(`(?m)^latency average = ([0-9.]+) ms`)
)

// parsePgbench reads the figures of a run's output. The tps line is
// required; the others are kept when present (older versions print no
// failed count).
func parsePgbench(out []byte) (Pgbench, error) {
	var p Pgbench
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		return p, fmt.Errorf("pgbench printed no \"tps = … (without initial connection time)\" line:\n%s", out)
	}
	p.TPS, _ = strconv.ParseFloat(string(m[1]), 64) // the pattern admits only a number
	if m := transactionsRE.FindSubmatch(out); m != nil {
		p.Transactions, _ = strconv.Atoi(string(m[1]))
	}
	if m := failedRE.FindSubmatch(out); m != nil {
		p.Failed, _ = strconv.Atoi(string(m[1]))
	}
	if m := latencyRE.FindSubmatch(out); m != nil {
		ms, _ := strconv.ParseFloat(string(m[1]), 64)
		p.LatencyAverage = phase.Latency(ms * float64(time.Millisecond))
	}
	return p, nil
}

// findPgbench returns name when it is a path or on PATH, or else the
// newest pgbench of Debian's PostgreSQL packages.
func findPgbench(name string) (string, error) {
	if name != "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("-pgbench %s: %w", name, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench") // the pattern is valid
	if len(found) == 0 {
		return "", errors.New("pgbench is neither on PATH nor in /usr/lib/postgresql/*/bin (install postgresql-client, or pass -pgbench)")
	}
	slices.SortFunc(found, func(a, b string) int { return versionOf(a) - versionOf(b) })
	return found[len(found)-1], nil
}

// versionOf is the major version in /usr/lib/postgresql/<v>/bin/pgbench.
func versionOf(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}
