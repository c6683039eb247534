package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// The targets.
const (
	targetSharePercent = 30.0 // HTTP requests/s as a share of the bare SELECT's, at least
	targetP50Millis    = 1.0  // HTTP p50 in ms, under
	targetPeerRatio    = 1.0  // HTTP requests/s as a ratio of the hand-written peer's, at least (issue 20; 0.8 in issue 6)
)

// Report is a run's outcome, printed as text or JSON.
type Report struct {
	// Machine is where it ran.
	Machine stack.Machine `json:"machine"`
	// Clients is the number of concurrent clients in each phase.
	Clients int `json:"clients"`
	// WarmupSeconds and DurationSeconds are each phase's unrecorded warm-up
	// and measured duration.
	WarmupSeconds   float64 `json:"warmup_seconds"`
	DurationSeconds float64 `json:"duration_seconds"`
	// Rounds is how many alternating slices the http and peer phases ran in.
	Rounds int `json:"rounds"`
	// Phases are http, select, then peer (run between http and select).
	Phases []phase.Result `json:"phases"`
	// ServerCPUMicros and PeerCPUMicros are the CPU time (user and system)
	// the server and the peer used per request of their measured phases,
	// in µs; 0 where /proc cannot tell.
	ServerCPUMicros float64 `json:"server_cpu_us_per_request"`
	PeerCPUMicros   float64 `json:"peer_cpu_us_per_request"`
	// Checks compare the figures with the targets.
	Checks []phase.Check `json:"checks"`
}

// setCPU records the CPU time the server and the peer used over their
// measured phases web and peer, per request.
func (r *Report) setCPU(cpu [2]time.Duration, web, peer phase.Result) {
	per := func(d time.Duration, n int) float64 {
		if n == 0 {
			return 0
		}
		return math.Round(10*float64(d)/float64(time.Microsecond)/float64(n)) / 10
	}
	r.ServerCPUMicros, r.PeerCPUMicros = per(cpu[0], web.Requests), per(cpu[1], peer.Requests)
}

// newReport compares the HTTP phase web with the bare SELECT phase bare and
// with the hand-written peer's phase peer.
func newReport(cfg Config, m stack.Machine, web, bare, peer phase.Result) Report {
	share := 0.0
	if bare.PerSecond > 0 {
		share = 100 * web.PerSecond / bare.PerSecond
	}
	share = math.Round(share*10) / 10
	p50 := math.Round(web.P50.Millis()*1000) / 1000
	ratio := 0.0
	if peer.PerSecond > 0 {
		ratio = math.Round(100*web.PerSecond/peer.PerSecond) / 100
	}
	return Report{
		Machine: m, Clients: cfg.Clients,
		WarmupSeconds: cfg.Warmup.Seconds(), DurationSeconds: cfg.Duration.Seconds(), Rounds: cfg.Rounds,
		Phases: []phase.Result{web, bare, peer},
		Checks: []phase.Check{
			{Name: "http_throughput_percent_of_select", Measured: share, Target: targetSharePercent, Pass: share >= targetSharePercent,
				Summary: fmt.Sprintf("HTTP throughput = %.1f%% of bare SELECT (target ≥ %.0f%%)", share, targetSharePercent)},
			{Name: "http_p50_ms", Measured: p50, Target: targetP50Millis, Pass: p50 < targetP50Millis,
				Summary: fmt.Sprintf("HTTP p50 = %s (target < %.0f ms)", web.P50, targetP50Millis)},
			{Name: "get_account_vs_peer", Measured: ratio, Target: targetPeerRatio, Pass: ratio >= targetPeerRatio,
				Summary: fmt.Sprintf("HTTP throughput = %.2f × the peer's (target ≥ %.2f)", ratio, targetPeerRatio)},
		},
	}
}

// Write prints r as text (a table, the checks, then their RATIO lines) or
// as indented JSON.
func (r Report) Write(w io.Writer, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // keep "target < 1 ms" readable
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "GET /v1/accounts/{id} (runner token) vs bare pgx SELECT by primary key\n")
	fmt.Fprintf(w, "machine: %d CPUs shared by driver, server and PostgreSQL; %s %s; PostgreSQL %s\n",
		r.Machine.CPUs, r.Machine.Go, r.Machine.Platform, r.Machine.PostgreSQL)
	fmt.Fprintf(w, "%d clients; each phase: %gs warm-up, then %gs measured", r.Clients, r.WarmupSeconds, r.DurationSeconds)
	if r.Rounds > 1 {
		fmt.Fprintf(w, "; http and peer alternate in %d rounds", r.Rounds)
	}
	fmt.Fprint(w, "\n\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase   \trequests\treq/s\tp50\tp90\tp99\tmax\terrors\t")
	for _, p := range r.Phases {
		fmt.Fprintf(tw, "%-8s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t\n", p.Name, p.Requests, p.PerSecond, p.P50, p.P90, p.P99, p.Max, p.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if r.ServerCPUMicros > 0 && r.PeerCPUMicros > 0 {
		fmt.Fprintf(w, "CPU per request: server %.1f µs, peer %.1f µs (%.2f × the peer's)\n\n",
			r.ServerCPUMicros, r.PeerCPUMicros, r.ServerCPUMicros/r.PeerCPUMicros)
	}
	if err := phase.WriteChecks(w, r.Checks, 58); err != nil {
		return err
	}
	return phase.WriteRatios(w, r.Checks)
}
