package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// targetRatio is issue 20's bound: the check's p50 at most this many
// times the bare join's.
const targetRatio = 1.5

// Report is a run's outcome, printed as text or JSON.
type Report struct {
	// Machine is where it ran.
	Machine stack.Machine `json:"machine"`
	// Clients, Subjects and Accounts are the run's configuration.
	Clients  int `json:"clients"`
	Subjects int `json:"subjects"`
	Accounts int `json:"accounts"`
	// WarmupSeconds and DurationSeconds are each phase's unrecorded warm-up
	// and measured duration; Rounds the slices they alternate in.
	WarmupSeconds   float64 `json:"warmup_seconds"`
	DurationSeconds float64 `json:"duration_seconds"`
	Rounds          int     `json:"rounds"`
	// Phases are check, then sql.
	Phases []phase.Result `json:"phases"`
	// Checks compare the figures with the target.
	Checks []phase.Check `json:"checks"`
}

// newReport compares the check's phase with the bare join's.
func newReport(cfg Config, m stack.Machine, check, join phase.Result) Report {
	ratio := 0.0
	if join.P50 > 0 {
		ratio = math.Round(100*float64(check.P50)/float64(join.P50)) / 100
	}
	return Report{Machine: m, Clients: cfg.Clients, Subjects: cfg.Subjects, Accounts: cfg.Accounts,
		WarmupSeconds: cfg.Warmup.Seconds(), DurationSeconds: cfg.Duration.Seconds(), Rounds: cfg.Rounds,
		Phases: []phase.Result{check, join},
		Checks: []phase.Check{{Name: "isolation_check_p50_vs_sql", Measured: ratio, Target: targetRatio, Pass: ratio > 0 && ratio <= targetRatio,
			Summary: fmt.Sprintf("check p50 = %.2f × the bare join's (target ≤ %.1f)", ratio, targetRatio)}},
	}
}

// Write prints r as text (a table, the checks, then the RATIO lines) or
// as indented JSON.
func (r Report) Write(w io.Writer, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "POST /v1/isolation/check (%d subjects, app token) vs the bare join it makes, on pgx\n", r.Subjects)
	fmt.Fprintf(w, "machine: %d CPUs shared by driver, server and PostgreSQL; %s %s; PostgreSQL %s\n",
		r.Machine.CPUs, r.Machine.Go, r.Machine.Platform, r.Machine.PostgreSQL)
	fmt.Fprintf(w, "%d listed accounts; %d client(s); %gs warm-up, then %gs measured per phase, alternating in %d round(s)\n\n",
		r.Accounts, r.Clients, r.WarmupSeconds, r.DurationSeconds, r.Rounds)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase   \trequests\treq/s\tp50\tp90\tp99\tmax\terrors\t")
	for _, p := range r.Phases {
		fmt.Fprintf(tw, "%-8s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t\n", p.Name, p.Requests, p.PerSecond, p.P50, p.P90, p.P99, p.Max, p.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if err := phase.WriteChecks(w, r.Checks, 58); err != nil {
		return err
	}
	return phase.WriteRatios(w, r.Checks)
}
